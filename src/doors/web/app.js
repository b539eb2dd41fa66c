// Sala's web client: CHAT/1 over a WebSocket, one line per text frame.
// Plain DOM code, no framework. Every text that comes from the server or
// from another user is put on the page with textContent, never as HTML, and
// never with a control character in it: IRC's formatting codes are shown as
// styles in messages (bold, italics, underline, strikethrough, monospace;
// colours and reverse are dropped) and dropped everywhere else.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const MAX_LINE = 2047; // bytes of one CHAT/1 line, without its "\n"
  const REFRESH_MS = 5000; // ROOMS and USERS are asked again this often
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 8000;
  const encoder = new TextEncoder();

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
      out.append(classes ? el('span', { class: classes }, run) : document.createTextNode(run));
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

  const lower = (s) => s.toLowerCase();
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

  function send(line) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
      showAlert('Not connected: the line was not sent.');
      return false;
    }
    if (encoder.encode(line).length > MAX_LINE) {
      showAlert('That message is too long.');
      return false;
    }
    state.ws.send(line);
    return true;
  }

  function setStatus(text, kind) {
    const status = $('status');
    status.textContent = plain(text);
    status.dataset.state = kind;
    if (kind === 'up') document.body.classList.remove('offline');
  }

  function showAlert(text) {
    const alert = $('alert');
    alert.textContent = plain(text);
    alert.hidden = false;
    clearTimeout(showAlert.timer);
    showAlert.timer = setTimeout(() => {
      alert.hidden = true;
    }, 6000);
  }

  // ---- server lines ------------------------------------------------------------
  const handlers = {
    WELCOME(line) {
      const [nick] = words(line, 1);
      state.me = nick;
      setStatus('Connected', 'up');
      if (state.wanted) sendNick();
    },
    NICK(line) {
      const [old, now] = words(line, 2);
      if (lower(old) === lower(state.me)) {
        state.me = now;
        showMe();
        if (!state.loggedIn && state.wanted && lower(now) === lower(state.wanted.nick)) {
          state.loggedIn = true;
          enterApp();
        } else if (state.loggedIn && state.rejoining) {
          state.rejoining = false;
          rejoin();
        }
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
        if (state.opening === lower(room)) {
          state.opening = '';
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
      if (pane) addMessage(pane, Date.now(), nick, text, 'append');
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
      const [what, nick] = words(line, 2);
      if (what === 'REGISTER') showAlert(`${nick} is now registered.`);
    },
    ERR(line) {
      const [code, text] = words(line, 1);
      const loginCodes = ['NICK_TAKEN', 'BAD_PASSWORD', 'BAD_NAME', 'NICK_RESERVED'];
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
    const { nick, password } = state.wanted;
    // After a reconnect the rooms we had open are joined again once the nick is ours.
    if (state.loggedIn) state.rejoining = true;
    send(password ? `NICK ${nick} ${password}` : `NICK ${nick}`);
  }

  function enterApp() {
    $('login').hidden = true;
    $('app').hidden = false;
    $('login-error').textContent = '';
    if (state.wanted.register && state.wanted.password) send(`REGISTER ${state.wanted.password}`);
    showMe();
    refresh();
    $('join-room').focus();
  }

  function showMe() {
    $('me').textContent = state.loggedIn ? `You are ${state.me}` : '';
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
    $('panes').insertBefore(node, $('composer'));
    state.panes.set(key, pane);
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
    pane.unread = 0;
    renderMine();
    showComposer(pane);
    pane.log.scrollTop = pane.log.scrollHeight;
    document.body.classList.remove('show-side');
    $('menu').setAttribute('aria-expanded', 'false');
    $('composer-text').focus();
  }

  function showComposer(pane) {
    $('composer').hidden = !pane;
    $('empty').hidden = Boolean(pane);
    if (pane) {
      $('composer-label').textContent =
        pane.kind === 'room' ? `Message to #${pane.name}` : `Whisper to ${pane.name}`;
    }
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
  }

  // ---- messages ---------------------------------------------------------------
  function messageNode(ms, nick, text, note) {
    const who = el('button', { type: 'button', class: 'who', title: `Whisper to ${nick}` }, nick);
    who.addEventListener('click', () => startWhisper(nick));
    const mine = lower(nick) === lower(state.me);
    return el(
      'li',
      { class: mine ? 'msg mine' : 'msg' },
      el('time', { datetime: new Date(ms).toISOString() }, time(ms)),
      ' ',
      who,
      ' ',
      el('span', { class: 'text' }, styled(text)),
      note ? el('span', { class: 'note' }, ` (${note})`) : null
    );
  }

  function addMessage(pane, ms, nick, text, where, note) {
    const node = messageNode(ms, nick, text, note);
    const atBottom = pane.log.scrollHeight - pane.log.scrollTop - pane.log.clientHeight < 60;
    if (where === 'prepend') pane.messages.prepend(node);
    else pane.messages.append(node);
    if (where === 'append') {
      if (pane.key !== state.active || document.hidden) {
        pane.unread += 1;
        renderMine();
      }
      if (atBottom) pane.log.scrollTop = pane.log.scrollHeight;
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
      if (!page.length || pane.oldest === null) {
        pane.exhausted = true;
        pane.older.hidden = true;
        pane.messages.prepend(el('li', { class: 'notice' }, 'This is the beginning of the room.'));
      }
      return;
    }
    for (const m of page) addMessage(pane, m.ms, m.nick, m.text, 'history');
    if (!page.length) {
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
    for (const nick of pane.members) {
      const isOwner = lower(nick) === lower(owner);
      const button = el(
        'button',
        { type: 'button', class: 'who', title: `Whisper to ${nick}` },
        nick
      );
      button.addEventListener('click', () => startWhisper(nick));
      list.append(
        el(
          'li',
          { class: isOwner ? 'member owner' : 'member', 'data-nick': nick },
          button,
          isOwner ? el('span', { class: 'owner-mark', 'aria-label': 'owner', title: 'owner' }, ' ★ owner') : null
        )
      );
    }
    const mine = lower(owner) === lower(state.me);
    pane.node.querySelector('.delete').hidden = !mine;
    pane.node.querySelector('.pane-owner').textContent = owner ? `owner: ${owner}` : '';
    pane.node.querySelector('.members-toggle').textContent = `Members (${pane.members.length})`;
  }

  function endRooms() {
    state.rooms = new Map(state.roomList.map((r) => [lower(r.name), r]));
    state.roomList = [];
    const list = $('rooms');
    list.textContent = '';
    for (const room of state.rooms.values()) {
      const joined = state.panes.has('#' + lower(room.name));
      const button = el(
        'button',
        { type: 'button', class: 'item', onclick: () => joinRoom(room.name, '') },
        el('span', { class: 'name' }, `#${room.name}`),
        el('span', { class: 'count', 'aria-label': `${room.count} members` }, String(room.count))
      );
      if (joined) button.setAttribute('aria-current', 'true');
      list.append(el('li', { 'data-room': room.name }, button));
    }
    if (!state.rooms.size) list.append(el('li', { class: 'hint' }, 'No rooms yet.'));
    for (const pane of state.panes.values()) if (pane.kind === 'room') renderMembers(pane);
  }

  function endUsers() {
    const list = $('users');
    list.textContent = '';
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
      const line = pane.kind === 'room' ? `SAY ${pane.name} ${text}` : `WHISPER ${pane.name} ${text}`;
      if (send(line)) input.value = '';
    });
    $('broadcast').addEventListener('click', () => {
      const input = $('composer-text');
      const text = input.value.trim();
      if (text && send(`BROADCAST ${text}`)) input.value = '';
      input.focus();
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

  wire();
  connect();
  $('login-nick').focus();
})();
