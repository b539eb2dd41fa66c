// Sala's web client, shared files (docs/protocol.md, "Files"): attach,
// drag and drop, paste, voice notes (MediaRecorder), one upload at a time
// with a progress bar and Cancel; and file messages shown as a thumbnail,
// a player or a card. app.js calls window.SalaShare; nothing here touches
// the chat's own state. As in app.js, every text from others goes on the
// page with textContent, and only this server's own /files/<id>/ addresses
// are shown inline (the page's Content-Security-Policy allows no other).
'use strict';

window.SalaShare = (function () {
  const $ = (id) => document.getElementById(id);
  // "[file] <name> (<size> bytes, <type>) <url>" (src/proto/files.rs, message_text)
  const FILE_RE = /^\[file\] (.+) \((\d+) bytes, ([a-z0-9.+-]+\/[a-z0-9.+-]+)\) (https?:\/\/\S+)$/i;
  const ID_RE = /^\/files\/[0-9a-f]{32}(\/|$)/;
  const FILE_CODES = ['FILE_TOO_LARGE', 'QUOTA_FULL', 'NO_FILES', 'NOT_MEMBER', 'NO_SUCH_ROOM', 'NO_SUCH_USER', 'BAD_TEXT', 'MISSING_ARGUMENT'];
  let hooks = null; // {send, alert, target}
  const queue = []; // uploads waiting for their OK UPLOAD, oldest first
  let recorder = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === 'class') node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function size(n) {
    if (n < 1024) return `${n} B`;
    const units = ['KiB', 'MiB', 'GiB'];
    let v = n / 1024;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u += 1;
    }
    return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
  }

  // A file name as the protocol takes it: no control characters, no path.
  function cleanName(name) {
    const cleaned = String(name || '')
      .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029/\\]/g, '_')
      .trim()
      .slice(0, 100);
    return cleaned && cleaned !== '.' && cleaned !== '..' ? cleaned : 'file';
  }

  // ---- showing file messages ------------------------------------------------
  // The node that shows a file message, or null if `text` is not one.
  function render(text) {
    const m = FILE_RE.exec(text);
    if (!m) return null;
    const [, name, bytes, kind, url] = m;
    let path = null;
    try {
      const u = new URL(url);
      if ((u.protocol === 'http:' || u.protocol === 'https:') && ID_RE.test(u.pathname)) path = u.pathname;
    } catch (e) {
      path = null;
    }
    if (!path) return null;
    const label = `${name}, ${size(Number(bytes))}`;
    const link = el('a', { href: path, download: '', class: 'file-link', rel: 'noopener noreferrer' }, `Download ${name}`);
    const meta = el('span', { class: 'file-meta' }, ` ${size(Number(bytes))}, ${kind}`);
    const card = el('span', { class: 'file-card', 'data-kind': kind.split('/')[0] });
    if (kind.startsWith('image/')) {
      const open = el('a', { href: path, target: '_blank', rel: 'noopener noreferrer', class: 'thumb-link' });
      open.append(el('img', { src: path, alt: `Image: ${name}`, class: 'thumb', loading: 'lazy' }));
      card.append(open, el('span', { class: 'file-name' }, name), meta, ' ', link);
    } else if (kind.startsWith('audio/')) {
      card.append(el('span', { class: 'file-name' }, name), meta, el('audio', { controls: '', preload: 'metadata', src: path, 'aria-label': `Voice note or audio: ${label}` }), link);
    } else if (kind.startsWith('video/')) {
      card.append(el('span', { class: 'file-name' }, name), meta, el('video', { controls: '', preload: 'metadata', src: path, 'aria-label': `Video: ${label}`, class: 'thumb' }), link);
    } else {
      card.append(el('span', { class: 'file-icon', 'aria-hidden': 'true' }, '📄'), el('span', { class: 'file-name' }, name), meta, ' ', link);
    }
    return card;
  }

  // ---- sending ----------------------------------------------------------------
  function row(upload) {
    const bar = el('progress', { max: '100', value: '0', 'aria-label': `Sending ${upload.name}` });
    const text = el('span', { class: 'upload-text' }, `${upload.name} (${size(upload.file.size)}): waiting…`);
    const cancel = el('button', { type: 'button', class: 'quiet' }, 'Cancel');
    cancel.addEventListener('click', () => stop(upload, 'Cancelled.'));
    const node = el('li', { class: 'upload' }, text, ' ', bar, ' ', cancel);
    $('uploads').append(node);
    $('uploads').hidden = false;
    Object.assign(upload, { node, bar, text });
  }

  function done(upload) {
    const i = queue.indexOf(upload);
    if (i >= 0) queue.splice(i, 1);
    if (upload.node) upload.node.remove();
    if (!$('uploads').children.length) $('uploads').hidden = true;
  }

  function stop(upload, why) {
    if (upload.xhr) upload.xhr.abort();
    upload.cancelled = true;
    // An upload still waiting for its address stays queued, so that the
    // OK UPLOAD it gets is not taken for the next one; that answer is ignored.
    if (upload.asked && !upload.xhr) {
      upload.node.remove();
      if (!$('uploads').children.length) $('uploads').hidden = true;
    } else {
      done(upload);
    }
    if (why) hooks.alert(why, 'info');
  }

  // Sends `files` to the conversation on screen.
  function send(files) {
    if (!hooks) return;
    const target = hooks.target();
    if (!target) {
      hooks.alert('Open a room or a whisper first, then attach the file.', 'info');
      return;
    }
    for (const file of files) {
      const upload = { file, name: cleanName(file.name), target, asked: true };
      row(upload);
      queue.push(upload);
      if (!hooks.send(`UPLOAD ${target} ${file.size} ${upload.name}`)) stop(upload, 'Not connected: the file was not sent.');
    }
  }

  // OK UPLOAD <url>: the address for the oldest upload waiting.
  function okUpload(url) {
    const upload = queue.find((u) => u.asked);
    if (!upload) return;
    upload.asked = false;
    if (upload.cancelled) {
      done(upload);
      // Cancelled while it waited for its address: give the address back,
      // so that the quota it holds is free at once.
      try {
        fetch(new URL(url).pathname, { method: 'DELETE' }).catch(() => {});
      } catch (e) {
        // A bad address holds nothing to give back.
      }
      return;
    }
    let path;
    try {
      path = new URL(url).pathname;
    } catch (e) {
      stop(upload, 'The server gave no upload address.');
      return;
    }
    const xhr = new XMLHttpRequest();
    upload.xhr = xhr;
    upload.text.textContent = `${upload.name} (${size(upload.file.size)}): sending…`;
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) upload.bar.value = Math.floor((100 * event.loaded) / event.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status === 201) done(upload);
      else {
        const why = xhr.responseText.replace(/^\d+ [^:]*: /, '').trim();
        done(upload);
        hooks.alert(`${upload.name} was not sent: ${why || xhr.status}`);
      }
    });
    xhr.addEventListener('error', () => {
      done(upload);
      hooks.alert(`${upload.name} was not sent: the connection failed.`);
    });
    xhr.open('PUT', path);
    xhr.setRequestHeader('Content-Type', upload.file.type || 'application/octet-stream');
    xhr.send(upload.file);
  }

  // An ERR line: if it answers an UPLOAD, says so and returns true.
  function refused(code, text) {
    if (!FILE_CODES.includes(code)) return false;
    const upload = queue.find((u) => u.asked);
    if (!upload) return false;
    done(upload);
    if (!upload.cancelled) hooks.alert(`${upload.name} was not sent: ${text}`);
    return true;
  }

  // ---- voice notes --------------------------------------------------------------
  async function record() {
    const button = $('record');
    if (recorder) {
      recorder.stop();
      return;
    }
    if (!window.isSecureContext) {
      hooks.alert('Voice notes need a secure page: open this chat over https:// (or on localhost). Browsers give the microphone to secure pages only.');
      return;
    }
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      hooks.alert('This browser cannot record voice notes.');
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      hooks.alert(`The microphone was not available (${e.name}): allow it for this page to record a voice note.`);
      return;
    }
    const chunks = [];
    const type = MediaRecorder.isTypeSupported('audio/webm') ? 'audio/webm' : '';
    recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
    recorder.addEventListener('dataavailable', (event) => {
      if (event.data.size) chunks.push(event.data);
    });
    recorder.addEventListener('stop', () => {
      for (const track of stream.getTracks()) track.stop();
      recorder = null;
      button.textContent = 'Record';
      button.setAttribute('aria-pressed', 'false');
      const kind = (chunks[0] && chunks[0].type.split(';')[0]) || 'audio/webm';
      const ext = kind === 'audio/ogg' ? 'ogg' : kind === 'audio/mp4' ? 'm4a' : 'weba';
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
      send([new File(chunks, `voice-note-${stamp}.${ext}`, { type: kind })]);
    });
    recorder.start();
    button.textContent = 'Stop and send';
    button.setAttribute('aria-pressed', 'true');
  }

  // ---- wiring ---------------------------------------------------------------------
  function init(given) {
    hooks = given;
    const input = $('attach-input');
    $('attach').addEventListener('click', () => input.click());
    input.addEventListener('change', () => {
      send([...input.files]);
      input.value = '';
    });
    $('record').addEventListener('click', record);
    const panes = $('panes');
    panes.addEventListener('dragover', (event) => {
      if (event.dataTransfer && [...event.dataTransfer.types].includes('Files')) {
        event.preventDefault();
        panes.classList.add('dropping');
      }
    });
    panes.addEventListener('dragleave', () => panes.classList.remove('dropping'));
    panes.addEventListener('drop', (event) => {
      panes.classList.remove('dropping');
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      event.preventDefault();
      send([...event.dataTransfer.files]);
    });
    $('composer-text').addEventListener('paste', (event) => {
      const files = event.clipboardData ? [...event.clipboardData.files] : [];
      if (!files.length) return;
      event.preventDefault();
      send(files.map((f, i) => (f.name && f.name !== 'image.png' ? f : new File([f], `pasted-${Date.now()}-${i}.${(f.type.split('/')[1] || 'bin')}`, { type: f.type }))));
    });
  }

  return { init, render, okUpload, refused, send };
})();
