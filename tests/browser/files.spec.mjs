// Browser test of shared files in Sala's web client (issue 15), run by
// tests/browser_files.rs (cargo test):
//
//   node files.spec.mjs <page-url>
//
// Two Chromium users, ana (desktop) and bob (a phone, 375x667), in one room:
// ana attaches a file and bob downloads exactly the same bytes (SHA-256);
// ana attaches an image and bob sees it as a thumbnail; bob records a voice
// note with Chromium's fake microphone and ana plays it; a file dropped on
// the conversation and one pasted into the message box arrive; a whisper
// carries a file; a name with markup is shown as text; a user who joins
// later sees the files in the room's history; a slow upload shows its
// progress and Cancel stops it; recording says why it cannot on a page
// that is not secure or with the microphone refused; axe-core finds no
// WCAG A/AA violation with the cards on screen. Every wait is for something
// visible, with a timeout; the voice note is recorded for a second (a
// recording takes the time it takes). Exit status 0 means every step passed.

import { chromium } from 'playwright-core';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node files.spec.mjs <page-url>');
  process.exit(2);
}
const WAIT = 15_000;
const sha = (b) => createHash('sha256').update(b).digest('hex');
const step = (text) => console.error(`browser files test: ${text}`);

// A 2x2 red PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg==',
  'base64'
);

async function login(page, nick) {
  await page.goto(url);
  await page.getByLabel('Nickname', { exact: true }).fill(nick);
  await page.getByRole('button', { name: 'Enter' }).click();
  await page.locator('#app').waitFor({ state: 'visible', timeout: WAIT });
}

async function join(page, room) {
  await page.locator('#composer-text').waitFor({ state: 'attached', timeout: WAIT });
  // On a phone the room list slides over; the Rooms button opens it.
  if (await page.locator('#menu').isVisible()) await page.locator('#menu').click();
  if (!(await page.locator('#join-details').evaluate((d) => d.open))) await page.locator('#join-details summary').click();
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.locator(`.pane[data-key="#${room}"]`).waitFor({ state: 'visible', timeout: WAIT });
}

const card = (page, key, name) =>
  page.locator(`.pane[data-key="${key}"] .file-card`, { has: page.locator('.file-name', { hasText: name }) }).last();

async function accessible(page, what) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
    });
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
  });
  if (violations.length) throw new Error(`${what}: axe-core found WCAG A/AA violations:\n  ${violations.join('\n  ')}`);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    // A microphone that plays a beep, granted without asking.
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
  ],
});
const problems = [];
let status = 1;
try {
  const desk = await browser.newContext({ viewport: { width: 1100, height: 700 }, acceptDownloads: true });
  const phone = await browser.newContext({ viewport: { width: 375, height: 667 }, acceptDownloads: true });
  await phone.grantPermissions(['microphone']);
  const ana = await desk.newPage();
  const bob = await phone.newPage();
  for (const [name, page] of [['ana', ana], ['bob', bob]]) {
    page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  }
  await login(ana, 'ana');
  await login(bob, 'bob');
  await join(ana, 'share');
  await join(bob, 'share');

  step('a file attached by ana is downloaded by bob, byte for byte');
  const data = randomBytes(300_000);
  await ana.locator('#attach-input').setInputFiles({ name: 'data.bin', mimeType: 'application/octet-stream', buffer: data });
  const dataCard = card(bob, '#share', 'data.bin');
  await dataCard.waitFor({ timeout: WAIT });
  const [download] = await Promise.all([bob.waitForEvent('download', { timeout: WAIT }), dataCard.locator('a.file-link').click()]);
  const got = readFileSync(await download.path());
  if (sha(got) !== sha(data)) throw new Error(`bob downloaded ${got.length} bytes, not the ${data.length} sent`);
  await card(ana, '#share', 'data.bin').waitFor({ timeout: WAIT });

  step('an image shows as a thumbnail');
  await ana.locator('#attach-input').setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: PNG });
  const thumb = card(bob, '#share', 'red.png').locator('img.thumb');
  await thumb.waitFor({ timeout: WAIT });
  await bob.waitForFunction((img) => img.complete && img.naturalWidth === 2, await thumb.elementHandle(), { timeout: WAIT });

  step('a voice note recorded by bob plays for ana');
  await bob.locator('#record').click();
  await bob.locator('#record[aria-pressed="true"]').waitFor({ timeout: WAIT });
  await bob.waitForTimeout(1200); // the length of the recording
  await bob.locator('#record').click();
  const audio = card(ana, '#share', 'voice-note-').locator('audio');
  await audio.waitFor({ timeout: WAIT });
  const played = await audio.evaluate(async (a) => {
    a.muted = true;
    await a.play();
    const start = performance.now();
    while (a.currentTime === 0 && performance.now() - start < 10_000) await new Promise((r) => setTimeout(r, 50));
    a.pause();
    return a.currentTime;
  });
  if (!(played > 0)) throw new Error(`the voice note did not play (currentTime ${played})`);

  step('a dropped file and a pasted one arrive; a whisper carries a file');
  await ana.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['dropped\n'], 'dropped.txt', { type: 'text/plain' }));
    document.getElementById('panes').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await card(bob, '#share', 'dropped.txt').waitFor({ timeout: WAIT });
  await ana.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['pasted\n'], 'notes.txt', { type: 'text/plain' }));
    document.getElementById('composer-text').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  });
  await card(bob, '#share', 'notes.txt').waitFor({ timeout: WAIT });
  await ana.locator('.pane[data-key="#share"] .who', { hasText: 'bob' }).first().click();
  await ana.locator('.pane[data-key="@bob"]').waitFor({ state: 'visible', timeout: WAIT });
  await ana.locator('#attach-input').setInputFiles({ name: '<img src=x onerror=alert(1)>.txt', mimeType: 'text/plain', buffer: Buffer.from('psst\n') });
  // bob's phone shows the whisper's pane once he opens it from the list.
  await bob.locator('#menu').click();
  await bob.locator('#mine button', { hasText: '@ana' }).click();
  const whispered = card(bob, '@ana', '<img src=x onerror=alert(1)>.txt');
  await whispered.waitFor({ timeout: WAIT });
  if ((await whispered.locator('img').count()) !== 0) throw new Error('a name with markup was taken as markup');

  step('a slow upload shows its progress, and Cancel stops it: nobody sees the file');
  const cdp = await desk.newCDPSession(ana);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 256 * 1024 });
  await ana.locator('.pane[data-key="@bob"]').waitFor({ state: 'visible', timeout: WAIT });
  await ana.locator('#mine button', { hasText: '#share' }).click();
  await ana.locator('#attach-input').setInputFiles({ name: 'slow.bin', mimeType: 'application/octet-stream', buffer: randomBytes(8 << 20) });
  const row = ana.locator('#uploads .upload', { hasText: 'slow.bin' });
  await ana.waitForFunction(() => {
    const bar = document.querySelector('#uploads progress');
    return bar && bar.value > 0 && bar.value < 100;
  }, null, { timeout: WAIT });
  await row.getByRole('button', { name: 'Cancel' }).click();
  await row.waitFor({ state: 'detached', timeout: WAIT });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  // What ana sends next arrives; the cancelled file never did.
  await ana.locator('#attach-input').setInputFiles({ name: 'after.txt', mimeType: 'text/plain', buffer: Buffer.from('after\n') });
  // (bob's phone shows his whisper with ana: the room's pane is there, hidden.)
  await card(bob, '#share', 'after.txt').waitFor({ state: 'attached', timeout: WAIT });
  if ((await card(bob, '#share', 'slow.bin').count()) !== 0) throw new Error('a cancelled upload was posted');

  step('a user who joins later sees the files in the history, like live messages');
  const cy = await desk.newPage();
  await login(cy, 'cy');
  await join(cy, 'share');
  await card(cy, '#share', 'data.bin').waitFor({ timeout: WAIT });
  await card(cy, '#share', 'red.png').locator('img.thumb').waitFor({ timeout: WAIT });
  await card(cy, '#share', 'voice-note-').locator('audio').waitFor({ timeout: WAIT });

  step('recording on a page that is not secure, or with the microphone refused, says why');
  const plain = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  await plain.addInitScript(() => Object.defineProperty(window, 'isSecureContext', { get: () => false }));
  const dan = await plain.newPage();
  await login(dan, 'dan');
  await join(dan, 'share');
  await dan.locator('#record').click();
  await dan.locator('#alert-text', { hasText: 'Voice notes need a secure page' }).waitFor({ timeout: WAIT });
  const deaf = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  await deaf.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('refused', 'NotAllowedError'));
  });
  const eve = await deaf.newPage();
  await login(eve, 'eve');
  await join(eve, 'share');
  await eve.locator('#record').click();
  await eve.locator('#alert-text', { hasText: 'The microphone was not available (NotAllowedError)' }).waitFor({ timeout: WAIT });

  step('axe-core on both pages, cards on screen');
  await accessible(ana, 'ana (desktop) with files');
  await accessible(bob, 'bob (phone) with files');
  if (problems.length) throw new Error(problems.join('\n'));
  step('passed');
  status = 0;
} catch (e) {
  console.error(`browser files test failed: ${e.stack || e}`);
} finally {
  await browser.close();
}
process.exit(status);
