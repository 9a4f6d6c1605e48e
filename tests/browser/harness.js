// Shared fixtures of the browser tests: a real `httpuploader` on a free
// loopback port over its own temporary folder, and Debian's Chromium driven
// by playwright-core with background networking off and every host name
// unresolvable, so the page can reach nothing but that server.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const workspace = path.resolve(here, '..', '..');
export const binary = process.env.HTTPUPLOADER_BIN || path.join(workspace, 'target', 'release', 'httpuploader');
export const screenshots = path.join(workspace, 'docs', 'screenshots');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

/** How long one wait may last before a test fails. */
export const WAIT_MS = 10_000;

/** Flags that keep Chromium quiet and local (see .library's rust.md). */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--no-pings',
  // Every host but 127.0.0.1 fails to resolve.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

export const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Writes `tree` under `root`: { 'a/b.txt': 'text' | Buffer, 'empty/': null }. */
export function writeTree(root, tree) {
  for (const [name, content] of Object.entries(tree)) {
    const target = path.join(root, name);
    if (name.endsWith('/')) {
      fs.mkdirSync(target, { recursive: true });
    } else {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
    }
  }
}

/** Bytes that are not all alike, so a byte-exact check means something. */
export function noise(size, seed = 1) {
  const bytes = Buffer.alloc(size);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < size; i += 1) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/**
 * Starts the server over a fresh temporary folder filled with `tree`;
 * `perms` is the text of a permissions file. Resolves once it printed its
 * address. `stop()` ends it by its PID and removes the folder.
 */
export async function startServer({ tree = {}, perms } = {}) {
  if (!fs.existsSync(binary)) {
    throw new Error(`${binary} is missing: build it with cargo build --release -p httpuploader`);
  }
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'httpuploader-browser-'));
  const root = path.join(base, 'share');
  fs.mkdirSync(root);
  writeTree(root, tree);
  const args = ['-b', '127.0.0.1', '-p', '0', '-d', root];
  if (perms !== undefined) {
    const file = path.join(base, 'perms.ini');
    fs.writeFileSync(file, perms);
    args.push('-c', file);
  }
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  const keep = (chunk) => {
    log.push(...chunk.toString().split('\n').filter(Boolean));
    if (log.length > 200) log.splice(0, log.length - 200);
  };
  child.stderr.on('data', keep);
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no address printed in 20 s:\n${log.join('\n')}`)), 20_000);
    child.stdout.on('data', (chunk) => {
      keep(chunk);
      const found = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(log.join('\n'));
      if (found) {
        clearTimeout(timer);
        resolve(found[0]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`httpuploader exited with ${code}:\n${log.join('\n')}`));
    });
  });
  const port = Number(new URL(url).port);
  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null) process.kill(child.pid, 'SIGKILL');
      }, 3000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(base, { recursive: true, force: true });
  }
  return { url: url.replace(/\/$/, ''), port, root, base, log, stop, pid: child.pid };
}

export async function launchBrowser() {
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: install Debian's chromium (tests/browser/run.sh does)`);
  }
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_FLAGS });
}

/**
 * A page in a fresh context. Every request the page makes is recorded in
 * `page.requests`; `assertLocal()` checks they all went to `server`.
 */
export async function openPage(browser, server, options = {}) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 860 },
    locale: 'en-GB',
    timezoneId: 'UTC',
    acceptDownloads: true,
    ...options,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.requests = [];
  page.errors = [];
  page.on('request', (request) => page.requests.push(request.url()));
  page.on('pageerror', (error) => page.errors.push(String(error)));
  page.on('console', (message) => {
    // A refused request is logged by Chromium itself; the tests check
    // what the page shows for it instead.
    const refused = message.text().startsWith('Failed to load resource: the server responded');
    if (message.type() === 'error' && !refused) page.errors.push(message.text());
  });
  page.assertLocal = () => {
    const foreign = page.requests.filter((u) => !u.startsWith(`${server.url}/`) && !/^(data|blob):/.test(u));
    if (foreign.length) throw new Error(`the page reached other hosts: ${foreign.join(', ')}`);
  };
  page.close = ((close) => async () => {
    await close.call(page);
    await context.close();
  })(page.close);
  return page;
}

/** Waits until the listing has been refreshed from the API at least once. */
export async function waitLive(page) {
  await page.waitForSelector('#files[data-source="api"]', { state: 'attached' });
}

/** The visible entry names of the listing, in order. */
export async function rowNames(page) {
  return page.$$eval('#files tbody tr.entry:not([hidden])', (rows) => rows.map((r) => r.dataset.name));
}

/** A locator for the row of `name`. */
export const rowOf = (page, name) => page.locator(`#files tbody tr.entry[data-name="${name.replace(/"/g, '\\"')}"]`);

/** Polls `check` (async, returns truthy) until it holds or WAIT_MS passes. */
export async function eventually(check, what) {
  const deadline = Date.now() + WAIT_MS;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

export function saveScreenshot(page, name, options = {}) {
  fs.mkdirSync(screenshots, { recursive: true });
  return page.screenshot({ path: path.join(screenshots, name), animations: 'disabled', ...options });
}
