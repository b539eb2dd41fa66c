// Browser test of room moderation in Sala's web client (issue 13), run by
// tests/browser.rs (cargo test --test browser):
//
//   node moderation.spec.mjs <page-url> <tcp-host:port>
//
// Three Chromium users and a CHAT/1 TCP client: ana (desktop) creates the room
// "class" and owns it; bob (a phone, 375x667) and carl (desktop) are pupils;
// olga (TCP) fills the history with 60 lines. Ana sets a topic (bob sees it),
// makes bob an operator through the member menu and takes it back, turns
// "moderated" on in the settings dialog (bob is refused, with the reason),
// gives bob a voice (he writes), mutes and unmutes him, turns slow mode on
// (bob sees "you can write again in N s", counting down), makes the room
// invite-only (carl is refused, then invited: he sees the invitation and
// joins with its button), bans carl (he is removed and cannot come back),
// then exempts him from the ban and lets him past invite-only (he comes
// back by himself), and saves the transcript: a text file of the whole history, paged back.
// axe-core (WCAG 2.1 A and AA) runs on the room with its menu and its
// dialog open, desktop and phone. Every wait is for something visible, with
// a timeout; nothing sleeps for a fixed time. Exit status 0: every step passed.

import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { LineClient } from './line-client.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const [url, tcpAddr] = process.argv.slice(2);
if (!url || !tcpAddr) {
  console.error('usage: node moderation.spec.mjs <page-url> <tcp-host:port>');
  process.exit(2);
}
const WAIT = 15_000; // ms any one visible state may take to appear

// ---- a CHAT/1 TCP client: ./line-client.mjs ------------------------------------

// ---- helpers on the page -------------------------------------------------------
function step(text) {
  console.error(`browser test (moderation): ${text}`);
}

async function login(page, nick) {
  await page.goto(url);
  await page.getByLabel('Nickname', { exact: true }).fill(nick);
  await page.getByRole('button', { name: 'Enter' }).click();
  await page.locator('#me', { hasText: `You are ${nick}` }).waitFor({ timeout: WAIT });
}

const pane = (page, key) => page.locator(`.pane[data-key="${key}"]`);
const member = (page, nick) => pane(page, '#class').locator(`.member[data-nick="${nick}"]`);

async function joinByForm(page, room) {
  if (!(await page.locator('#join-details').evaluate((d) => d.open))) await page.locator('#join-details summary').click();
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
}

async function say(page, text) {
  await page.locator('#composer-text').fill(text);
  await page.locator('#composer-text').press('Enter');
}

async function seesMessage(page, nick, text) {
  await pane(page, '#class')
    .locator('.msg', { has: page.locator('.who', { hasText: nick }) })
    .filter({ has: page.locator('.text', { hasText: text }) })
    .first()
    .waitFor({ timeout: WAIT });
}

async function seesNotice(page, text) {
  await pane(page, '#class').locator('.notice', { hasText: text }).first().waitFor({ timeout: WAIT });
}

async function seesAlert(page, text) {
  await page.locator('#alert:not([hidden]) #alert-text', { hasText: text }).waitFor({ timeout: WAIT });
}

// Waits until `nick`'s row in `page`'s member list has (or lacks) `role`.
async function hasRole(page, nick, role, yes = true) {
  const sel = `.member[data-nick="${nick}"]${yes ? '' : ':not('}[data-roles~="${role}"]${yes ? '' : ')'}`;
  await pane(page, '#class').locator(sel).waitFor({ state: 'attached', timeout: WAIT });
}

// The operator's menu on `nick`'s row: opens it and chooses `action`.
async function memberAction(page, nick, action) {
  const row = member(page, nick);
  const menu = row.locator('details.member-menu');
  if (!(await menu.evaluate((d) => d.open))) await row.locator('summary').click();
  await row.getByRole('button', { name: action, exact: true }).click();
}

// Opens the settings dialog, lets `change` fill it, saves it.
async function settings(page, change) {
  await pane(page, '#class').getByRole('button', { name: 'Room settings' }).click();
  const dialog = page.locator('#room-settings');
  await dialog.waitFor({ state: 'visible', timeout: WAIT });
  await change(dialog);
  await dialog.getByRole('button', { name: 'Save settings' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: WAIT });
}

// axe-core on the page as it is now: throws on any WCAG 2.1 A or AA violation.
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

// Records page errors and console errors of `page`; accepts its dialogs.
function watch(name, page, problems) {
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/WebSocket|ERR_CONNECTION_REFUSED/.test(m.text())) problems.push(`${name}: console error: ${m.text()}`);
  });
  page.on('dialog', (d) => d.accept());
}

// ---- the test --------------------------------------------------------------------
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const olga = new LineClient('olga');
const problems = [];
let status = 1;
try {
  const desk = { viewport: { width: 1100, height: 700 }, acceptDownloads: true };
  const [ana, bob, carl] = await Promise.all(
    [desk, { viewport: { width: 375, height: 667 } }, desk].map(async (o) => (await browser.newContext(o)).newPage())
  );
  for (const [name, page] of [['ana', ana], ['bob', bob], ['carl', carl]]) watch(name, page, problems);

  step('ana creates class and owns it; bob (phone) and olga (TCP) join; olga says 60 lines');
  await login(ana, 'ana');
  await joinByForm(ana, 'class');
  await pane(ana, '#class').waitFor({ state: 'visible', timeout: WAIT });
  await hasRole(ana, 'ana', 'op');
  await pane(ana, '#class').getByRole('button', { name: 'Room settings' }).waitFor({ timeout: WAIT });
  await login(bob, 'bob');
  await bob.getByRole('button', { name: 'Rooms' }).click(); // the phone's side list
  await joinByForm(bob, 'class');
  await pane(bob, '#class').waitFor({ state: 'visible', timeout: WAIT });
  await olga.connect(tcpAddr);
  await olga.waitFor('WELCOME', (l) => l.startsWith('WELCOME '));
  olga.send('NICK olga');
  olga.send('JOIN class');
  await olga.waitLine('END HISTORY class');
  for (let i = 1; i <= 60; i++) olga.send(`SAY class line ${String(i).padStart(2, '0')} from olga`);
  await olga.waitLine('MSG class olga line 60 from olga');
  await seesMessage(bob, 'olga', 'line 60 from olga');
  await member(ana, 'bob').waitFor({ state: 'attached', timeout: WAIT });
  if (await pane(bob, '#class').getByRole('button', { name: 'Room settings' }).isVisible()) {
    throw new Error('bob: a member who is no operator is offered the settings');
  }
  if (await member(bob, 'ana').locator('summary').count()) throw new Error('bob: a member who is no operator has the member menu');

  step('ana sets the topic in the header; bob sees it');
  await pane(ana, '#class').locator('.topic-edit').click();
  await pane(ana, '#class').getByLabel('Topic of #class').fill('Fractions, chapter 3');
  await pane(ana, '#class').getByRole('button', { name: 'Save topic' }).click();
  await pane(bob, '#class').locator('.pane-topic', { hasText: 'Fractions, chapter 3' }).waitFor({ timeout: WAIT });
  await seesNotice(bob, 'ana set the topic: Fractions, chapter 3');
  if (await pane(bob, '#class').locator('.topic-edit').count()) throw new Error('bob: the topic is editable for a member (topic-lock is on)');
  await hasRole(bob, 'ana', 'op');
  if (!(await member(bob, 'ana').locator('.role-mark').textContent()).includes('@')) throw new Error('bob: no @ before the owner');

  step('ana makes bob an operator through the member menu, and takes it back');
  await accessible(ana, 'ana, the room');
  await memberAction(ana, 'bob', 'Make operator');
  await hasRole(ana, 'bob', 'op');
  await hasRole(bob, 'bob', 'op');
  await seesNotice(bob, 'ana made you an operator');
  await pane(bob, '#class').getByRole('button', { name: 'Room settings' }).waitFor({ timeout: WAIT });
  await pane(bob, '#class').locator('.topic-edit').waitFor({ state: 'attached', timeout: WAIT });
  await memberAction(ana, 'bob', 'Remove operator');
  await hasRole(bob, 'bob', 'op', false);
  await pane(bob, '#class').getByRole('button', { name: 'Room settings' }).waitFor({ state: 'hidden', timeout: WAIT });

  step('ana turns "moderated" on; bob is refused, with the reason, and keeps his text');
  await settings(ana, async (d) => {
    await accessible(ana, 'ana, the settings dialog');
    await d.getByLabel(/^Moderated/).check();
  });
  await seesNotice(bob, 'ana made the room moderated');
  await say(bob, 'may I speak?');
  await seesAlert(bob, 'The room is moderated');
  if ((await bob.locator('#composer-text').inputValue()) !== 'may I speak?') throw new Error('bob: the refused text was not given back');

  step('ana gives bob a voice: he writes');
  await memberAction(ana, 'bob', 'Give voice');
  await hasRole(bob, 'bob', 'voice');
  if (!(await member(ana, 'bob').locator('.role-mark').textContent()).includes('+')) throw new Error('ana: no + before bob');
  await say(bob, 'voiced hello');
  await seesMessage(ana, 'bob', 'voiced hello');

  step('ana ends moderation, then mutes bob (his voice goes first): he is refused and marked muted; unmuted, he writes again');
  await settings(ana, async (d) => {
    await d.getByLabel(/^Moderated/).uncheck();
  });
  await seesNotice(bob, 'ana ended moderation');
  await memberAction(ana, 'bob', 'Mute');
  await hasRole(ana, 'bob', 'muted');
  await hasRole(bob, 'bob', 'muted');
  await hasRole(bob, 'bob', 'voice', false);
  await say(bob, 'muted words');
  await seesAlert(bob, 'You are muted in this room');
  await memberAction(ana, 'bob', 'Unmute');
  await hasRole(bob, 'bob', 'muted', false);
  await bob.locator('#composer-text').fill('');
  await say(bob, 'unmuted again');
  await seesMessage(ana, 'bob', 'unmuted again');

  step('ana turns slow mode on (30 s): bob sees the hint counting down');
  await settings(ana, async (d) => {
    await d.getByLabel(/^Slow mode/).fill('30');
  });
  await seesNotice(bob, 'ana set slow mode');
  await say(bob, 'first under slow mode');
  await seesMessage(ana, 'bob', 'first under slow mode');
  await say(bob, 'second too soon');
  const hint = bob.locator('#slow-hint:not([hidden])', { hasText: /you can write again in \d+ s/ });
  await hint.waitFor({ timeout: WAIT });
  const seconds = Number(/in (\d+) s/.exec(await hint.textContent())[1]);
  if (!(seconds >= 1 && seconds <= 30)) throw new Error(`bob: the hint says ${seconds} s`);
  await bob
    .locator('#slow-hint', { hasText: new RegExp(`in (?!${seconds} s)\\d+ s`) })
    .waitFor({ timeout: WAIT });
  if ((await bob.locator('#composer-text').inputValue()) !== 'second too soon') throw new Error('bob: the slowed text was not given back');
  await accessible(bob, 'bob (phone), the slow-mode hint');
  await settings(ana, async (d) => {
    await d.getByLabel(/^Slow mode/).fill('');
  });
  await seesNotice(bob, 'ana turned slow mode off');

  step('ana makes the room invite-only: carl is refused; invited, he joins from the invitation');
  await settings(ana, async (d) => {
    await d.getByLabel(/^Invite-only/).check();
  });
  await seesNotice(bob, 'ana made the room invite-only');
  await login(carl, 'carl');
  await joinByForm(carl, 'class');
  await seesAlert(carl, 'That room is invite-only');
  await pane(ana, '#class').getByLabel('Invite someone').fill('carl');
  await pane(ana, '#class').getByRole('button', { name: 'Invite', exact: true }).click();
  const invitation = carl.locator('#invites .invite', { hasText: 'ana invited you to #class' });
  await invitation.waitFor({ timeout: WAIT });
  await accessible(carl, 'carl, an invitation');
  await invitation.getByRole('button', { name: 'Join #class' }).click();
  await pane(carl, '#class').waitFor({ state: 'visible', timeout: WAIT });
  await pane(carl, '#class').locator('.pane-topic', { hasText: 'Fractions, chapter 3' }).waitFor({ timeout: WAIT });
  await seesNotice(bob, 'ana invited carl');
  await member(bob, 'carl').waitFor({ state: 'attached', timeout: WAIT });

  step('ana bans carl from the menu: he is removed, and cannot come back');
  await memberAction(ana, 'carl', 'Ban');
  await seesNotice(bob, 'ana banned carl');
  await seesAlert(carl, 'ana removed you from class');
  await pane(carl, '#class').waitFor({ state: 'detached', timeout: WAIT });
  await joinByForm(carl, 'class');
  await seesAlert(carl, 'You are banned from that room');

  step('ana exempts carl from the ban and lets him past invite-only (Room settings): he joins by himself');
  await pane(ana, '#class').getByRole('button', { name: 'Room settings' }).click();
  const dialog = ana.locator('#room-settings');
  await dialog.locator('li', { hasText: 'carl!*@*' }).getByRole('button', { name: 'Unban carl!*@*' }).waitFor({ timeout: WAIT });
  for (const action of ['Exempt from bans', 'Let past invite-only']) {
    await dialog.getByLabel('A nick or a mask').fill('carl');
    await dialog.getByRole('button', { name: action }).click();
  }
  await dialog.getByRole('button', { name: 'Remove exemption carl!*@*' }).waitFor({ timeout: WAIT });
  await dialog.getByRole('button', { name: 'Remove carl!*@*', exact: true }).waitFor({ timeout: WAIT });
  await accessible(ana, 'ana, the settings dialog with its lists');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached', timeout: WAIT });
  await seesNotice(bob, 'ana let past invite-only carl!*@*');
  await joinByForm(carl, 'class');
  await pane(carl, '#class').waitFor({ state: 'visible', timeout: WAIT });
  await member(ana, 'carl').waitFor({ state: 'attached', timeout: WAIT });

  step('bob (phone): the member list shows the roles, accessibly');
  await pane(bob, '#class').locator('.members-toggle').click();
  await member(bob, 'ana').waitFor({ state: 'visible', timeout: WAIT });
  await accessible(bob, 'bob (phone), the member list');

  step('ana saves the transcript: every message, paged back, in order');
  const [download] = await Promise.all([
    ana.waitForEvent('download', { timeout: WAIT }),
    pane(ana, '#class').getByRole('button', { name: 'Save transcript' }).click(),
  ]);
  const name = download.suggestedFilename();
  if (!/^class-\d{4}-\d{2}-\d{2}\.txt$/.test(name)) throw new Error(`ana: the transcript is called ${name}`);
  const text = readFileSync(await download.path(), 'utf8');
  const lines = text.split('\n').filter((l) => / olga: line \d\d from olga$/.test(l));
  const numbers = lines.map((l) => Number(/line (\d\d)/.exec(l)[1]));
  if (numbers.length !== 60 || numbers.some((n, i) => n !== i + 1)) throw new Error(`ana: the transcript's olga lines are ${numbers}`);
  for (const said of ['bob: voiced hello', 'bob: unmuted again', 'bob: first under slow mode']) {
    if (!text.includes(said)) throw new Error(`ana: the transcript lacks "${said}":\n${text}`);
  }
  for (const refused of ['may I speak?', 'muted words', 'second too soon']) {
    if (text.includes(refused)) throw new Error(`ana: the transcript has the refused "${refused}"`);
  }
  await pane(ana, '#class').getByRole('button', { name: 'Save transcript' }).waitFor({ timeout: WAIT });

  if (problems.length) throw new Error(problems.join('\n'));
  step('all steps passed');
  status = 0;
} catch (e) {
  console.error(`browser test (moderation) FAILED: ${e.stack || e}`);
  if (problems.length) console.error(problems.join('\n'));
} finally {
  olga.close();
  await browser.close();
}
process.exit(status);
