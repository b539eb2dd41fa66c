// Sala's web client, room moderation (issue 13; docs/protocol.md,
// "Moderation"): the topic in the room's header (operators edit it), roles in
// the member list (@ operator, + voice, muted) with a menu for operators, the
// room settings dialog (SET/UNSET), invitations, the slow-mode hint, clear
// words for the moderation refusals, and "Save transcript" (the room's whole
// history, paged back with HISTORY, saved as a text file from the browser).
// Loaded before app.js, which calls the function below with its small
// surface (window.Sala) before it connects. Roles are learnt with
// `SETTINGS <room>` after each join and kept current from the events.
'use strict';

(window.SalaExtensions = window.SalaExtensions || []).push(function moderation(S) {
  const { state, handlers, hooks, send, words, el, plain, lower, showAlert, notice } = S;
  const $ = (id) => document.getElementById(id);
  // The settings that are on or off, with what each does (docs/protocol.md, SET).
  const FLAGS = [
    ['topic-lock', 'Only operators change the topic'],
    ['moderated', 'Moderated: only operators and voiced members write'],
    ['invite-only', 'Invite-only: only invited people join'],
    ['secret', 'Secret: hidden from the room list for non-members'],
    ['no-outside', 'No messages from outside the room'],
  ];
  const SAID = {
    'topic-lock': ['locked the topic (only operators change it)', 'unlocked the topic (any member may change it)'],
    moderated: ['made the room moderated: only operators and voiced members write', 'ended moderation: everyone writes'],
    'invite-only': ['made the room invite-only', 'opened the room to everyone (invite-only off)'],
    secret: ['made the room secret', 'made the room visible (secret off)'],
    'no-outside': ['closed the room to messages from outside', 'opened the room to messages from outside'],
    limit: ['set the member limit to', 'removed the member limit'],
    slow: ['set slow mode: seconds between two messages:', 'turned slow mode off'],
    key: ['set a key on the room', 'removed the room key'],
  };
  // The moderation refusals in the reader's words (docs/protocol.md, "Error codes").
  const REFUSED = {
    NOT_OPERATOR: 'Only an operator of the room can do that.',
    BANNED: 'You are banned from that room.',
    INVITE_ONLY: 'That room is invite-only: ask one of its operators to invite you.',
    ROOM_FULL: 'That room is full: it has reached its member limit.',
    MODERATED: 'The room is moderated: only operators and members with a voice can write. Ask an operator for a voice.',
    MUTED: 'You are muted in this room: you can read it but not write.',
    NOT_ADMIN: 'Only a server admin can do that.',
    BAD_SETTING: 'That setting or value was not accepted.',
  };
  const SILENCED = ['MUTED', 'MODERATED', 'BANNED', 'SLOW_MODE'];

  // ---- what the page knows of a room's moderation -------------------------------
  function fresh() {
    const lists = { bans: [], mutes: [], excepts: [], allows: [] };
    return { topic: null, settings: new Map(), owner: '', ops: new Set(), voice: new Set(), ...lists };
  }
  // pane.mod: the room as known; pane.asked: a SETTINGS reply being read
  // (pane.asking: how many are still to come); pane.quietTopic: the TOPIC
  // lines of a join are the room's state, not news.
  function mod(pane) {
    if (!pane.mod) pane.mod = fresh();
    return pane.mod;
  }
  const roomPane = (room) => {
    const pane = state.panes.get('#' + lower(room));
    return pane && pane.kind === 'room' ? pane : null;
  };
  const isOp = (pane, nick) => {
    const m = mod(pane);
    return lower(nick) === m.owner || m.ops.has(lower(nick));
  };
  const amOp = (pane) => isOp(pane, state.me);

  // `*` any run, `?` one character, letters in any case (docs/protocol.md, "Masks").
  function glob(pattern, text) {
    const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    return new RegExp(`^${re}$`, 'i').test(text);
  }
  // Whether a mask surely matches a member of the page: the nick part matches
  // and it names no address (the page knows nobody's address; a web or
  // CHAT/1 user's user name is their nick).
  function maskMatches(mask, nick) {
    const [n, userHost = '*@*'] = mask.split('!');
    const [user = '*', host = '*'] = userHost.split('@');
    return glob(n, nick) && glob(user, nick) && host === '*';
  }
  const isMuted = (pane, nick) => mod(pane).mutes.some((m) => maskMatches(m.mask, nick));

  // Asks for the room's settings again shortly (once for a burst of joins).
  function askSoon(pane) {
    if (pane.askTimer) return;
    pane.askTimer = setTimeout(() => {
      pane.askTimer = 0;
      if (state.panes.get(pane.key) === pane) ask(pane);
    }, 300);
  }
  function ask(pane) {
    if (!send(`SETTINGS ${pane.name}`)) return;
    if (!pane.asked) pane.asked = fresh();
    pane.asking = (pane.asking || 0) + 1;
  }

  // Everything on screen that depends on the room's moderation.
  function show(pane) {
    showTopic(pane);
    const op = amOp(pane);
    pane.node.querySelector('.settings-open').hidden = !op;
    S.renderMembers(pane);
    if (state.settingsPane === pane && $('room-settings')) fillLists(pane); // the fields being edited stay
  }

  // ---- the topic -------------------------------------------------------------------
  function mayEditTopic(pane) {
    return amOp(pane) || !mod(pane).settings.has('topic-lock');
  }
  function showTopic(pane) {
    const box = pane.node.querySelector('.pane-topic');
    if (box.querySelector('form')) return; // being edited: left alone
    box.textContent = '';
    const topic = mod(pane).topic;
    const text = topic ? plain(topic.text) : '';
    if (mayEditTopic(pane)) {
      const button = el(
        'button',
        { type: 'button', class: 'topic-edit', title: `Change the topic of #${pane.name}` },
        el('span', { class: 'sr-only' }, 'Topic (choose to change): '),
        text || 'Set a topic…'
      );
      button.addEventListener('click', () => editTopic(pane));
      box.append(button);
    } else if (text) {
      box.append(el('span', { class: 'sr-only' }, 'Topic: '), el('span', { class: 'topic-text' }, text));
    }
    if (topic && text) box.title = `Set by ${topic.by}, ${new Date(topic.ms).toLocaleString()}`;
    else box.removeAttribute('title');
  }
  function editTopic(pane) {
    const box = pane.node.querySelector('.pane-topic');
    const id = `topic-${lower(pane.name)}`;
    const input = el('input', { id, maxlength: '390', autocomplete: 'off' });
    input.value = mod(pane).topic ? plain(mod(pane).topic.text) : '';
    const done = () => {
      box.textContent = '';
      showTopic(pane);
    };
    const form = el(
      'form',
      { class: 'topic-form', autocomplete: 'off' },
      el('label', { for: id, class: 'sr-only' }, `Topic of #${pane.name} (empty clears it)`),
      input,
      el('button', { type: 'submit' }, 'Save topic'),
      el('button', { type: 'button', class: 'quiet', onclick: done }, 'Cancel')
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (send(text ? `TOPIC ${pane.name} ${text}` : `TOPIC ${pane.name}`)) done();
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') done();
    });
    box.textContent = '';
    box.append(form);
    input.focus();
  }

  // ---- a pane's own controls ---------------------------------------------------------
  hooks.pane.push((pane) => {
    if (pane.kind !== 'room') return;
    mod(pane);
    const head = pane.node.querySelector('.pane-head');
    head.querySelector('.pane-owner').after(el('p', { class: 'pane-topic' }));
    const actions = head.querySelector('.pane-actions');
    const settings = el('button', { type: 'button', class: 'settings-open', hidden: '' }, 'Room settings');
    settings.addEventListener('click', () => openSettings(pane));
    const save = el('button', { type: 'button', class: 'transcript' }, 'Save transcript');
    save.addEventListener('click', () => startTranscript(pane));
    actions.prepend(settings, save);
    // Invite someone: any member (an operator in an invite-only room).
    const id = `invite-${lower(pane.name)}`;
    const input = el('input', { id, required: '', maxlength: '24', autocomplete: 'off' });
    const form = el(
      'form',
      { class: 'invite-form', autocomplete: 'off' },
      el('label', { for: id }, 'Invite someone'),
      input,
      el('button', { type: 'submit' }, 'Invite')
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const nick = input.value.trim();
      if (nick && send(`INVITE ${pane.name} ${nick}`)) input.value = '';
    });
    pane.node.querySelector('.members').append(form);
    showTopic(pane);
  });

  // ---- roles in the member list, and the operators' menu ------------------------------
  hooks.member.push((pane, nick, li) => {
    if (pane.kind !== 'room') return;
    const m = mod(pane);
    const key = lower(nick);
    const op = isOp(pane, nick);
    const voiced = m.voice.has(key);
    // A mute silences neither an operator nor a voiced member (docs/protocol.md, MUTE).
    const muted = !op && !voiced && isMuted(pane, nick);
    const roles = [op ? 'op' : '', voiced ? 'voice' : '', muted ? 'muted' : ''].filter(Boolean);
    li.dataset.roles = roles.join(' ');
    const marks = (op ? '@' : '') + (voiced ? '+' : '');
    const said = [op ? 'operator' : '', voiced ? 'voice' : ''].filter(Boolean).join(', ');
    if (marks) {
      li.prepend(
        el('span', { class: 'role-mark', title: said, 'aria-hidden': 'true' }, marks),
        el('span', { class: 'sr-only' }, `${said}: `)
      );
    }
    if (muted) li.append(el('span', { class: 'muted-mark' }, ' muted'));
    if (!amOp(pane) || key === lower(state.me)) return;
    // The operator's menu: a disclosure, kept open across re-renders.
    const act = (label, lines, ask) => {
      const button = el('button', { type: 'button' }, label);
      button.addEventListener('click', () => {
        if (ask && !window.confirm(ask)) return;
        pane.menu = '';
        for (const line of lines) send(line);
      });
      return button;
    };
    const r = pane.name;
    const owner = key === m.owner;
    // Mute silences: a voice, which passes mutes, goes first. The owner is
    // always an operator: never deopped, muted or banned, but may be kicked.
    const mute = voiced ? [`DEVOICE ${r} ${nick}`, `MUTE ${r} ${nick}`] : [`MUTE ${r} ${nick}`];
    const items = [
      owner ? null : op ? act('Remove operator', [`DEOP ${r} ${nick}`]) : act('Make operator', [`OP ${r} ${nick}`]),
      voiced ? act('Take voice', [`DEVOICE ${r} ${nick}`]) : act('Give voice', [`VOICE ${r} ${nick}`]),
      owner ? null : isMuted(pane, nick) ? act('Unmute', [`UNMUTE ${r} ${nick}`]) : act('Mute', mute),
      act('Kick', [`KICK ${r} ${nick}`]),
      owner ? null : act('Ban', [`BAN ${r} ${nick}`, `KICK ${r} ${nick}`], `Ban ${nick} from #${r} and remove them now?`),
    ].filter(Boolean);
    const menu = el(
      'details',
      { class: 'member-menu' },
      el('summary', {}, el('span', { 'aria-hidden': 'true' }, '⋯'), el('span', { class: 'sr-only' }, `Actions for ${nick}`)),
      el('div', { class: 'member-actions' }, ...items)
    );
    if (pane.menu === key) menu.open = true;
    // Noted at once: a re-render may come before the toggle event.
    menu.querySelector('summary').addEventListener('click', () => {
      pane.menu = menu.open ? '' : key;
    });
    menu.addEventListener('toggle', () => {
      if (menu.open) pane.menu = key;
      else if (pane.menu === key) pane.menu = '';
    });
    li.append(menu);
  });

  // ---- server lines ------------------------------------------------------------------
  // TOPIC <room> <by> <unix-ms> [<text>]: a change, the joiner's, or in SETTINGS.
  handlers.TOPIC = (line) => {
    const [room, by, ms, text] = words(line, 3);
    const pane = roomPane(room);
    if (!pane) return;
    const topic = text ? { by, ms: Number(ms), text } : null;
    // A SETTINGS reply repeats the topic known; a change is news.
    const news = !pane.quietTopic && JSON.stringify(topic) !== JSON.stringify(mod(pane).topic);
    if (pane.asked) pane.asked.topic = topic;
    mod(pane).topic = topic;
    if (news) notice(pane, topic ? `${by} set the topic: ${text}` : `${by} cleared the topic`);
    showTopic(pane);
  };
  handlers.SETTING = (line) => {
    const [room, name, value] = words(line, 2);
    const pane = roomPane(room);
    if (pane && pane.asked) pane.asked.settings.set(name, value);
  };
  handlers.ROLE = (line) => {
    const [room, nick, role] = words(line, 2);
    const pane = roomPane(room);
    if (!pane || !pane.asked) return;
    if (role === 'owner') pane.asked.owner = lower(nick);
    else if (role === 'op') pane.asked.ops.add(lower(nick));
    else if (role === 'voice') pane.asked.voice.add(lower(nick));
  };
  // BAN, MUTE, EXCEPT and ALLOW <room> <mask> <by> <unix-ms>: the lists in a SETTINGS reply.
  const LISTS = [
    // verb, list, its name, the verb that lifts a mask, the button that lifts it
    ['BAN', 'bans', 'Bans', 'UNBAN', 'Unban'],
    ['MUTE', 'mutes', 'Mutes', 'UNMUTE', 'Unmute'],
    ['EXCEPT', 'excepts', 'Exempt from bans (and, as m:mask, from mutes)', 'UNEXCEPT', 'Remove exemption'],
    ['ALLOW', 'allows', 'Let past invite-only', 'DISALLOW', 'Remove'],
  ];
  for (const [verb, list] of LISTS) {
    handlers[verb] = (line) => {
      const [room, mask, by, ms] = words(line, 4);
      const pane = roomPane(room);
      if (pane && pane.asked) pane.asked[list].push({ mask, by, ms: Number(ms) });
    };
  }
  function endSettings(room) {
    const pane = roomPane(room);
    if (!pane || !pane.asked) return;
    const topic = pane.asked.topic || null;
    pane.mod = pane.asked;
    pane.mod.topic = topic;
    pane.asking = Math.max(0, (pane.asking || 0) - 1);
    pane.asked = pane.asking ? fresh() : null; // the next reply's
    pane.quietTopic = false;
    show(pane);
  }
  // SET <room> <setting> <by> [<value>], UNSET <room> <setting> <by>.
  handlers.SET = (line) => {
    const [room, name, by, value] = words(line, 3);
    const pane = roomPane(room);
    if (!pane) return;
    mod(pane).settings.set(name, value);
    const [on] = SAID[name] || [`set ${name}`];
    notice(pane, `${by} ${on}${value && name !== 'key' ? ` ${value}` : ''}`);
    show(pane);
  };
  handlers.UNSET = (line) => {
    const [room, name, by] = words(line, 3);
    const pane = roomPane(room);
    if (!pane) return;
    mod(pane).settings.delete(name);
    const off = (SAID[name] || [])[1] || `turned ${name} off`;
    notice(pane, `${by} ${off}`);
    show(pane);
  };
  // OPPED, DEOPPED, VOICED, DEVOICED <room> <nick> <by>.
  const ROLE_EVENTS = {
    OPPED: ['ops', true, 'made', 'an operator'],
    DEOPPED: ['ops', false, 'removed', 'as an operator'],
    VOICED: ['voice', true, 'gave', 'a voice'],
    DEVOICED: ['voice', false, 'took the voice of', ''],
  };
  for (const [verb, [set, on, did, what]] of Object.entries(ROLE_EVENTS)) {
    handlers[verb] = (line) => {
      const [room, nick, by] = words(line, 3);
      const pane = roomPane(room);
      if (!pane) return;
      if (on) mod(pane)[set].add(lower(nick));
      else mod(pane)[set].delete(lower(nick));
      const whom = lower(nick) === lower(state.me) ? 'you' : nick;
      notice(pane, `${by} ${did} ${whom}${what ? ' ' + what : ''}`);
      show(pane);
    };
  }
  // MUTED, UNMUTED, BANNED, UNBANNED, EXCEPTED, UNEXCEPTED, ALLOWED, DISALLOWED <room> <mask> <by>.
  const MASK_EVENTS = {
    MUTED: ['mutes', true, 'muted'],
    UNMUTED: ['mutes', false, 'unmuted'],
    BANNED: ['bans', true, 'banned'],
    UNBANNED: ['bans', false, 'unbanned'],
    EXCEPTED: ['excepts', true, 'exempted from bans'],
    UNEXCEPTED: ['excepts', false, 'no longer exempts from bans'],
    ALLOWED: ['allows', true, 'let past invite-only'],
    DISALLOWED: ['allows', false, 'no longer lets past invite-only'],
  };
  for (const [verb, [list, on, did]] of Object.entries(MASK_EVENTS)) {
    handlers[verb] = (line) => {
      const [room, mask, by] = words(line, 3);
      const pane = roomPane(room);
      if (!pane) return;
      const m = mod(pane);
      m[list] = m[list].filter((x) => lower(x.mask) !== lower(mask));
      if (on) m[list].push({ mask, by, ms: Date.now() });
      const me = on && (list === 'bans' || list === 'mutes') && maskMatches(mask, state.me) && !amOp(pane);
      notice(pane, `${by} ${did} ${mask}` + (me ? ' (that is you)' : ''));
      show(pane);
    };
  }
  // INVITED <room> <nick> <by>: to the invited user and to every member.
  handlers.INVITED = (line) => {
    const [room, nick, by] = words(line, 3);
    const pane = roomPane(room);
    if (lower(nick) !== lower(state.me) || (pane && pane.joined)) {
      if (pane) notice(pane, `${by} invited ${nick}`);
      return;
    }
    showInvitation(room, by);
  };

  const base = { JOIN: handlers.JOIN, NICK: handlers.NICK, END: handlers.END, HISTORY: handlers.HISTORY, ERR: handlers.ERR };
  handlers.JOIN = (line) => {
    const [room, nick] = words(line, 2);
    base.JOIN(line);
    const pane = roomPane(room);
    if (!pane) return;
    if (lower(nick) === lower(state.me)) {
      // A new page of the room: what it is set to, who has which role.
      pane.mod = fresh();
      pane.asked = null;
      pane.asking = 0;
      pane.quietTopic = true;
      dropInvitation(room);
      ask(pane);
    } else {
      askSoon(pane); // an account's role comes back with it
    }
  };
  handlers.NICK = (line) => {
    const [, now] = words(line, 2);
    base.NICK(line);
    // A new name ends the old one's roles (unless the server says otherwise).
    for (const pane of state.panes.values()) {
      if (pane.kind === 'room' && pane.members.some((m) => lower(m) === lower(now))) askSoon(pane);
    }
  };
  handlers.END = (line) => {
    const [what, room] = words(line, 1);
    if (what === 'SETTINGS') return endSettings(room);
    if (what === 'HISTORY') {
      const pane = roomPane(room);
      if (pane && pane.transcript) return transcriptPage(pane);
    }
    return base.END(line);
  };
  handlers.HISTORY = (line) => {
    const [room, ms, nick, text] = words(line, 3);
    const pane = roomPane(room);
    if (pane && pane.transcript) pane.transcript.page.push({ ms: Number(ms), nick, text });
    else base.HISTORY(line);
  };
  handlers.ERR = (line) => {
    const [code, text] = words(line, 1);
    if (SILENCED.includes(code)) giveBackText();
    if (code === 'SLOW_MODE') return slowHint(parseInt(text, 10));
    if (code === 'NOT_MEMBER' || code === 'NO_SUCH_ROOM') stopTranscripts(text);
    if (!REFUSED[code]) return base.ERR(line);
    if (['BANNED', 'INVITE_ONLY', 'ROOM_FULL'].includes(code)) state.opening = '';
    return showAlert(`${REFUSED[code]} (${plain(text)})`);
  };

  // ---- a refused message goes back into the box ---------------------------------------
  // The box is emptied when a message is sent; if the room refuses it
  // (muted, moderated, banned, slow mode), the text comes back to be sent later.
  let lastSent = { text: '', at: 0 };
  document.addEventListener(
    'submit',
    (event) => {
      if (event.target.id === 'composer') lastSent = { text: $('composer-text').value, at: Date.now() };
    },
    true
  );
  function giveBackText() {
    const input = $('composer-text');
    if (!input.value && lastSent.text && Date.now() - lastSent.at < 10000) input.value = lastSent.text;
    lastSent = { text: '', at: 0 };
  }

  // ---- the slow-mode hint ---------------------------------------------------------------
  const slow = { timer: 0, until: 0 };
  function slowHint(seconds) {
    const hint = $('slow-hint');
    clearInterval(slow.timer);
    if (!(seconds > 0)) seconds = 1;
    slow.until = Date.now() + seconds * 1000;
    const tick = () => {
      const left = Math.ceil((slow.until - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(slow.timer);
        hint.hidden = true;
        hint.textContent = '';
        return;
      }
      const text = `Slow mode: you can write again in ${left} s`;
      if (hint.textContent !== text) hint.textContent = text;
      hint.hidden = false;
    };
    tick();
    slow.timer = setInterval(tick, 250);
  }

  // ---- invitations --------------------------------------------------------------------------
  function showInvitation(room, by) {
    dropInvitation(room);
    const join = el('button', { type: 'button' }, `Join #${room}`);
    const close = el('button', { type: 'button', class: 'quiet', 'aria-label': `Dismiss the invitation to #${room}` }, '×');
    const item = el('div', { class: 'invite', 'data-room': lower(room) }, el('p', {}, `${by} invited you to #${room}`), join, close);
    join.addEventListener('click', () => {
      item.remove();
      S.joinRoom(room, '');
    });
    close.addEventListener('click', () => item.remove());
    $('invites').append(item);
  }
  function dropInvitation(room) {
    for (const item of $('invites').querySelectorAll('.invite')) {
      if (item.dataset.room === lower(room)) item.remove();
    }
  }

  // ---- the settings dialog ---------------------------------------------------------------------
  // The dialog is on the page only while open (its fields would otherwise
  // stand beside the join form's, "Key" among them).
  function openSettings(pane) {
    if ($('room-settings')) $('room-settings').remove();
    state.settingsPane = pane;
    const dialog = buildSettings();
    fillSettings(pane);
    dialog.showModal();
  }
  function fillSettings(pane) {
    const m = mod(pane);
    $('room-settings-title').textContent = `Settings of #${pane.name}`;
    for (const [name] of FLAGS) $(`setting-${name}`).checked = m.settings.has(name);
    $('setting-limit').value = m.settings.get('limit') || '';
    $('setting-slow').value = m.settings.get('slow') || '';
    $('setting-key').value = '';
    $('setting-nokey').checked = false;
    fillLists(pane);
  }
  // What the form's fields do not hold: whether there is a key, the bans and mutes.
  function fillLists(pane) {
    const m = mod(pane);
    $('setting-nokey').disabled = !m.settings.has('key');
    $('setting-key-now').textContent = m.settings.has('key') ? 'The room has a key now.' : 'The room has no key now.';
    const lists = $('setting-lists');
    lists.textContent = '';
    for (const [, list, what, undo, label] of LISTS) {
      const ul = el('ul', { class: 'masks' });
      for (const x of m[list]) {
        const lift = el('button', { type: 'button', class: 'quiet' }, `${label} ${x.mask}`);
        lift.addEventListener('click', () => send(`${undo} ${pane.name} ${x.mask}`));
        ul.append(el('li', {}, el('code', {}, x.mask), ` by ${x.by} `, lift));
      }
      if (!m[list].length) ul.append(el('li', { class: 'hint' }, 'None.'));
      lists.append(el('h3', {}, what), ul);
    }
  }
  // The lines that take the room from what it is set to to what the form says.
  function settingLines(pane) {
    const m = mod(pane);
    const r = pane.name;
    const out = [];
    for (const [name] of FLAGS) {
      const want = $(`setting-${name}`).checked;
      if (want !== m.settings.has(name)) out.push(want ? `SET ${r} ${name}` : `UNSET ${r} ${name}`);
    }
    for (const name of ['limit', 'slow']) {
      const want = $(`setting-${name}`).value.trim();
      const now = m.settings.get(name) || '';
      if (want === now) continue;
      out.push(want ? `SET ${r} ${name} ${want}` : `UNSET ${r} ${name}`);
    }
    const key = $('setting-key').value.trim();
    if (key) {
      out.push(`SET ${r} key ${key}`);
      state.keys.set(lower(r), key); // to rejoin after a reconnect
    } else if ($('setting-nokey').checked && m.settings.has('key')) {
      out.push(`UNSET ${r} key`);
      state.keys.delete(lower(r));
    }
    return out;
  }
  function wireSettings() {
    const dialog = $('room-settings');
    $('room-settings-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const pane = state.settingsPane;
      if (pane && state.panes.get(pane.key) === pane) {
        if (/[\s,]/.test($('setting-key').value.trim())) {
          $('setting-error').textContent = 'A key is one word, without spaces or commas.';
          return;
        }
        for (const line of settingLines(pane)) send(line);
      }
      $('setting-error').textContent = '';
      dialog.close();
    });
    $('room-settings-cancel').addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      if ($('room-settings')) return; // another one opened meanwhile
      state.settingsPane = null;
      const pane = [...state.panes.values()].find((p) => p.key === state.active);
      const back = pane && pane.node.querySelector('.settings-open');
      if (back && !back.hidden) back.focus();
    });
    $('room-settings-mask').addEventListener('submit', (event) => {
      event.preventDefault();
      const pane = state.settingsPane;
      const who = $('setting-mask').value.trim();
      const verb = (event.submitter && event.submitter.value) || 'BAN';
      if (pane && who && send(`${verb} ${pane.name} ${who}`)) $('setting-mask').value = '';
    });
  }

  // ---- Save transcript -----------------------------------------------------------------
  // Pages back from the latest message with HISTORY until a page comes back
  // empty, then saves "<room>-YYYY-MM-DD.txt" from the browser (a Blob).
  // While it runs, the pane's own "Load older messages" waits (olderPending).
  function startTranscript(pane) {
    if (pane.transcript) return;
    if (!pane.joined || pane.olderPending || (pane.oldest === null && !pane.exhausted)) {
      showAlert('The room is still loading; try again in a moment.', 'info');
      return;
    }
    if (!send(`HISTORY ${pane.name}`)) return;
    pane.transcript = { pages: [], page: [] }; // pages: newest first
    pane.olderPending = true;
    const button = pane.node.querySelector('.transcript');
    button.disabled = true;
    button.textContent = 'Saving transcript…';
  }
  function transcriptPage(pane) {
    const t = pane.transcript;
    const page = t.page;
    t.page = [];
    if (page.length) {
      t.pages.push(page);
      send(`HISTORY ${pane.name} ${page[0].ms}`);
      return;
    }
    endTranscript(pane);
    download(pane.name, t.pages.reverse().flat());
  }
  function endTranscript(pane) {
    pane.transcript = null;
    pane.olderPending = false;
    const button = pane.node.querySelector('.transcript');
    button.disabled = false;
    button.textContent = 'Save transcript';
  }
  function stopTranscripts(text) {
    for (const pane of state.panes.values()) {
      if (pane.transcript && new RegExp(`\\b${pane.name}\\b`, 'i').test(text)) endTranscript(pane);
    }
  }
  const two = (n) => String(n).padStart(2, '0');
  const day = (d) => `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
  const stamp = (d) => `${day(d)} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  function download(room, lines) {
    const now = new Date();
    const seen = new Set();
    const body = [`Transcript of #${room}, saved ${stamp(now)} by ${state.me}`, ''];
    for (const m of lines) {
      const id = `${m.ms} ${m.nick} ${m.text}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const action = /^\x01ACTION (.*?)\x01?$/s.exec(m.text);
      const said = action ? `* ${m.nick} ${plain(action[1])}` : `${m.nick}: ${plain(m.text)}`;
      body.push(`${stamp(new Date(m.ms))} ${said}`);
    }
    if (!seen.size) body.push('(no messages)');
    const blob = new Blob([body.join('\n') + '\n'], { type: 'text/plain;charset=utf-8' });
    const href = URL.createObjectURL(blob);
    const link = el('a', { href, download: `${room}-${day(now)}.txt`, hidden: '' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(href), 60000);
    showAlert(`Saved ${seen.size} messages of #${room} as ${room}-${day(now)}.txt.`, 'info');
  }

  // ---- the page's shared parts: the hint, invitations, the dialog -------------------------------
  function build() {
    const count = $('composer-count');
    count.after(el('p', { id: 'slow-hint', class: 'slow-hint', role: 'status', 'aria-live': 'polite', hidden: '' }));
    $('banner').after(el('div', { id: 'invites', class: 'invites', role: 'status', 'aria-live': 'polite' }));
  }
  function buildSettings() {
    const flag = ([name, what]) =>
      el('label', { class: 'check', for: `setting-${name}` }, el('input', { id: `setting-${name}`, type: 'checkbox' }), what);
    const field = (id, label, attrs) => [el('label', { for: id }, label), el('input', { id, ...attrs })];
    const dialog = el(
      'dialog',
      { id: 'room-settings', class: 'room-settings', 'aria-labelledby': 'room-settings-title' },
      el(
        'form',
        { id: 'room-settings-form', autocomplete: 'off' },
        el('h2', { id: 'room-settings-title' }, 'Room settings'),
        el('fieldset', {}, el('legend', {}, 'Who may do what'), ...FLAGS.map(flag)),
        ...field('setting-limit', 'Member limit (empty: no limit)', { type: 'number', min: '1', max: '100000', inputmode: 'numeric' }),
        ...field('setting-slow', 'Slow mode: seconds between two messages (empty: off)', {
          type: 'number',
          min: '1',
          max: '86400',
          inputmode: 'numeric',
        }),
        el('p', { id: 'setting-key-now', class: 'hint' }),
        ...field('setting-key', 'New key (empty: unchanged)', { type: 'password', autocomplete: 'off' }),
        el('label', { class: 'check', for: 'setting-nokey' }, el('input', { id: 'setting-nokey', type: 'checkbox' }), 'Remove the key'),
        el('p', { id: 'setting-error', class: 'error', role: 'alert' }),
        el('div', { class: 'dialog-buttons' }, el('button', { type: 'submit' }, 'Save settings'), el('button', { type: 'button', id: 'room-settings-cancel' }, 'Cancel'))
      ),
      el(
        'form',
        { id: 'room-settings-mask', class: 'mask-form', autocomplete: 'off' },
        el('label', { for: 'setting-mask' }, 'A nick or a mask (nick!user@host, * and ? match)'),
        el('input', { id: 'setting-mask', required: '', maxlength: '100' }),
        el('button', { type: 'submit', value: 'BAN' }, 'Ban'),
        el('button', { type: 'submit', value: 'MUTE' }, 'Mute'),
        el('button', { type: 'submit', value: 'EXCEPT' }, 'Exempt from bans'),
        el('button', { type: 'submit', value: 'ALLOW' }, 'Let past invite-only')
      ),
      el('div', { id: 'setting-lists' })
    );
    document.body.append(dialog);
    wireSettings();
    return dialog;
  }
  build();
});
