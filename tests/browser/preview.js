// Dev aid (not a test): serves the page with assets read from disk, so CSS and
// JS changes show without a rebuild. Usage: node preview.mjs OUTDIR
import fs from 'node:fs';
import path from 'node:path';
import { startServer, launchBrowser, openPage, workspace, noise } from './harness.js';

const out = process.argv[2] || '/tmp/preview';
const tree = {
  'Exercises/week-1/intro.md': '# Intro\n',
  'Exercises/week-2/': null,
  'Hand-ins/': null,
  'Slides/': null,
  'Course syllabus 2026.pdf': noise(182_000, 1),
  'week-1-notes.md': 'notes\n'.repeat(300),
  'class-photo.jpg': noise(2_400_000, 2),
  'grades-template.xlsx': noise(23_000, 3),
  'starter-project.zip': noise(5_300_000, 4),
  'main.rs': 'fn main() {}\n',
  'lecture-3.mp4': noise(12_000_000, 5),
  'a-really-long-file-name-that-students-sometimes-use-when-they-export-from-a-tool.txt': 'x',
};
const perms = '[DEFAULT]\nallow = all\n[/Slides]\nallow = list, download\n';
const server = await startServer({ tree, perms });
const browser = await launchBrowser();
const assets = path.join(workspace, 'component', 'assets');
async function shot(name, options, action) {
  const page = await openPage(browser, server, options);
  await page.route('**/api/assets/**', (route) => {
    const file = path.join(assets, new URL(route.request().url()).pathname.split('/').pop());
    const type = { css: 'text/css', js: 'text/javascript', svg: 'image/svg+xml' }[file.split('.').pop()];
    route.fulfill({ body: fs.readFileSync(file), contentType: type });
  });
  await page.goto(`${server.url}${options.at || '/'}`);
  if (options.javaScriptEnabled !== false && !options.error) await page.waitForSelector('#files[data-source="api"]', { state: 'attached' });
  if (action) await action(page);
  await page.screenshot({ path: path.join(out, name), fullPage: options.fullPage ?? false });
  console.log(name, page.errors);
  await page.close();
}
try {
  await shot('light.png', {});
  await shot('dark.png', { colorScheme: 'dark' }, async (page) => {
    await page.click('tr[data-name="class-photo.jpg"] button.more');
  });
  await shot('phone.png', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, fullPage: true });
  await shot('sub.png', { at: '/Exercises/week-1/' });
  await shot('readonly.png', { at: '/Slides/', colorScheme: 'dark' });
  await shot('error.png', { at: '/no/such/place.txt', error: true });
  await shot('nojs.png', { javaScriptEnabled: false, at: '/Exercises/' });
} finally {
  await browser.close();
  await server.stop();
}
