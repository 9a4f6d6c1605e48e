// Browsing: navigation, sorting, filtering, permissions shown in the page,
// the page without JavaScript, the phone layout, and the screenshots.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  eventually, launchBrowser, noise, openPage, rowNames, rowOf, saveScreenshot, startServer, waitLive,
} from './harness.js';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

/** Runs `body(server, page)` against a fresh server; always cleans up. */
async function withPage({ tree, perms, at = '/', options } = {}, body) {
  const server = await startServer({ tree, perms });
  const page = await openPage(browser, server, options);
  try {
    await page.goto(`${server.url}${at}`);
    await body(server, page);
    assert.deepEqual(page.errors, [], 'the page logged errors');
    page.assertLocal();
  } finally {
    await page.close();
    await server.stop();
  }
}

test('navigates two folders deep and back with the breadcrumbs', async () => {
  const tree = {
    'one/two/three.txt': 'deep\n',
    'one/beside.txt': 'x',
    'top.txt': 'top',
  };
  await withPage({ tree }, async (server, page) => {
    await page.click('#files a:has(.label:text-is("one"))');
    await page.waitForURL(`${server.url}/one/`);
    assert.equal(await page.textContent('h1'), 'one');
    await page.click('#files a:has(.label:text-is("two"))');
    await page.waitForURL(`${server.url}/one/two/`);
    assert.equal(await page.textContent('h1'), 'two');
    assert.deepEqual(await rowNames(page), ['three.txt']);
    const crumbs = await page.$$eval('nav[aria-label="Breadcrumbs"] li', (li) => li.map((l) => l.textContent));
    assert.deepEqual(crumbs, ['Home', 'one', 'two']);
    assert.equal(await page.getAttribute('nav[aria-label="Breadcrumbs"] li:last-child', 'aria-current'), 'page');

    await page.click('nav[aria-label="Breadcrumbs"] a:text-is("one")');
    await page.waitForURL(`${server.url}/one/`);
    assert.deepEqual(await rowNames(page), ['two', 'beside.txt']);
    await page.click('nav[aria-label="Breadcrumbs"] a:text-is("Home")');
    await page.waitForURL(`${server.url}/`);
    assert.equal(await page.textContent('h1'), 'Home');
    assert.deepEqual(await rowNames(page), ['one', 'top.txt']);
  });
});

test('sorts by size, folders first, and remembers the order', async () => {
  const tree = {
    'b-medium.bin': noise(2_000),
    'a-large.bin': noise(50_000),
    'c-small.txt': 'tiny',
    'd-empty.txt': '',
    'zeta/': null,
    'alpha/': null,
  };
  await withPage({ tree }, async (server, page) => {
    await waitLive(page);
    assert.deepEqual(await rowNames(page), ['alpha', 'zeta', 'a-large.bin', 'b-medium.bin', 'c-small.txt', 'd-empty.txt']);
    const size = page.locator('th.size button');
    await size.click();
    assert.equal(await page.getAttribute('th.size', 'aria-sort'), 'descending');
    assert.equal(await page.getAttribute('th.name', 'aria-sort'), null);
    assert.deepEqual((await rowNames(page)).slice(2), ['a-large.bin', 'b-medium.bin', 'c-small.txt', 'd-empty.txt']);
    await size.click();
    assert.equal(await page.getAttribute('th.size', 'aria-sort'), 'ascending');
    const ascending = await rowNames(page);
    assert.deepEqual(ascending.slice(0, 2).sort(), ['alpha', 'zeta'], 'folders stay first');
    assert.deepEqual(ascending.slice(2), ['d-empty.txt', 'c-small.txt', 'b-medium.bin', 'a-large.bin']);
    const shownSizes = await page.$$eval('#files tr.file td.size', (cells) => cells.map((c) => c.textContent));
    assert.deepEqual(shownSizes, ['0 bytes', '4 bytes', '2.0 KB', '48.8 KB']);

    await page.reload();
    await waitLive(page);
    assert.equal(await page.getAttribute('th.size', 'aria-sort'), 'ascending', 'the order survives a reload');
    assert.deepEqual((await rowNames(page)).slice(2), ['d-empty.txt', 'c-small.txt', 'b-medium.bin', 'a-large.bin']);
  });
});

test('filters by name and says when nothing matches', async () => {
  const tree = { 'Report final.docx': 'r', 'report-draft.docx': 'd', 'photo.png': 'p', 'reports/': null };
  await withPage({ tree }, async (server, page) => {
    await waitLive(page);
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'filter', '/ focuses the filter');
    await page.keyboard.type('REPORT');
    assert.deepEqual(await rowNames(page), ['reports', 'Report final.docx', 'report-draft.docx']);
    await page.fill('#filter', 'nothing-like-this');
    assert.deepEqual(await rowNames(page), []);
    assert.match(await page.textContent('.no-match'), /Nothing in this folder has “nothing-like-this”/);
    await page.press('#filter', 'Escape');
    assert.equal((await rowNames(page)).length, 4);
    assert.equal(await page.isVisible('.no-match'), false);
  });
});

const READ_ONLY_PERMS = `[DEFAULT]
allow = all
[/handouts]
allow = list, download
`;

test('a folder that allows only list and download shows no upload or manage controls', async () => {
  const tree = { 'handouts/sheet.pdf': noise(3_000), 'handouts/inner/': null, 'mine.txt': 'm' };
  await withPage({ tree, perms: READ_ONLY_PERMS, at: '/handouts/' }, async (server, page) => {
    await waitLive(page);
    assert.deepEqual(await rowNames(page), ['inner', 'sheet.pdf']);
    for (const selector of ['#upload', 'input[type="file"]', '#new-folder', 'button.more', '.archive', '[role="menu"]']) {
      assert.equal(await page.locator(selector).count(), 0, `${selector} is shown`);
    }
    assert.equal(await page.isVisible('a[aria-label="Download sheet.pdf"]'), true, 'downloads stay');
    const download = await Promise.all([
      page.waitForEvent('download'),
      page.click('a[aria-label="Download sheet.pdf"]'),
    ]).then(([d]) => d);
    assert.equal(download.suggestedFilename(), 'sheet.pdf');
    assert.deepEqual(fs.readFileSync(await download.path()), fs.readFileSync(path.join(server.root, 'handouts/sheet.pdf')));

    // The same server offers everything in the root, where all is allowed.
    await page.goto(`${server.url}/`);
    await waitLive(page);
    assert.equal(await page.isVisible('#upload'), true);
    assert.equal(await page.isVisible('#new-folder'), true);
    assert.equal(await page.isVisible('.archive a[href$="format=zip"]'), true);
    await rowOf(page, 'mine.txt').locator('button.more').click();
    const items = await page.$$eval('[role="menu"] [role="menuitem"]', (els) => els.map((e) => e.textContent));
    assert.deepEqual(items, ['Info and SHA-256', 'Rename or move', 'Copy', 'Delete']);
    // The handouts folder itself may be listed and downloaded, not changed.
    await page.keyboard.press('Escape');
    assert.equal(await rowOf(page, 'handouts').locator('button.more').count(), 0);
  });
});

test('works without JavaScript: links, and the plain form uploads', async () => {
  const tree = { 'docs/guide.txt': 'guide\n' };
  await withPage({ tree, at: '/docs/', options: { javaScriptEnabled: false } }, async (server, page) => {
    assert.deepEqual(await rowNames(page), ['guide.txt']);
    assert.equal(await page.isVisible('#filter'), false, 'script-only controls stay hidden');
    assert.equal(await page.isVisible('#file-input'), true, 'the native file input is shown');
    await page.setInputFiles('#file-input', [
      { name: 'essay.txt', mimeType: 'text/plain', buffer: Buffer.from('my essay\n') },
      { name: 'figure.bin', mimeType: 'application/octet-stream', buffer: noise(70_000, 7) },
    ]);
    await Promise.all([page.waitForURL(`${server.url}/docs/`), page.click('#upload button[type="submit"]')]);
    await page.waitForSelector('#files tr[data-name="figure.bin"]');
    assert.deepEqual(await rowNames(page), ['essay.txt', 'figure.bin', 'guide.txt']);
    assert.equal(fs.readFileSync(path.join(server.root, 'docs/essay.txt'), 'utf8'), 'my essay\n');
    assert.deepEqual(fs.readFileSync(path.join(server.root, 'docs/figure.bin')), noise(70_000, 7));
    await page.click('a:has(.label:text-is(".."))');
    await page.waitForURL(`${server.url}/`);
    assert.deepEqual(await rowNames(page), ['docs']);
  });
});

test('phone width: one column, no horizontal scroll, large touch targets', async () => {
  const longName = `${'a-very-long-name-without-any-spaces-'.repeat(3)}end.txt`;
  const tree = {
    [longName]: 'x',
    'Week 12 – presentations and final project hand-in/': null,
    'photo.jpg': noise(900_000, 3),
    'notes.md': '# notes\n',
  };
  const options = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
  await withPage({ tree, options, perms: '[DEFAULT]\nallow = all\n' }, async (server, page) => {
    await waitLive(page);
    const widths = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
      body: document.body.scrollWidth,
    }));
    assert.ok(widths.scroll <= widths.client, `horizontal scroll: ${JSON.stringify(widths)}`);
    assert.ok(widths.body <= widths.client, `body overflows: ${JSON.stringify(widths)}`);
    // One column: every row's name starts at the same x and rows stack.
    const boxes = await page.$$eval('#files tbody tr.entry', (rows) => rows.map((r) => r.getBoundingClientRect().toJSON()));
    for (let i = 1; i < boxes.length; i += 1) assert.ok(boxes[i].top >= boxes[i - 1].bottom - 1, 'rows stack');
    for (const box of boxes) assert.ok(box.right <= 390 && box.left >= 0, `row outside the screen: ${JSON.stringify(box)}`);
    const small = await page.$$eval('#files button, #files td.actions a, .dropzone .btn, .toolbar .btn, #filter', (els) =>
      els.filter((e) => e.offsetParent !== null)
        .map((e) => [e.getAttribute('aria-label') || e.textContent.trim(), e.getBoundingClientRect().height])
        .filter(([, h]) => h < 40));
    assert.deepEqual(small, [], 'touch targets under 40px');
    await saveScreenshot(page, 'phone.png', { fullPage: true });
  });
});

const SHOWCASE = {
  'Exercises/week-1/intro.md': '# Week 1\n',
  'Hand-ins/': null,
  'Slides/': null,
  'Course syllabus 2026.pdf': noise(182_000, 1),
  'week-3-notes.md': 'notes\n'.repeat(300),
  'class-photo.jpg': noise(2_400_000, 2),
  'grades-template.xlsx': noise(23_000, 3),
  'starter-project.zip': noise(1_300_000, 4),
  'main.rs': 'fn main() {\n    println!("hello");\n}\n',
  'lecture-3.mp4': noise(3_000_000, 5),
};
const SHOWCASE_PERMS = `[DEFAULT]
allow = all
[/Slides]
allow = list, download
`;

test('desktop screenshots, light with uploads running and dark with a menu open', async () => {
  await withPage({ tree: SHOWCASE, perms: SHOWCASE_PERMS }, async (server, page) => {
    await waitLive(page);
    // Slow the uploads down so that the panel shows them under way.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 600 * 1024,
    });
    await page.setInputFiles('#file-input', [
      { name: 'essay-anna.docx', mimeType: 'application/octet-stream', buffer: noise(40_000, 11) },
      { name: 'project-ben.zip', mimeType: 'application/zip', buffer: noise(4_000_000, 12) },
      { name: 'drawing-chloe.png', mimeType: 'image/png', buffer: noise(2_500_000, 13) },
      { name: 'report-dan.pdf', mimeType: 'application/pdf', buffer: noise(900_000, 14) },
    ]);
    await page.waitForSelector('.upload-item.done');
    await eventually(() => page.$$eval('.upload-item.uploading .upload-status',
      (all) => all.length === 3 && all.every((s) => / left$/.test(s.textContent))), 'three uploads with a time left');
    await saveScreenshot(page, 'desktop-light.png');
    for (const button of await page.$$('.upload-item:not(.done) button[aria-label^="Cancel"]')) await button.click();
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  });
  const dark = { colorScheme: 'dark' };
  await withPage({ tree: SHOWCASE, perms: SHOWCASE_PERMS, options: dark }, async (server, page) => {
    await waitLive(page);
    assert.equal(await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches), true);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(background, 'rgb(245, 246, 248)', 'the dark theme applies');
    await rowOf(page, 'grades-template.xlsx').locator('button.more').click();
    await page.waitForSelector('[role="menu"]');
    await saveScreenshot(page, 'desktop-dark.png');
  });
});
