// Browser test of Sala's web client, run by tests/browser.rs (cargo test):
//
//   node chat.spec.mjs <page-url> <tcp-host:port> <screenshot.png>
//
// Two Chromium users (ana, bob) and one CHAT/1 TCP client (carl) chat; a room
// is created, joined, left and deleted; whispers; a broadcast; a message with
// HTML in it is shown as text; the server restarts and the pages reconnect.
//
// The restart needs the Rust side: this script prints "STOP" and waits for
// "STOPPED" on stdin, then prints "START" and waits for "GO". Every wait is for
// something visible on the page (or a line from the server), with a timeout;
// nothing sleeps for a fixed time. Exit status 0 means every step passed.

import { chromium } from 'playwright-core';
import net from 'node:net';
import readline from 'node:readline';

const [url, tcpAddr, screenshot] = process.argv.slice(2);
if (!url || !tcpAddr || !screenshot) {
  console.error('usage: node chat.spec.mjs <page-url> <tcp-host:port> <screenshot.png>');
  process.exit(2);
}
const WAIT = 15_000; // ms any one visible state may take to appear

// ---- talking to the Rust side ------------------------------------------------
const stdin = readline.createInterface({ input: process.stdin });
const fromRust = [];
const rustWaiters = [];
stdin.on('line', (line) => {
  const waiter = rustWaiters.shift();
  if (waiter) waiter(line);
  else fromRust.push(line);
});
function askRust(say, expect) {
  console.log(say);
  return new Promise((resolve, reject) => {
    const done = (line) => (line === expect ? resolve() : reject(new Error(`expected ${expect}, got ${line}`)));
    if (fromRust.length) done(fromRust.shift());
    else rustWaiters.push(done);
  });
}

// ---- a CHAT/1 TCP client -------------------------------------------------------
class LineClient {
  constructor(name) {
    this.name = name;
    this.lines = [];
    this.waiters = [];
    this.buffer = '';
  }

  connect(addr) {
    const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
    this.lines = [];
    this.buffer = '';
    return new Promise((resolve, reject) => {
      this.socket = net.connect({ host, port }, resolve);
      this.socket.once('error', reject);
      this.socket.setEncoding('utf8');
      this.socket.on('data', (chunk) => {
        this.buffer += chunk;
        let nl;
        while ((nl = this.buffer.indexOf('\n')) >= 0) {
          const line = this.buffer.slice(0, nl);
          this.buffer = this.buffer.slice(nl + 1);
          this.lines.push(line);
          this.check();
        }
      });
    });
  }

  send(line) {
    this.socket.write(line + '\n');
  }

  check() {
    for (const w of [...this.waiters]) {
      const i = this.lines.findIndex(w.pred);
      if (i >= 0) {
        const [line] = this.lines.splice(0, i + 1).slice(-1);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(line);
      }
    }
  }

  // Reads until a line satisfies `pred` (lines before it are skipped).
  waitFor(what, pred) {
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.name}: no line ${what} within ${WAIT} ms; unread: ${JSON.stringify(this.lines)}`));
      }, WAIT);
      this.waiters.push(w);
      this.check();
    });
  }

  waitLine(line) {
    return this.waitFor(JSON.stringify(line), (l) => l === line);
  }

  close() {
    if (this.socket) this.socket.destroy();
  }
}

// ---- helpers on the page -------------------------------------------------------
async function login(page, nick) {
  await page.goto(url);
  await page.getByLabel('Nickname', { exact: true }).fill(nick);
  await page.getByRole('button', { name: 'Enter' }).click();
  await page.locator('#me', { hasText: `You are ${nick}` }).waitFor({ timeout: WAIT });
  await page.locator('#app').waitFor({ state: 'visible', timeout: WAIT });
}

const pane = (page, key) => page.locator(`.pane[data-key="${key}"]`);

async function say(page, text) {
  await page.locator('#composer-text').fill(text);
  await page.locator('#composer-text').press('Enter');
}

async function seesMessage(page, key, nick, text) {
  await pane(page, key)
    .locator('.msg', { has: page.locator('.who', { hasText: nick }) })
    .filter({ has: page.locator('.text', { hasText: text }) })
    .first()
    .waitFor({ timeout: WAIT });
}

async function joinByForm(page, room) {
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await pane(page, '#' + room.toLowerCase()).waitFor({ state: 'visible', timeout: WAIT });
}

function step(text) {
  console.error(`browser test: ${text}`);
}

// ---- the test --------------------------------------------------------------------
// launch() starts Chromium with a fresh temporary profile (its own
// --user-data-dir), deleted when the browser closes.
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const carl = new LineClient('carl');
const problems = [];
let status = 1;
try {
  const contextA = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const contextB = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const ana = await contextA.newPage();
  const bob = await contextB.newPage();
  for (const [name, page] of [['ana', ana], ['bob', bob]]) {
    page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/WebSocket|ERR_CONNECTION_REFUSED/.test(m.text())) {
        problems.push(`${name}: console error: ${m.text()}`);
      }
    });
    page.on('dialog', (d) => d.accept());
  }

  step('two users pick nicknames');
  await login(ana, 'ana');
  await login(bob, 'bob'); // bob has a phone-sized screen
  await carl.connect(tcpAddr);
  await carl.waitFor('WELCOME', (l) => l.startsWith('WELCOME '));
  carl.send('NICK carl');
  await carl.waitFor('NICK ... carl', (l) => /^NICK guest\d+ carl$/.test(l));

  step('ana creates lobby; bob joins it from the room list; carl joins over TCP');
  await joinByForm(ana, 'lobby');
  await bob.getByRole('button', { name: 'Rooms' }).click();
  await bob.locator('#rooms li[data-room="lobby"] button').click({ timeout: WAIT });
  await pane(bob, '#lobby').waitFor({ state: 'visible', timeout: WAIT });
  carl.send('JOIN lobby');
  await carl.waitLine('END HISTORY lobby');
  await pane(ana, '#lobby').locator('.member[data-nick="carl"]').waitFor({ timeout: WAIT });
  await pane(ana, '#lobby').locator('.member.owner[data-nick="ana"] .owner-mark').waitFor({ timeout: WAIT });

  step('messages between the browsers and the TCP client');
  await say(ana, 'hello from the browser');
  await seesMessage(bob, '#lobby', 'ana', 'hello from the browser');
  await carl.waitLine('MSG lobby ana hello from the browser');
  carl.send('SAY lobby hi ana, carl here on plain TCP');
  await seesMessage(ana, '#lobby', 'carl', 'hi ana, carl here on plain TCP');
  await seesMessage(bob, '#lobby', 'carl', 'hi ana, carl here on plain TCP');
  await say(bob, 'bob on a phone says hi');
  await seesMessage(ana, '#lobby', 'bob', 'bob on a phone says hi');

  step('HTML in a message is shown as text');
  const evil = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2"><b>bold?</b>';
  await say(bob, evil);
  await seesMessage(ana, '#lobby', 'bob', evil);
  await carl.waitLine(`MSG lobby bob ${evil}`);
  const shown = await pane(ana, '#lobby').locator('.msg .text').last().textContent();
  if (shown !== evil) throw new Error(`the message was not shown as typed: ${shown}`);
  for (const [name, page] of [['ana', ana], ['bob', bob]]) {
    const injected = await page.locator('.messages img, .messages script, .messages b').count();
    const pwned = await page.evaluate(() => window.pwned);
    if (injected || pwned !== undefined) throw new Error(`${name}: HTML from a message was interpreted`);
  }

  step('screenshot');
  await say(ana, 'the owner is marked with a star in the member list');
  await seesMessage(ana, '#lobby', 'ana', 'the owner is marked');
  await ana.screenshot({ path: screenshot });

  step('whispers: bob clicks ana in the member list; carl whispers over TCP');
  await pane(bob, '#lobby').locator('.members-toggle').click();
  await pane(bob, '#lobby').locator('.member[data-nick="ana"] .who').click();
  await pane(bob, '@ana').waitFor({ state: 'visible', timeout: WAIT });
  await say(bob, 'psst, ana');
  await seesMessage(bob, '@ana', 'bob', 'psst, ana');
  await ana.locator('#mine li[data-key="@bob"] .badge', { hasText: '1' }).waitFor({ timeout: WAIT });
  await ana.locator('#mine li[data-key="@bob"] button').click();
  await seesMessage(ana, '@bob', 'bob', 'psst, ana');
  await say(ana, 'yes, bob?');
  await seesMessage(bob, '@ana', 'ana', 'yes, bob?');
  carl.send('WHISPER ana a word from TCP');
  await carl.waitLine('WHISPER carl ana a word from TCP');
  await ana.locator('#mine li[data-key="@carl"]').waitFor({ timeout: WAIT });
  await ana.locator('#mine li[data-key="@carl"] button').click();
  await seesMessage(ana, '@carl', 'carl', 'a word from TCP');
  await say(ana, 'got it, carl');
  await carl.waitLine('WHISPER ana carl got it, carl');

  step('a broadcast is shown as a banner');
  carl.send('BROADCAST <i>all</i> hands');
  await ana.locator('#banner-text', { hasText: '<i>all</i> hands' }).waitFor({ timeout: WAIT });
  await bob.locator('#banner-text', { hasText: '<i>all</i> hands' }).waitFor({ timeout: WAIT });

  step('a room is created, joined, left and deleted');
  await ana.locator('#mine li[data-key="#lobby"] button').click();
  await bob.getByRole('button', { name: 'Rooms' }).click();
  await joinByForm(bob, 'Side');
  await ana.locator('#rooms li[data-room="Side"] button').click({ timeout: WAIT });
  await pane(ana, '#side').waitFor({ state: 'visible', timeout: WAIT });
  await pane(bob, '#side').locator('.member[data-nick="ana"]').waitFor({ state: 'attached', timeout: WAIT });
  await pane(ana, '#side').locator('.member.owner[data-nick="bob"]').waitFor({ timeout: WAIT });
  await pane(ana, '#side').getByRole('button', { name: 'Delete room' }).waitFor({ state: 'hidden' });
  await pane(ana, '#side').getByRole('button', { name: 'Leave' }).click();
  await pane(ana, '#side').waitFor({ state: 'detached', timeout: WAIT });
  await pane(bob, '#side').locator('.notice', { hasText: 'ana left' }).waitFor({ timeout: WAIT });
  await pane(bob, '#side').getByRole('button', { name: 'Delete room' }).click();
  await pane(bob, '#side').waitFor({ state: 'detached', timeout: WAIT });
  await bob.locator('#alert', { hasText: 'Side was deleted by bob' }).waitFor({ timeout: WAIT });
  await ana.locator('#rooms li[data-room="Side"]').waitFor({ state: 'detached', timeout: WAIT });

  step('the server stops: the pages say so and retry');
  await askRust('STOP', 'STOPPED');
  await carl.waitLine('BYE server shutting down');
  carl.close();
  for (const page of [ana, bob]) {
    await page.locator('#status[data-state="down"]', { hasText: /Disconnected, retrying in \d+ s/ }).waitFor({ timeout: WAIT });
  }
  await askRust('START', 'GO');

  step('the server is back on the same port: the pages reconnect and rejoin');
  for (const page of [ana, bob]) {
    await page.locator('#status[data-state="up"]').waitFor({ timeout: 30_000 });
    await pane(page, '#lobby').locator('.member[data-nick="ana"]').waitFor({ state: 'attached', timeout: WAIT });
    await pane(page, '#lobby').locator('.member[data-nick="bob"]').waitFor({ state: 'attached', timeout: WAIT });
  }
  await carl.connect(tcpAddr);
  await carl.waitFor('WELCOME', (l) => l.startsWith('WELCOME '));
  carl.send('NICK carl');
  await carl.waitFor('NICK ... carl', (l) => /^NICK guest\d+ carl$/.test(l));
  carl.send('JOIN lobby');
  await carl.waitFor('MEMBERS with ana and bob', (l) => /^MEMBERS lobby( \w+)*$/.test(l) && / ana\b/.test(l) && / bob\b/.test(l));
  await ana.locator('#mine li[data-key="#lobby"] button').click();
  await say(ana, 'back after the restart');
  await carl.waitLine('MSG lobby ana back after the restart');
  await seesMessage(bob, '#lobby', 'ana', 'back after the restart');

  if (problems.length) throw new Error(problems.join('\n'));
  step('all steps passed');
  status = 0;
} catch (e) {
  console.error(`browser test FAILED: ${e.stack || e}`);
  if (problems.length) console.error(problems.join('\n'));
} finally {
  carl.close();
  await browser.close();
  stdin.close();
}
process.exit(status);
