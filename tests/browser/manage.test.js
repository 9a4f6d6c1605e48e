// Changing the folder from the page: uploads (files, folders, drops,
// cancel, refusals) and the file-manager commands, each checked on disk.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  eventually, launchBrowser, noise, openPage, rowNames, rowOf, sha256, startServer, waitLive, writeTree,
} from './harness.js';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

const ALLOW_ALL = '[DEFAULT]\nallow = all\n';

/** Runs `body(server, page)` on a fresh server and a page at `at`, once live. */
async function withPage({ tree, perms = ALLOW_ALL, at = '/' } = {}, body) {
  const server = await startServer({ tree, perms });
  const page = await openPage(browser, server);
  try {
    await page.goto(`${server.url}${at}`);
    await waitLive(page);
    await body(server, page);
    assert.deepEqual(page.errors, [], 'the page logged errors');
    page.assertLocal();
  } finally {
    await page.close();
    await server.stop();
  }
}

/** Limits the page's upload speed (bytes per second; -1 lifts it). */
async function throttle(page, bytesPerSecond) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond,
  });
}

/** Records every value each progress bar shows, by its label. */
async function recordProgress(page) {
  await page.evaluate(() => {
    window.progressSeen = {};
    new MutationObserver((records) => {
      for (const { target } of records) {
        const label = target.getAttribute('aria-label');
        (window.progressSeen[label] ||= []).push(Number(target.getAttribute('aria-valuenow')));
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['aria-valuenow'] });
  });
}

const item = (page, name) => page.locator('.upload-item', { has: page.locator(`.upload-name:text-is("${name}")`) });

/** Opens the row menu of `name` and picks `label`. */
async function menu(page, name, label) {
  await rowOf(page, name).locator('button.more').click();
  await page.locator('[role="menu"] [role="menuitem"]', { hasText: label }).click();
  await page.waitForSelector('dialog[open]');
}

test('uploads three files with progress bars that reach 100%, byte-exact on disk', async () => {
  const files = [
    { name: 'big.bin', mimeType: 'application/octet-stream', buffer: noise(1_500_000, 21) },
    { name: 'middle name.pdf', mimeType: 'application/pdf', buffer: noise(300_000, 22) },
    { name: 'small.txt', mimeType: 'text/plain', buffer: Buffer.from('a small text\n') },
  ];
  await withPage({ tree: { 'existing.txt': 'old' } }, async (server, page) => {
    await recordProgress(page);
    await throttle(page, 2 * 1024 * 1024);
    await page.setInputFiles('#file-input', files);
    for (const file of files) {
      const done = item(page, file.name);
      await done.locator('.upload-status:text-matches("^Done")').waitFor();
      assert.equal(await done.locator('[role="progressbar"]').getAttribute('aria-valuenow'), '100', file.name);
    }
    const seen = await page.evaluate(() => window.progressSeen);
    for (const file of files) {
      const values = seen[`Upload of ${file.name}`] || [];
      assert.equal(values.at(-1), 100, `${file.name} ends at 100%: ${values}`);
      assert.deepEqual(values, [...values].sort((a, b) => a - b), `${file.name} only goes forward: ${values}`);
    }
    const big = seen['Upload of big.bin'];
    assert.ok(big.some((v) => v > 0 && v < 100), `the big file showed progress on the way: ${big}`);
    await eventually(async () => (await rowNames(page)).length === 4, 'the refreshed listing');
    assert.deepEqual(await rowNames(page), ['big.bin', 'existing.txt', 'middle name.pdf', 'small.txt']);
    assert.equal(await page.textContent('.uploads-summary'), '3 done');
    for (const file of files) {
      assert.deepEqual(fs.readFileSync(path.join(server.root, file.name)), file.buffer, `${file.name} on disk`);
    }
  });
});

test('shows speed and time left, cancels an upload, and retries it', async () => {
  const buffer = noise(3_000_000, 31);
  await withPage({ tree: { 'keep.txt': 'k' } }, async (server, page) => {
    await throttle(page, 300 * 1024);
    await page.setInputFiles('#file-input', [{ name: 'video.mp4', mimeType: 'video/mp4', buffer }]);
    const upload = item(page, 'video.mp4');
    await upload.locator('.upload-status:text-matches("KB/s · \\\\d+ s left")').waitFor();
    await upload.locator('button[aria-label="Cancel the upload of video.mp4"]').click();
    await upload.locator('.upload-status:text-is("Cancelled")').waitFor();
    assert.equal(await upload.locator('button[aria-label^="Retry"]').isVisible(), true);
    // Nothing is left behind, not even a temporary file.
    await eventually(() => fs.readdirSync(server.root).join() === 'keep.txt', 'the folder to hold only keep.txt');

    await throttle(page, -1);
    await upload.locator('button[aria-label^="Retry"]').click();
    await upload.locator('.upload-status:text-matches("^Done")').waitFor();
    assert.deepEqual(fs.readFileSync(path.join(server.root, 'video.mp4')), buffer);
    await rowOf(page, 'video.mp4').waitFor();
  });
});

test('uploads a folder with its sub-folders, leaving hidden files out', async () => {
  const local = fs.mkdtempSync(path.join(os.tmpdir(), 'httpuploader-pick-'));
  const project = path.join(local, 'project');
  const content = {
    'README.md': '# project\n',
    'src/main.rs': 'fn main() {}\n',
    'src/util/helpers.rs': 'pub fn help() {}\n',
    'data/sample.bin': noise(120_000, 41),
    '.git/config': '[core]\n',
  };
  writeTree(project, content);
  try {
    await withPage({ tree: { 'project/README.md': 'old readme\n' }, at: '/' }, async (server, page) => {
      await page.setInputFiles('#folder-input', project);
      for (const name of ['README.md', 'main.rs', 'helpers.rs', 'sample.bin']) {
        await item(page, name).locator('.upload-status:text-matches("^Done")').waitFor();
      }
      assert.match(await page.textContent('.upload-name:has-text("helpers.rs") .in'), /in project\/src\/util/);
      assert.match(await page.textContent('#notices'), /1 hidden item was left out/);
      for (const [name, bytes] of Object.entries(content)) {
        const onDisk = path.join(server.root, 'project', name);
        if (name.startsWith('.')) assert.equal(fs.existsSync(onDisk), false, `${name} was uploaded`);
        else assert.deepEqual(fs.readFileSync(onDisk), Buffer.from(bytes), name);
      }
      await page.click('#files a:has(.label:text-is("project"))');
      await page.waitForURL(`${server.url}/project/`);
      assert.deepEqual(await rowNames(page), ['data', 'src', 'README.md']);
    });
  } finally {
    fs.rmSync(local, { recursive: true, force: true });
  }
});

test('uploads files dropped on the page', async () => {
  await withPage({ tree: { 'inbox/': null }, at: '/inbox/' }, async (server, page) => {
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(['dropped one\n'], 'dropped-1.txt', { type: 'text/plain' }));
      data.items.add(new File([new Uint8Array(5000).fill(7)], 'dropped-2.bin'));
      document.body.dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true }));
      window.overlayShown = !document.querySelector('.drop-overlay').hidden;
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    assert.equal(await page.evaluate(() => window.overlayShown), true, 'dragging shows where the files go');
    assert.equal(await page.isVisible('.drop-overlay'), false);
    await item(page, 'dropped-2.bin').locator('.upload-status:text-matches("^Done")').waitFor();
    await rowOf(page, 'dropped-2.bin').waitFor();
    assert.equal(fs.readFileSync(path.join(server.root, 'inbox/dropped-1.txt'), 'utf8'), 'dropped one\n');
    assert.deepEqual(fs.readFileSync(path.join(server.root, 'inbox/dropped-2.bin')), Buffer.alloc(5000, 7));
  });
});

test('an upload the server refuses shows its message and can be retried', async () => {
  const perms = `${ALLOW_ALL}[/inbox/locked.txt]\nallow = list, download\n`;
  await withPage({ tree: { 'inbox/': null }, perms, at: '/inbox/' }, async (server, page) => {
    await page.setInputFiles('#file-input', [
      { name: 'locked.txt', mimeType: 'text/plain', buffer: Buffer.from('no') },
      { name: 'fine.txt', mimeType: 'text/plain', buffer: Buffer.from('yes') },
    ]);
    await item(page, 'fine.txt').locator('.upload-status:text-matches("^Done")').waitFor();
    const refused = item(page, 'locked.txt');
    await refused.locator('.upload-status:text-is("Failed")').waitFor();
    const message = refused.locator('.upload-error');
    assert.equal(await message.textContent(), 'upload is not allowed on /inbox/locked.txt.');
    assert.deepEqual(await message.locator('code').allTextContents(), ['upload', '/inbox/locked.txt']);
    await refused.locator('button[aria-label="Retry the upload of locked.txt"]').click();
    await refused.locator('.upload-status:text-is("Failed")').waitFor();
    assert.equal(await page.textContent('.uploads-summary'), '1 done · 1 failed');
    const text = await page.textContent('body');
    assert.ok(!/[{}]|"rc"|api_version/.test(text), 'raw JSON shown in the page');
    assert.equal(fs.existsSync(path.join(server.root, 'inbox/locked.txt')), false);
    assert.equal(fs.readFileSync(path.join(server.root, 'inbox/fine.txt'), 'utf8'), 'yes');
  });
});

test('creates a folder, and says so in words when it exists', async () => {
  await withPage({ tree: { 'a.txt': 'a' } }, async (server, page) => {
    await page.click('#new-folder');
    await page.fill('dialog[open] input', 'Week 5');
    await page.press('dialog[open] input', 'Enter');
    await rowOf(page, 'Week 5').waitFor();
    assert.equal(fs.statSync(path.join(server.root, 'Week 5')).isDirectory(), true);
    assert.equal(await page.evaluate(() => document.activeElement.closest('tr')?.dataset.name), 'Week 5');

    await page.click('#new-folder');
    await page.fill('dialog[open] input', 'Week 5');
    await page.click('dialog[open] button[type="submit"]');
    const error = page.locator('dialog[open] .dialog-error');
    await error.waitFor();
    assert.equal(await error.textContent(), '/Week 5 already exists.');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog', { state: 'detached' });
  });
});

test('renames a file and moves it into a folder', async () => {
  await withPage({ tree: { 'draft.txt': 'the text\n', 'archive/': null } }, async (server, page) => {
    await menu(page, 'draft.txt', 'Rename or move');
    const input = page.locator('dialog[open] input');
    assert.equal(await input.inputValue(), 'draft.txt');
    assert.equal(await input.evaluate((i) => i.value.slice(i.selectionStart, i.selectionEnd)), 'draft', 'the name without its extension is selected');
    await page.keyboard.type('final');
    await page.keyboard.press('Enter');
    await rowOf(page, 'final.txt').waitFor();
    assert.deepEqual(await rowNames(page), ['archive', 'final.txt']);
    assert.equal(fs.readFileSync(path.join(server.root, 'final.txt'), 'utf8'), 'the text\n');
    assert.equal(fs.existsSync(path.join(server.root, 'draft.txt')), false);

    await menu(page, 'final.txt', 'Rename or move');
    await page.fill('dialog[open] input', '/nowhere/final.txt');
    await page.keyboard.press('Enter');
    const error = page.locator('dialog[open] .dialog-error');
    await error.waitFor();
    assert.equal(await error.textContent(), 'The directory /nowhere does not exist.');
    await page.fill('dialog[open] input', '/archive/');
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog', { state: 'detached' });
    await eventually(async () => (await rowNames(page)).join() === 'archive', 'the moved file to leave the listing');
    assert.equal(fs.readFileSync(path.join(server.root, 'archive/final.txt'), 'utf8'), 'the text\n');
    assert.match(await page.textContent('#notices'), /Moved final\.txt to \/archive\//);
  });
});

test('deletes a file only after confirming, naming it', async () => {
  await withPage({ tree: { 'old.txt': 'old', 'keep.txt': 'keep' } }, async (server, page) => {
    await menu(page, 'old.txt', 'Delete');
    assert.equal(await page.textContent('dialog[open] h2'), 'Delete “old.txt”?');
    assert.match(await page.textContent('dialog[open] p'), /The file old\.txt will be deleted.*cannot be undone/);
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel', 'Cancel has the focus');
    await page.click('dialog[open] button:text-is("Cancel")');
    await page.waitForSelector('dialog', { state: 'detached' });
    assert.equal(fs.existsSync(path.join(server.root, 'old.txt')), true, 'cancel deleted it');

    await menu(page, 'old.txt', 'Delete');
    await page.click('dialog[open] button:text-is("Delete")');
    await page.waitForSelector('dialog', { state: 'detached' });
    await eventually(async () => (await rowNames(page)).join() === 'keep.txt', 'the row to go');
    assert.equal(fs.existsSync(path.join(server.root, 'old.txt')), false);
    assert.equal(fs.existsSync(path.join(server.root, 'keep.txt')), true);
  });
});

test('copies a file and shows its info with the SHA-256', async () => {
  const bytes = noise(64_000, 51);
  await withPage({ tree: { 'notes.md': bytes } }, async (server, page) => {
    await menu(page, 'notes.md', 'Copy');
    assert.equal(await page.inputValue('dialog[open] input'), 'notes (copy).md');
    await page.keyboard.press('Enter');
    await rowOf(page, 'notes (copy).md').waitFor();
    assert.deepEqual(fs.readFileSync(path.join(server.root, 'notes (copy).md')), bytes);

    await menu(page, 'notes.md', 'Info and SHA-256');
    const hash = page.locator('dialog[open] dd.hash');
    await hash.waitFor();
    assert.equal(await hash.textContent(), sha256(bytes));
    assert.match(await page.textContent('dialog[open] dl'), /Size62\.5 KB \(64,000 bytes\)Folder\//);
    await page.click('dialog[open] button:text-is("Close")');
    await page.waitForSelector('dialog', { state: 'detached' });
  });
});

test('the menu and dialogs work from the keyboard', async () => {
  await withPage({ tree: { 'only.txt': 'x' } }, async (server, page) => {
    const more = rowOf(page, 'only.txt').locator('button.more');
    await more.focus();
    await page.keyboard.press('Enter');
    assert.equal(await more.getAttribute('aria-expanded'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Info and SHA-256');
    await page.keyboard.press('End');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Delete');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Info and SHA-256', 'wraps around');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog[open]');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog', { state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'More actions for only.txt');
    assert.equal(fs.existsSync(path.join(server.root, 'only.txt')), true);

    // The file picker is reachable with Tab, and its button shows the focus.
    await page.focus('#filter');
    for (let i = 0; i < 5 && await page.evaluate(() => document.activeElement.id) !== 'file-input'; i += 1) {
      await page.keyboard.press('Tab');
    }
    assert.equal(await page.evaluate(() => document.activeElement.id), 'file-input');
    const ring = await page.$eval('label[for="file-input"]', (label) => getComputedStyle(label).outlineStyle);
    assert.equal(ring, 'solid', 'the focused picker is outlined');
  });
});
