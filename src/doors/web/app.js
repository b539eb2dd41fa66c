// Sala's web client: CHAT/1 over a WebSocket, one line per text frame.
// Plain DOM code, no framework. Every text that comes from the server or
// from another user is put on the page with textContent, never as HTML, and
// never with a control character in it: IRC's formatting codes are shown as
// styles in messages (bold, italics, underline, strikethrough, monospace;
// colours and reverse are dropped) and dropped everywhere else. Only http:
// and https: addresses become links (rel="noopener noreferrer nofollow").
// A registered user's login token (docs/protocol.md, TOKEN) is kept in
// localStorage with the open rooms (and their keys) so that a reload logs in
// again and rejoins them; the password never is. Log out forgets it all.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const MAX_LINE = 2047; // bytes of one CHAT/1 line, without its "\n"
  const REFRESH_MS = 5000; // ROOMS and USERS are asked again this often
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 8000;
  const PAGE = 50; // HISTORY lines in one page (docs/protocol.md)
  const GROUP_MS = 5 * 60 * 1000; // one person's lines this close together form a group
  const TOKEN_KEY = 'sala.session'; // localStorage: {token, nick, rooms}
  const encoder = new TextEncoder();
  const bytes = (s) => encoder.encode(s).length;

  // ---- state ---------------------------------------------------------------
  const state = {
    ws: null,
    me: '', // the nick the server knows us by
    wanted: null, // {nick, password, register} chosen on the login form
    loggedIn: false, // the server confirmed our chosen nick at least once
    attempt: 0, // reconnect attempts since the last good connection
    retryTimer: 0,
    countdownTimer: 0,
    refreshTimer: 0,
    soonTimer: null,
    leaving: false, // we sent QUIT ourselves
    panes: new Map(), // key ("#room" or "@nick") -> pane
    active: '', // key of the pane on screen
    keys: new Map(), // room (lower case) -> key used to join it
    roomList: [], // pending ROOM lines
    rooms: new Map(), // room (lower case) -> {name, count, owner}
    users: [], // pending USERS nicks
    members: new Map(), // room (lower case) -> pending MEMBERS nicks
    online: 0, // people connected, from the last USERS list
    account: false, // logged in to a registered nickname
    loggingOut: false,
  };

  // ---- small DOM helpers -----------------------------------------------------
  // el('li', {class: 'x'}, 'text', child): strings become text nodes.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === 'class') node.className = value;
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  // ---- text from others ---------------------------------------------------------
  // The server sends no control character but IRC's formatting codes and
  // CTCP's \x01 (docs/protocol.md, "Text"); anything else would be shown as U+FFFD.
  const COLOUR = /\x03(\d{1,2}(,\d{1,2})?)?/y;
  const STYLES = { '\x02': 'b', '\x1d': 'i', '\x1f': 'u', '\x1e': 's', '\x11': 'm' };
  const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;

  // A text without its formatting codes, for notices, alerts and the banner.
  function plain(text) {
    return text
      .replace(/\x03(\d{1,2}(,\d{1,2})?)?/g, '')
      .replace(/[\x01\x02\x0f\x11\x16\x1d\x1e\x1f]/g, '')
      .replace(new RegExp(CONTROL.source, 'g'), '\ufffd');
  }

  // A message text as nodes: formatting codes become styled spans (class
  // fmt-b, fmt-i, ...), colours and reverse are dropped, /me is "* text".
  function styled(text) {
    const action = /^\x01ACTION (.*?)\x01?$/s.exec(text);
    if (action) return el('span', { class: 'action' }, '* ', styled(action[1]));
    const out = document.createDocumentFragment();
    const on = new Set();
    let run = '';
    const flush = () => {
      if (!run) return;
      const classes = [...on].map((c) => `fmt-${c}`).join(' ');
      out.append(classes ? el('span', { class: classes }, linked(run)) : linked(run));
      run = '';
    };
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (STYLES[c]) {
        flush();
        if (on.has(STYLES[c])) on.delete(STYLES[c]);
        else on.add(STYLES[c]);
      } else if (c === '\x0f') {
        flush();
        on.clear();
      } else if (c === '\x03') {
        COLOUR.lastIndex = i;
        i += COLOUR.exec(text)[0].length - 1;
      } else if (c === '\x16' || c === '\x01') {
        // reverse and CTCP framing: dropped
      } else {
        run += CONTROL.test(c) ? '\ufffd' : c;
      }
    }
    flush();
    return out;
  }

  // A run of text with its http: and https: addresses as links (no other
  // scheme ever becomes one); a trailing full stop or bracket stays text.
  const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
  function linked(text) {
    const out = document.createDocumentFragment();
    let at = 0;
    for (const m of text.matchAll(URL_RE)) {
      let href = m[0].replace(/[.,;:!?)\]}]+$/, '');
      let ok = false;
      try {
        const u = new URL(href);
        ok = u.protocol === 'http:' || u.protocol === 'https:';
      } catch (e) {
        ok = false;
      }
      if (!ok || !href) continue;
      out.append(text.slice(at, m.index));
      out.append(el('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow' }, href));
      at = m.index + href.length;
    }
    out.append(text.slice(at));
    return out;
  }

  const lower = (s) => s.toLowerCase();
  // One of eight colour classes per nick (the same nick, the same colour everywhere).
  function nickClass(nick) {
    let h = 0;
    for (const c of lower(nick)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return `nick-${h % 8}`;
  }
  // "Today", "Yesterday" or the date, for the separators between days.
  function dayLabel(ms) {
    const start = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
    const date = new Date(ms);
    const days = Math.round((start(new Date()) - start(date)) / 86400000);
    if (days === 0) return 'Today';
    if (days === 1) return 'Yesterday';
    return date.toLocaleDateString([], { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
  }
  // Whether `text` names `nick` as a word.
  function mentions(text, nick) {
    return new RegExp(`(^|[^A-Za-z0-9_-])${nick}($|[^A-Za-z0-9_-])`, 'i').test(plain(text));
  }
  const time = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

  // Splits a line into `count` words and the rest (the <text> parameter).
  function words(line, count) {
    const out = [];
    let rest = line;
    for (let i = 0; i < count; i++) {
      rest = rest.replace(/^ +/, '');
      const space = rest.indexOf(' ');
      if (space < 0) {
        out.push(rest);
        rest = '';
      } else {
        out.push(rest.slice(0, space));
        rest = rest.slice(space + 1);
      }
    }
    out.push(rest.replace(/^ +/, ''));
    return out;
  }

  // ---- connection ------------------------------------------------------------
  function connect() {
    clearTimeout(state.retryTimer);
    clearInterval(state.countdownTimer);
    $('retry').hidden = true;
    setStatus('Connecting…', 'connecting');
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const ws = new WebSocket(scheme + location.host + '/ws');
    state.ws = ws;
    ws.onopen = () => {
      state.attempt = 0;
    };
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') receive(event.data);
    };
    ws.onclose = () => {
      if (state.ws !== ws) return;
      state.ws = null;
      clearInterval(state.refreshTimer);
      if (state.loggingOut) {
        location.reload();
        return;
      }
      goneOffline();
      if (state.leaving) {
        setStatus('Disconnected. Reload the page to come back.', 'down');
        return;
      }
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** state.attempt);
    state.attempt += 1;
    const until = Date.now() + delay;
    const show = () => {
      const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      setStatus(`Disconnected, retrying in ${left} s`, 'down');
    };
    show();
    state.countdownTimer = setInterval(show, 250);
    state.retryTimer = setTimeout(connect, delay);
    $('retry').hidden = false;
    document.body.classList.add('offline');
  }

  // While disconnected nothing stale is shown: no members, no one online, and
  // the message box takes no typing until the connection is back.
  function goneOffline() {
    document.body.classList.add('offline');
    for (const pane of state.panes.values()) {
      if (pane.kind === 'room') {
        pane.members = [];
        renderMembers(pane);
      }
    }
    $('users').textContent = '';
    $('users').append(el('li', { class: 'hint' }, 'Not connected.'));
    $('rooms').textContent = '';
    const input = $('composer-text');
    input.disabled = true;
    input.placeholder = 'Disconnected: you can write again once reconnected';
  }

  function send(line) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
      showAlert('Not connected: nothing was sent. The page reconnects by itself.');
      return false;
    }
    if (bytes(line) > MAX_LINE) {
      showAlert(`That line is ${bytes(line)} bytes; the limit is ${MAX_LINE}. Nothing was sent.`);
      return false;
    }
    state.ws.send(line);
    return true;
  }

  // Splits a text into pieces of at most `room` bytes each, between words
  // where there is a space in the second half of a piece.
  function split(text, room) {
    const out = [];
    let rest = text;
    while (bytes(rest) > room) {
      let cut = 0;
      let used = 0;
      for (const ch of rest) {
        const n = bytes(ch);
        if (used + n > room) break;
        used += n;
        cut += ch.length;
      }
      const space = rest.lastIndexOf(' ', cut);
      const at = space > cut / 2 ? space : cut;
      out.push(rest.slice(0, at).trimEnd());
      rest = rest.slice(at).trimStart();
    }
    if (rest) out.push(rest);
    return out;
  }

  // Sends `head + text + tail` (SAY, WHISPER, BROADCAST), as several lines
  // when the text is longer than one line holds.
  function sendText(head, text, tail = '') {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
      showAlert('Not connected: nothing was sent. The page reconnects by itself.');
      return false;
    }
    const pieces = split(text, MAX_LINE - bytes(head) - bytes(tail));
    for (const piece of pieces) send(head + piece + tail);
    if (pieces.length > 1) showAlert(`The text was long: it went as ${pieces.length} messages, split between words.`, 'info');
    return true;
  }

  // The line the message box would send for `text` in `pane`: its head, tail and text.
  function composed(pane, text) {
    if (pane.kind === 'room') {
      if (/^\/me /i.test(text)) return [`SAY ${pane.name} \x01ACTION `, '\x01', text.slice(4).trim()];
      return [`SAY ${pane.name} `, '', text];
    }
    if (/^\/me /i.test(text)) return [`WHISPER ${pane.name} \x01ACTION `, '\x01', text.slice(4).trim()];
    return [`WHISPER ${pane.name} `, '', text];
  }

  // The counter under the box, once a text nears the limit of one line.
  function updateCounter() {
    const counter = $('composer-count');
    const pane = state.panes.get(state.active);
    const text = $('composer-text').value.trim();
    if (!pane || !text) {
      counter.hidden = true;
      return;
    }
    const [head, tail, body] = composed(pane, text);
    const room = MAX_LINE - bytes(head) - bytes(tail);
    const used = bytes(body);
    counter.hidden = used < room * 0.8;
    if (used <= room) counter.textContent = `${used} of ${room} bytes in one message`;
    else counter.textContent = `${used} bytes: goes as ${split(body, room).length} messages of at most ${room}, split between words`;
    counter.classList.toggle('over', used > room);
  }

  function setStatus(text, kind) {
    const status = $('status');
    status.textContent = plain(text);
    status.dataset.state = kind;
    if (kind === 'up') document.body.classList.remove('offline');
  }

  // Errors (and a few notes) show just above the message box until dismissed
  // or until the next message is sent.
  function showAlert(text, kind = 'error') {
    const alert = $('alert');
    $('alert-text').textContent = plain(text);
    alert.dataset.kind = kind;
    alert.hidden = false;
  }

  // ---- server lines ------------------------------------------------------------
  const handlers = {
    WELCOME(line) {
      const [nick] = words(line, 1);
      state.me = nick;
      setStatus('Connected', 'up');
      $('composer-text').disabled = false;
      showComposer(state.panes.get(state.active) || null);
      if (state.wanted) sendNick();
      else resume();
    },
    NICK(line) {
      const [old, now] = words(line, 2);
      if (lower(old) === lower(state.me)) {
        state.me = now;
        if (!state.loggedIn && state.wanted && lower(now) === lower(state.wanted.nick)) {
          state.loggedIn = true;
          state.account = Boolean(state.wanted.password || state.wanted.token);
          enterApp();
        } else if (state.loggedIn && state.rejoining) {
          state.rejoining = false;
          rejoin();
        } else if (state.loggedIn && state.wanted && lower(now) !== lower(state.wanted.nick)) {
          // /nick: another name ends the account's login (docs/protocol.md, NICK).
          state.wanted = { nick: now, password: '', token: '' };
          state.account = false;
          forgetSession(true);
        }
        showMe();
        return;
      }
      for (const pane of state.panes.values()) {
        if (pane.kind === 'room' && pane.members.some((m) => lower(m) === lower(old))) {
          pane.members = pane.members.map((m) => (lower(m) === lower(old) ? now : m));
          renderMembers(pane);
          notice(pane, `${old} is now known as ${now}`);
        }
      }
      const whisper = state.panes.get('@' + lower(old));
      if (whisper) notice(whisper, `${old} is now known as ${now}`);
    },
    JOIN(line) {
      const [room, nick] = words(line, 2);
      if (lower(nick) === lower(state.me)) {
        const pane = roomPane(room);
        pane.messages.textContent = '';
        pane.members = [];
        pane.oldest = null;
        pane.history = [];
        pane.olderPending = false;
        pane.exhausted = false;
        pane.older.hidden = false;
        pane.joined = true;
        saveSession();
        if (state.opening === lower(room)) {
          state.opening = '';
          $('join-details').open = false; // joined: the form folds away again
          activate(pane.key);
        }
        refresh();
        return;
      }
      const pane = state.panes.get('#' + lower(room));
      if (!pane) return;
      if (!pane.members.some((m) => lower(m) === lower(nick))) pane.members.push(nick);
      renderMembers(pane);
      notice(pane, `${nick} joined`);
      refreshSoon();
    },
    PART(line) {
      const [room, nick, text] = words(line, 2);
      const pane = state.panes.get('#' + lower(room));
      if (!pane) return;
      if (lower(nick) === lower(state.me)) {
        closePane(pane);
        saveSession();
        refresh();
        return;
      }
      removeMember(pane, nick);
      notice(pane, `${nick} left` + (text ? ` (${text})` : ''));
      refreshSoon();
    },
    QUIT(line) {
      const [nick, text] = words(line, 1);
      for (const pane of state.panes.values()) {
        if (pane.kind === 'room' && pane.members.some((m) => lower(m) === lower(nick))) {
          removeMember(pane, nick);
          notice(pane, `${nick} disconnected (${text})`);
        }
      }
      refreshSoon();
    },
    MSG(line) {
      const [room, nick, text] = words(line, 2);
      const pane = state.panes.get('#' + lower(room));
      if (!pane) return;
      addMessage(pane, Date.now(), nick, text, 'append');
      if (lower(nick) !== lower(state.me) && mentions(text, state.me)) notify(`${nick} in #${pane.name}`, text);
    },
    HISTORY(line) {
      const [room, ms, nick, text] = words(line, 3);
      const pane = state.panes.get('#' + lower(room));
      if (pane) pane.history.push({ ms: Number(ms), nick, text });
    },
    WHISPER(line) {
      const [from, to, text] = words(line, 2);
      const peer = lower(from) === lower(state.me) ? to : from;
      const pane = whisperPane(peer);
      addMessage(pane, Date.now(), from, text, 'append');
      if (lower(from) !== lower(state.me)) notify(`${from} whispers`, text);
    },
    OFFLINE(line) {
      const [ms, from, text] = words(line, 2);
      const pane = whisperPane(from);
      addMessage(pane, Number(ms), from, text, 'append', 'kept while you were away');
    },
    BROADCAST(line) {
      const [from, text] = words(line, 1);
      $('banner-from').textContent = from;
      $('banner-text').textContent = plain(text);
      $('banner').hidden = false;
      // The banner shows the latest; every open conversation keeps them all.
      for (const pane of state.panes.values()) {
        pane.messages.append(
          el('li', { class: 'notice broadcast' }, `Broadcast from ${from} to everyone: `, el('span', { class: 'text' }, styled(text)))
        );
        pane.log.scrollTop = pane.log.scrollHeight;
      }
    },
    MEMBERS(line) {
      const [room, list] = words(line, 1);
      const key = lower(room);
      const pending = state.members.get(key) || [];
      pending.push(...list.split(' ').filter(Boolean));
      state.members.set(key, pending);
    },
    ROOM(line) {
      const [name, count, owner] = words(line, 3);
      state.roomList.push({ name, count: Number(count), owner });
    },
    USERS(line) {
      state.users.push(...line.split(' ').filter(Boolean));
    },
    END(line) {
      const [what, arg] = words(line, 1);
      if (what === 'MEMBERS') endMembers(arg);
      else if (what === 'HISTORY') endHistory(arg);
      else if (what === 'ROOMS') endRooms();
      else if (what === 'USERS') endUsers();
    },
    KICKED(line) {
      const [room, nick, by, text] = words(line, 3);
      const pane = state.panes.get('#' + lower(room));
      if (!pane) return;
      const why = text ? `: ${text}` : '';
      if (lower(nick) === lower(state.me)) {
        closePane(pane);
        showAlert(`${by} removed you from ${room}${why}`);
        refresh();
        return;
      }
      removeMember(pane, nick);
      notice(pane, `${by} removed ${nick}${why}`);
    },
    CLOSED(line) {
      const [room, by] = words(line, 2);
      const pane = state.panes.get('#' + lower(room));
      if (pane) closePane(pane);
      state.keys.delete(lower(room));
      showAlert(`${room} was deleted by ${by}`);
      refresh();
    },
    OK(line) {
      const [what, nick, more] = words(line, 2);
      // OK TOKEN <token> <expires>: kept for the next load (docs/protocol.md, TOKEN).
      if (what === 'TOKEN') saveSession(nick, Number(more));
      if (what === 'UPLOAD') window.SalaShare.okUpload(nick);
      if (what === 'REGISTER') {
        showAlert(`${nick} is now registered.`, 'info');
        state.account = true;
        if (state.wanted && state.wanted.pending) state.wanted.password = state.wanted.pending;
        showMe();
        send('TOKEN');
      }
    },
    ERR(line) {
      const [code, text] = words(line, 1);
      const loginCodes = ['NICK_TAKEN', 'BAD_PASSWORD', 'BAD_NAME', 'NICK_RESERVED'];
      if (code === 'BAD_TOKEN' || (state.resuming && code === 'NICK_TAKEN')) {
        // The saved session is over (expired, revoked, or the nick is in use
        // elsewhere): the login form it is.
        state.resuming = false;
        // A nick in use (another tab, say) leaves the token for later.
        if (code === 'BAD_TOKEN') forgetSession(false);
        if (code === 'BAD_TOKEN' && state.loggedIn && state.rejoining) {
          // After a server restart the token is gone (tokens live in memory).
          state.loggedIn = false;
          state.rejoining = false;
        }
        if (!state.loggedIn) {
          state.wanted = null;
          showLogin();
          $('login-error').textContent = `${plain(text)}.`.replace(/\.\.$/, '.');
          return;
        }
      }
      if (window.SalaShare.refused(code, text)) return;
      if (!state.loggedIn && loginCodes.includes(code)) {
        $('login-error').textContent = plain(text);
        $('login-nick').focus();
        return;
      }
      if (code === 'BAD_KEY' || code === 'ALREADY_MEMBER' || code === 'TOO_MANY_ROOMS') {
        state.opening = '';
      }
      showAlert(text);
    },
    BYE(line) {
      setStatus(`The server said goodbye: ${words(line, 0)[0]}`, 'down');
    },
    PONG() {},
  };

  function receive(line) {
    const [verb, rest] = words(line, 1);
    const handler = handlers[verb];
    if (handler) handler(rest);
  }

  // ---- login -------------------------------------------------------------------
  function sendNick() {
    const { nick, password, token } = state.wanted;
    // After a reconnect the rooms we had open are joined again once the nick is ours.
    if (state.loggedIn) state.rejoining = true;
    // The password, while the page has it; else the saved token.
    if (!password && token) send(`RESUME ${token}`);
    else send(password ? `NICK ${nick} ${password}` : `NICK ${nick}`);
  }

  function enterApp() {
    $('login').hidden = true;
    $('app').hidden = false;
    $('account').hidden = false;
    $('login-error').textContent = '';
    if (state.wanted.register && state.wanted.password) send(`REGISTER ${state.wanted.password}`);
    else if (state.account && !state.wanted.token) send('TOKEN');
    showMe();
    refresh();
    if (state.resuming) {
      // A resumed session opens the rooms it had open.
      state.resuming = false;
      const rooms = (loadSession() || {}).rooms || [];
      if (rooms.length) state.opening = lower(rooms[0].name); // shown once joined
      for (const room of rooms) {
        if (room.key) state.keys.set(lower(room.name), room.key);
        send(`JOIN ${room.name}` + (room.key ? ` ${room.key}` : ''));
      }
    }
    $('notify').hidden = !('Notification' in window) || Notification.permission !== 'default';
    $('join-room').focus();
  }

  function showLogin() {
    $('login').hidden = false;
    $('app').hidden = true;
    $('login-nick').focus();
  }

  function showMe() {
    $('me').textContent = state.loggedIn ? `You are ${state.me}` + (state.account ? ' (registered)' : '') : '';
    $('register-form').hidden = state.account;
  }

  // ---- the saved session (an account's login token, docs/protocol.md TOKEN) ----
  function loadSession() {
    try {
      return JSON.parse(localStorage.getItem(TOKEN_KEY) || 'null');
    } catch (e) {
      return null;
    }
  }

  // Saves the token (when given) and the rooms open now, for the next load.
  function saveSession(token, expires) {
    const saved = loadSession();
    if (!token && !saved) return;
    const rooms = [...state.panes.values()]
      .filter((p) => p.kind === 'room')
      .map((p) => ({ name: p.name, key: state.keys.get(lower(p.name)) || '' }));
    const next = { ...(saved || {}), rooms, nick: state.me };
    if (token) Object.assign(next, { token, expires });
    try {
      localStorage.setItem(TOKEN_KEY, JSON.stringify(next));
    } catch (e) {
      // Storage refused (private mode, full): a reload asks for the password.
    }
  }

  // Forgets the saved session; `revoke` asks the server to end the token too.
  function forgetSession(revoke) {
    const saved = loadSession();
    if (revoke && saved && saved.token) send(`REVOKE ${saved.token}`);
    try {
      localStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      // nothing saved
    }
  }

  // On a fresh load: resume the saved session, if there is one and it is not
  // past its time.
  function resume() {
    if (state.loggedIn) return;
    const saved = loadSession();
    if (!saved || !saved.token || !(saved.expires > Date.now())) {
      if (saved) forgetSession(false);
      return;
    }
    state.resuming = true;
    state.wanted = { nick: saved.nick, password: '', token: saved.token };
    $('login-error').textContent = 'Logging you in again…';
    send(`RESUME ${saved.token}`);
  }

  // A desktop notification, only while the tab is hidden and when allowed.
  function notify(title, text) {
    if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
    try {
      const note = new Notification(plain(title), { body: plain(text), tag: 'sala' });
      note.onclick = () => window.focus();
    } catch (e) {
      // Some browsers allow notifications only from a service worker.
    }
  }

  function rejoin() {
    for (const pane of state.panes.values()) {
      if (pane.kind === 'room') {
        const key = state.keys.get(lower(pane.name));
        send(key ? `JOIN ${pane.name} ${key}` : `JOIN ${pane.name}`);
      }
    }
    refresh();
  }

  // Someone came or went: room counts and the online list change. Ask again
  // shortly (once for a burst of joins), not only at the next tick.
  function refreshSoon() {
    if (state.soonTimer) return;
    state.soonTimer = setTimeout(() => {
      state.soonTimer = null;
      refresh();
    }, 300);
  }

  // Asks for the room list and the user list; again every few seconds.
  function refresh() {
    clearInterval(state.refreshTimer);
    if (!state.loggedIn) return;
    const ask = () => {
      if (state.ws && state.ws.readyState === WebSocket.OPEN) {
        send('ROOMS');
        send('USERS');
      }
    };
    ask();
    state.refreshTimer = setInterval(ask, REFRESH_MS);
  }

  // ---- panes -------------------------------------------------------------------
  function makePane(key, kind, name) {
    const node = $('pane-template').content.firstElementChild.cloneNode(true);
    const pane = {
      key,
      kind,
      name,
      node,
      unread: 0,
      members: [],
      history: [],
      oldest: null,
      olderPending: false,
      exhausted: false,
      joined: false,
      messages: node.querySelector('.messages'),
      log: node.querySelector('.log'),
      older: node.querySelector('.older'),
    };
    node.dataset.key = key;
    node.dataset.kind = kind;
    node.dataset.name = name;
    node.setAttribute('aria-label', kind === 'room' ? `Room ${name}` : `Whispers with ${name}`);
    node.querySelector('.pane-title').textContent = kind === 'room' ? `#${name}` : `Whispers with ${name}`;
    const leave = node.querySelector('.leave');
    const del = node.querySelector('.delete');
    const close = node.querySelector('.close');
    const toggle = node.querySelector('.members-toggle');
    if (kind === 'room') {
      leave.addEventListener('click', () => send(`PART ${name}`));
      del.addEventListener('click', () => {
        if (window.confirm(`Delete the room ${name} and its history?`)) send(`DELETE ${name}`);
      });
      pane.older.addEventListener('click', () => loadOlder(pane));
      pane.log.addEventListener('scroll', () => {
        if (pane.log.scrollTop < 40) loadOlder(pane);
      });
      toggle.addEventListener('click', () => {
        const open = node.classList.toggle('show-members');
        toggle.setAttribute('aria-expanded', String(open));
      });
    } else {
      leave.hidden = true;
      toggle.hidden = true;
      pane.older.hidden = true;
      node.querySelector('.members').hidden = true;
      close.hidden = false;
      close.addEventListener('click', () => closePane(pane));
    }
    $('panes').insertBefore(node, $('alert'));
    state.panes.set(key, pane);
    for (const hook of hooks.pane) hook(pane);
    renderMine();
    return pane;
  }

  function roomPane(room) {
    return state.panes.get('#' + lower(room)) || makePane('#' + lower(room), 'room', room);
  }

  function whisperPane(nick) {
    return state.panes.get('@' + lower(nick)) || makePane('@' + lower(nick), 'whisper', nick);
  }

  function closePane(pane) {
    pane.node.remove();
    state.panes.delete(pane.key);
    if (pane.kind === 'room') state.keys.delete(lower(pane.name));
    if (state.active === pane.key) {
      state.active = '';
      const next = state.panes.keys().next();
      if (!next.done) activate(next.value);
      else showComposer(null);
    }
    renderMine();
  }

  function activate(key) {
    const pane = state.panes.get(key);
    if (!pane) return;
    state.active = key;
    for (const other of state.panes.values()) other.node.hidden = other !== pane;
    // A line above the first message that came while the pane was not on screen.
    for (const line of pane.messages.querySelectorAll('.unread-line')) line.remove();
    let first = null;
    if (pane.unread) {
      const msgs = pane.messages.querySelectorAll('.msg');
      first = msgs[Math.max(0, msgs.length - pane.unread)] || null;
      if (first) first.before(el('li', { class: 'unread-line' }, el('span', {}, 'New messages')));
      decorate(pane);
    }
    pane.unread = 0;
    renderMine();
    showComposer(pane);
    pane.log.scrollTop = pane.log.scrollHeight;
    if (first && first.offsetTop < pane.log.scrollTop) first.previousElementSibling.scrollIntoView({ block: 'start' });
    document.body.classList.remove('show-side');
    $('menu').setAttribute('aria-expanded', 'false');
    $('composer-text').focus();
  }

  function showComposer(pane) {
    $('composer').hidden = !pane;
    $('empty').hidden = Boolean(pane);
    if (pane) {
      const label = pane.kind === 'room' ? `Message to #${pane.name}` : `Whisper to ${pane.name}`;
      $('composer-label').textContent = label;
      if (!$('composer-text').disabled) $('composer-text').placeholder = label;
    }
    updateCounter();
    updateTitle();
  }

  function renderMine() {
    const list = $('mine');
    list.textContent = '';
    for (const pane of state.panes.values()) {
      const label = pane.kind === 'room' ? `#${pane.name}` : `@${pane.name}`;
      const unread = pane.unread
        ? el('span', { class: 'badge', 'aria-label': `${pane.unread} unread` }, String(pane.unread))
        : null;
      const button = el(
        'button',
        { type: 'button', class: 'item', onclick: () => activate(pane.key) },
        el('span', { class: 'name' }, label),
        unread
      );
      if (pane.key === state.active) button.setAttribute('aria-current', 'true');
      list.append(el('li', { 'data-key': pane.key }, button));
    }
    updateTitle();
  }

  function updateTitle() {
    let unread = 0;
    for (const pane of state.panes.values()) unread += pane.unread;
    document.title = unread ? `(${unread}) Sala` : 'Sala';
    // On a phone the title is hidden: the Rooms button carries the count.
    const badge = $('menu-unread');
    badge.hidden = !unread;
    badge.textContent = unread ? `${unread} unread` : '';
  }

  // ---- messages ---------------------------------------------------------------
  function messageNode(ms, nick, text, note) {
    const who = el('button', { type: 'button', class: `who ${nickClass(nick)}`, title: `Whisper to ${nick}` }, nick);
    who.addEventListener('click', () => startWhisper(nick));
    const mine = lower(nick) === lower(state.me);
    const mention = !mine && state.me && mentions(text, state.me);
    return el(
      'li',
      { class: 'msg' + (mine ? ' mine' : '') + (mention ? ' mention' : ''), 'data-ms': String(ms), 'data-nick': lower(nick) },
      el('time', { datetime: new Date(ms).toISOString() }, time(ms)),
      ' ',
      who,
      ' ',
      el('span', { class: 'text' }, window.SalaShare.render(text) || styled(text)),
      note ? el('span', { class: 'note' }, ` (${note})`) : null
    );
  }

  function addMessage(pane, ms, nick, text, where, note) {
    const node = messageNode(ms, nick, text, note);
    const atBottom = pane.log.scrollHeight - pane.log.scrollTop - pane.log.clientHeight < 60;
    if (where === 'prepend') pane.messages.prepend(node);
    else pane.messages.append(node);
    if (where !== 'batch') decorate(pane);
    if (where === 'append') {
      if (pane.key !== state.active || document.hidden) {
        pane.unread += 1;
        renderMine();
      }
      if (atBottom) pane.log.scrollTop = pane.log.scrollHeight;
    }
  }

  // Day separators ("Today", "Yesterday", a date) and groups (one person's
  // lines close together show the name once), worked out again from the list.
  function decorate(pane) {
    for (const day of pane.messages.querySelectorAll('.day')) day.remove();
    let day = '';
    let prev = null;
    for (const li of [...pane.messages.children]) {
      if (!li.classList.contains('msg')) {
        prev = null;
        continue;
      }
      const ms = Number(li.dataset.ms);
      const label = dayLabel(ms);
      if (label !== day) {
        li.before(el('li', { class: 'day' }, el('span', {}, label)));
        day = label;
        prev = null;
      }
      const grouped = prev && prev.dataset.nick === li.dataset.nick && ms - Number(prev.dataset.ms) < GROUP_MS;
      li.classList.toggle('cont', Boolean(grouped));
      prev = li;
    }
  }

  function notice(pane, text) {
    pane.messages.append(el('li', { class: 'notice' }, plain(text)));
    pane.log.scrollTop = pane.log.scrollHeight;
  }

  function loadOlder(pane) {
    // Until the join's own page of history has come (oldest is still null),
    // there is nothing to page back from: asking now would fetch that same
    // latest page a second time (seen after a reconnect, as doubled history).
    if (pane.olderPending || pane.exhausted || !pane.joined || pane.oldest === null) return;
    pane.olderPending = true;
    send(`HISTORY ${pane.name} ${pane.oldest}`);
  }

  function endHistory(room) {
    const pane = state.panes.get('#' + lower(room));
    if (!pane) return;
    const page = pane.history;
    pane.history = [];
    if (page.length && (pane.oldest === null || page[0].ms < pane.oldest)) pane.oldest = page[0].ms;
    if (pane.olderPending) {
      // An older page goes on top; the view stays where the reader was.
      pane.olderPending = false;
      const before = pane.log.scrollHeight;
      for (let i = page.length - 1; i >= 0; i--) {
        addMessage(pane, page[i].ms, page[i].nick, page[i].text, 'prepend');
      }
      pane.log.scrollTop += pane.log.scrollHeight - before;
      if (page.length < PAGE || pane.oldest === null) {
        pane.exhausted = true;
        pane.older.hidden = true;
        pane.messages.prepend(el('li', { class: 'notice' }, 'This is the beginning of the room.'));
      }
      return;
    }
    for (const m of page) addMessage(pane, m.ms, m.nick, m.text, 'batch');
    decorate(pane);
    if (page.length < PAGE) {
      pane.exhausted = true;
      pane.older.hidden = true;
    }
    pane.log.scrollTop = pane.log.scrollHeight;
  }

  // ---- members, rooms, users -----------------------------------------------------
  function endMembers(room) {
    const key = lower(room);
    const list = state.members.get(key) || [];
    state.members.delete(key);
    const pane = state.panes.get('#' + key);
    if (!pane) return;
    pane.members = list;
    renderMembers(pane);
  }

  function removeMember(pane, nick) {
    pane.members = pane.members.filter((m) => lower(m) !== lower(nick));
    renderMembers(pane);
  }

  function renderMembers(pane) {
    const info = state.rooms.get(lower(pane.name));
    const owner = info ? info.owner : '';
    const list = pane.node.querySelector('.member-list');
    list.textContent = '';
    // The owner first, then everyone by name.
    const sorted = [...pane.members].sort((a, b) => {
      const ao = lower(a) === lower(owner);
      const bo = lower(b) === lower(owner);
      if (ao !== bo) return ao ? -1 : 1;
      return lower(a) < lower(b) ? -1 : lower(a) > lower(b) ? 1 : 0;
    });
    if (!sorted.length && document.body.classList.contains('offline')) {
      list.append(el('li', { class: 'hint' }, 'Not connected.'));
    }
    for (const nick of sorted) {
      const isOwner = lower(nick) === lower(owner);
      const button = el(
        'button',
        { type: 'button', class: `who ${nickClass(nick)}`, title: `Whisper to ${nick}` },
        nick
      );
      button.addEventListener('click', () => startWhisper(nick));
      const li = el(
        'li',
        { class: isOwner ? 'member owner' : 'member', 'data-nick': nick },
        button,
        isOwner ? el('span', { class: 'owner-mark', 'aria-label': 'owner', title: 'owner' }, ' ★ owner') : null
      );
      for (const hook of hooks.member) hook(pane, nick, li);
      list.append(li);
    }
    const mine = lower(owner) === lower(state.me);
    pane.node.querySelector('.delete').hidden = !mine;
    pane.node.querySelector('.pane-owner').textContent = owner ? `owner: ${owner}` : '';
    pane.node.querySelector('.members-toggle').textContent = `Members (${pane.members.length})`;
    pane.node.querySelector('.members-title').textContent = `Members (${pane.members.length})`;
  }

  function endRooms() {
    state.rooms = new Map(state.roomList.map((r) => [lower(r.name), r]));
    state.roomList = [];
    const list = $('rooms');
    list.textContent = '';
    let shown = 0;
    for (const room of state.rooms.values()) {
      // Rooms already open are under "Your conversations", not twice.
      if (state.panes.has('#' + lower(room.name))) continue;
      shown += 1;
      const button = el(
        'button',
        { type: 'button', class: 'item', onclick: () => joinRoom(room.name, '') },
        el('span', { class: 'name' }, `#${room.name}`),
        el('span', { class: 'count', 'aria-label': `${room.count} members` }, String(room.count))
      );
      list.append(el('li', { 'data-room': room.name }, button));
    }
    if (!shown) list.append(el('li', { class: 'hint' }, state.rooms.size ? 'No other rooms.' : 'No rooms yet.'));
    for (const pane of state.panes.values()) if (pane.kind === 'room') renderMembers(pane);
  }

  function endUsers() {
    const list = $('users');
    list.textContent = '';
    state.online = state.users.length;
    for (const nick of state.users) {
      if (lower(nick) === lower(state.me)) continue;
      const button = el('button', { type: 'button', class: 'item', onclick: () => startWhisper(nick) }, nick);
      list.append(el('li', { 'data-nick': nick }, button));
    }
    state.users = [];
  }

  // ---- user actions --------------------------------------------------------------
  function joinRoom(room, key) {
    const pane = state.panes.get('#' + lower(room));
    if (pane) {
      activate(pane.key);
      return;
    }
    state.opening = lower(room);
    if (key) state.keys.set(lower(room), key);
    send(key ? `JOIN ${room} ${key}` : `JOIN ${room}`);
  }

  function startWhisper(nick) {
    if (lower(nick) === lower(state.me)) return;
    activate(whisperPane(nick).key);
  }

  function wire() {
    // Files: attach, drop, paste, record (share.js), to the conversation on screen.
    window.SalaShare.init({
      send,
      alert: showAlert,
      target: () => {
        const pane = state.panes.get(state.active);
        if (!pane) return '';
        return pane.kind === 'room' ? pane.name : `@${pane.name}`;
      },
    });
    $('login-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const nick = $('login-nick').value.trim();
      const password = $('login-password').value.trim();
      if (/\s/.test(password)) {
        $('login-error').textContent = 'A password is one word, without spaces.';
        return;
      }
      state.wanted = { nick, password, register: $('login-register').checked };
      $('login-error').textContent = '';
      if (state.ws && state.ws.readyState === WebSocket.OPEN) sendNick();
    });
    $('join-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const room = $('join-room').value.trim();
      const key = $('join-key').value.trim();
      if (!room) return;
      joinRoom(room, key);
      $('join-room').value = '';
      $('join-key').value = '';
    });
    $('composer').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = $('composer-text');
      const text = input.value.trim();
      const pane = state.panes.get(state.active);
      if (!text || !pane) return;
      $('alert').hidden = true;
      const [head, tail, body] = composed(pane, text);
      const done = /^\/(?!me )/i.test(text) ? command(text) : sendText(head, body, tail);
      if (done) {
        input.value = '';
        updateCounter();
      }
    });
    $('composer-text').addEventListener('input', updateCounter);
    $('broadcast').addEventListener('click', () => {
      const input = $('composer-text');
      const text = input.value.trim();
      input.focus();
      if (!text) {
        showAlert('Write the broadcast in the message box first, then choose Broadcast.', 'info');
        return;
      }
      const who = state.online > 1 ? `all ${state.online} people connected` : 'everyone connected';
      if (!window.confirm(`Send this to ${who}, in every room?\n\n${text.slice(0, 200)}`)) return;
      if (sendText('BROADCAST ', text)) {
        input.value = '';
        updateCounter();
      }
    });
    $('alert-close').addEventListener('click', () => {
      $('alert').hidden = true;
      $('composer-text').focus();
    });
    $('register-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const password = $('register-password').value.trim();
      if (/\s/.test(password)) {
        showAlert('A password is one word, without spaces.');
        return;
      }
      if (state.wanted) state.wanted.pending = password;
      if (send(`REGISTER ${password}`)) $('register-password').value = '';
      $('account').open = false;
    });
    $('logout').addEventListener('click', () => {
      forgetSession(true);
      state.loggingOut = true;
      if (!send('QUIT logged out')) location.reload();
    });
    $('notify').addEventListener('click', async () => {
      await Notification.requestPermission();
      $('notify').hidden = Notification.permission !== 'default';
    });
    $('banner-close').addEventListener('click', () => {
      $('banner').hidden = true;
    });
    $('retry').addEventListener('click', () => {
      state.attempt = 0;
      connect();
    });
    $('menu').addEventListener('click', () => {
      const open = document.body.classList.toggle('show-side');
      $('menu').setAttribute('aria-expanded', String(open));
    });
    document.addEventListener('visibilitychange', () => {
      const pane = state.panes.get(state.active);
      if (!document.hidden && pane) {
        pane.unread = 0;
        renderMine();
      }
    });
  }

  // The message box's commands: /join, /msg, /me (see composed), /nick, /help.
  function command(text) {
    const [verb, rest] = words(text, 1);
    const help = 'Commands: /join room [key], /msg nick text, /me text, /nick new-name.';
    switch (lower(verb)) {
      case '/join': {
        const [room, key] = words(rest, 2);
        if (!room) return showAlert(`/join needs a room. ${help}`), false;
        joinRoom(room, key);
        return true;
      }
      case '/msg': {
        const [nick, body] = words(rest, 1);
        if (!nick || !body) return showAlert(`/msg needs a nick and a text. ${help}`), false;
        if (!sendText(`WHISPER ${nick} `, body)) return false;
        startWhisper(nick);
        return true;
      }
      case '/nick': {
        const [nick] = words(rest, 1);
        if (!nick) return showAlert(`/nick needs a new nickname. ${help}`), false;
        return send(`NICK ${nick}`);
      }
      case '/help':
        showAlert(help, 'info');
        return true;
      default:
        showAlert(`There is no command ${verb}. ${help}`);
        return false;
    }
  }

  // ---- the page's other scripts -------------------------------------------------
  // A script loaded before this one (moderation.js: roles, topic, settings,
  // invitations, transcripts) pushes a function onto window.SalaExtensions;
  // each is called here with window.Sala, before the connection opens. It
  // adds server-line handlers to `handlers` (wrapping ours where it needs the
  // same lines) and decorates panes and member rows through `hooks`: each
  // hooks.pane function gets a new pane, each hooks.member function a
  // member's row (pane, nick, li) before it is shown.
  const hooks = { pane: [], member: [] };
  window.Sala = {
    state,
    handlers,
    hooks,
    send,
    sendText,
    words,
    el,
    plain,
    styled,
    lower,
    showAlert,
    notice,
    renderMembers,
    joinRoom,
    loadSession,
  };
  for (const extend of window.SalaExtensions || []) extend(window.Sala);

  wire();
  connect();
  $('login-nick').focus();
})();
