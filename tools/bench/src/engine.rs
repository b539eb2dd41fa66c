//! The single-threaded client engine: one mio `Poll`, non-blocking sockets,
//! edge-triggered events, one shared 256 KiB read buffer, a write buffer per
//! connection that is flushed once per loop iteration. Each connection cuts
//! what it reads into lines with the server's own splitter
//! ([`sala::proto::lines::LineSplitter`]), so the bench reads by the rules the
//! server writes by.
//!
//! `Net` drives every simulated client through CHAT/1 setup
//! (connect → `WELCOME` → `NICK` → ack → `JOIN` → `END MEMBERS`) itself, with
//! at most `window` clients in setup at once, and hands room messages and
//! whispers from *other* users to a scenario `Handler`. The client's own
//! `MSG`/`WHISPER` echoes are counted here and never reach the handler.
//!
//! With TLS (`Net::set_tls`), each connection carries a rustls client: what
//! a scenario writes is plain text, encrypted when flushed; what is read is
//! decrypted before the splitter sees it.

use crate::wire::{self, Event};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rustls::ClientConnection;
use rustls::pki_types::ServerName;
use sala::proto::lines::{Frame, LineSplitter, MAX_LINE};
use std::collections::{BTreeMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const READ_BUF: usize = 256 * 1024;
const MAX_POLL_WAIT_NS: u64 = 100_000_000;
const PROGRESS_EVERY_NS: u64 = 1_000_000_000;

/// Life cycle of one simulated client.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum St {
    /// not opened (queued, or finished with and waiting to be reopened)
    Idle,
    Connecting,
    /// connected, waiting for `WELCOME`
    Welcome,
    /// `NICK` sent, waiting for the ack
    Nick,
    /// `JOIN` sent, waiting for `END MEMBERS`
    Joining,
    Ready,
    /// `QUIT` sent, waiting for the server to close
    Quitting,
    Closed,
    Failed,
}

impl St {
    pub fn in_setup(self) -> bool {
        matches!(self, St::Connecting | St::Welcome | St::Nick | St::Joining)
    }
}

pub struct Conn {
    sock: Option<TcpStream>,
    /// TLS: the client's rustls state (`wbuf` then holds plain text)
    tls: Option<Box<ClientConnection>>,
    pub st: St,
    pub nick: String,
    /// room to join after registering; empty: register only
    pub room: String,
    /// the partial line left by the last read
    lines: LineSplitter,
    wbuf: Vec<u8>,
    wpos: usize,
    dirty: bool,
    blocked: bool,
    /// ns (engine clock) when the connect started / the client became ready
    pub t_open: u64,
    pub t_ready: u64,
    /// last `BYE` text or error seen, for failure reasons
    last_note: Option<String>,
}

impl Conn {
    fn new(nick: String, room: String) -> Conn {
        Conn {
            sock: None,
            tls: None,
            st: St::Idle,
            nick,
            room,
            lines: LineSplitter::new(),
            wbuf: Vec::new(),
            wpos: 0,
            dirty: false,
            blocked: false,
            t_open: 0,
            t_ready: 0,
            last_note: None,
        }
    }
}

/// Scenario callbacks. `now` is ns on the engine clock (`Net::now`).
pub trait Handler {
    /// A client finished setup.
    fn on_ready(&mut self, _net: &mut Net, _idx: usize, _now: u64) {}
    /// `MSG` from another user.
    fn on_msg(&mut self, _net: &mut Net, _idx: usize, _from: &[u8], _text: &[u8], _now: u64) {}
    /// `WHISPER` from another user.
    fn on_whisper(&mut self, _net: &mut Net, _idx: usize, _from: &[u8], _text: &[u8], _now: u64) {}
    /// Any other line (`PONG`, listings...), after setup.
    fn on_other(&mut self, _net: &mut Net, _idx: usize, _line: &[u8], _now: u64) {}
    /// The kernel took everything buffered after a write had blocked.
    fn on_writable(&mut self, _net: &mut Net, _idx: usize) {}
    /// Once per loop iteration, after the events.
    fn tick(&mut self, _net: &mut Net, _now: u64) {}
    /// Engine time at which `tick` must run at the latest.
    fn next_wake(&self) -> Option<u64> {
        None
    }
    /// Scenario-specific part of the once-a-second progress line.
    fn progress(&mut self, _net: &Net, _now: u64) -> String {
        String::new()
    }
    fn done(&self, net: &Net) -> bool;
}

/// Waits until every queued client is ready or failed.
pub struct UntilSetUp;
impl Handler for UntilSetUp {
    fn done(&self, net: &Net) -> bool {
        net.open_queue.is_empty() && net.pending == 0
    }
}

/// Never done: runs to the deadline (settle periods).
pub struct Wait;
impl Handler for Wait {
    fn done(&self, _net: &Net) -> bool {
        false
    }
}

/// Done when no connection is open any more.
pub struct UntilClosed;
impl Handler for UntilClosed {
    fn done(&self, net: &Net) -> bool {
        net.conns.iter().all(|c| c.sock.is_none())
    }
}

/// How `Net::run` ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    Done,
    Deadline,
    /// the whole-process cap (`--max-seconds`) was reached
    HardDeadline,
    PollError,
}

#[derive(Default, Debug, Clone)]
pub struct Counters {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub lines_in: u64,
    pub msgs: u64,
    pub whispers: u64,
    /// own `MSG`/`WHISPER` coming back
    pub echoes: u64,
    pub err_lines: u64,
    pub closed_by_server: u64,
    /// lines over MAX_LINE, discarded by the splitter
    pub long_lines: u64,
    pub closed_clean: u64,
}

pub struct Net {
    poll: Poll,
    addr: SocketAddr,
    pub conns: Vec<Conn>,
    base: Instant,
    open_queue: VecDeque<usize>,
    dirty: Vec<usize>,
    /// connections that reached Closed/Failed, for scenarios that reuse them
    ended: Vec<usize>,
    /// failure reason -> count
    pub errors: BTreeMap<String, u64>,
    /// clients currently in setup / ready
    pub pending: usize,
    pub ready: usize,
    /// failures so far (a reopened client can fail again)
    pub failures: u64,
    window: usize,
    /// TLS: every connection is a TLS client with this configuration
    tls: Option<Arc<rustls::ClientConfig>>,
    pub c: Counters,
    scratch: Vec<u8>,
    hard_deadline: u64,
    pub phase: &'static str,
    show_progress: bool,
    last_progress: u64,
    verbose: bool,
}

impl Net {
    pub fn new(
        addr: SocketAddr,
        window: usize,
        base: Instant,
        hard_deadline: u64,
    ) -> std::io::Result<Net> {
        Ok(Net {
            poll: Poll::new()?,
            addr,
            conns: Vec::new(),
            base,
            open_queue: VecDeque::new(),
            dirty: Vec::new(),
            ended: Vec::new(),
            errors: BTreeMap::new(),
            pending: 0,
            ready: 0,
            failures: 0,
            window: window.max(1),
            tls: None,
            c: Counters::default(),
            scratch: vec![0u8; READ_BUF],
            hard_deadline,
            phase: "setup",
            show_progress: true,
            last_progress: 0,
            verbose: false,
        })
    }

    /// Every connection opened from now on speaks TLS, trusting as `config` says.
    pub fn set_tls(&mut self, config: Option<Arc<rustls::ClientConfig>>) {
        self.tls = config;
    }

    pub fn set_output(&mut self, progress: bool, verbose: bool) {
        self.show_progress = progress;
        self.verbose = verbose;
    }

    /// ns since the bench started (one monotonic clock for stamps and reads).
    #[inline]
    pub fn now(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Queue a new client; it is opened by `run` within the connect window.
    pub fn add(&mut self, nick: String, room: String) -> usize {
        self.conns.push(Conn::new(nick, room));
        let idx = self.conns.len() - 1;
        self.open_queue.push_back(idx);
        idx
    }

    /// Queue a Closed/Failed client to connect again under a new nick.
    pub fn reopen(&mut self, idx: usize, nick: String) {
        let room = std::mem::take(&mut self.conns[idx].room);
        self.conns[idx] = Conn::new(nick, room);
        self.open_queue.push_back(idx);
    }

    /// Clients that closed or failed since the last call.
    pub fn take_ended(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.ended)
    }

    fn set_state(&mut self, idx: usize, new: St) {
        let old = self.conns[idx].st;
        if old.in_setup() {
            self.pending -= 1;
        }
        if old == St::Ready {
            self.ready -= 1;
        }
        if new.in_setup() {
            self.pending += 1;
        }
        if new == St::Ready {
            self.ready += 1;
        }
        if matches!(new, St::Closed | St::Failed) {
            self.ended.push(idx);
        }
        self.conns[idx].st = new;
    }

    pub fn note_error(&mut self, why: String) {
        *self.errors.entry(why).or_insert(0) += 1;
    }

    fn drop_socket(&mut self, idx: usize) {
        if let Some(mut s) = self.conns[idx].sock.take() {
            // Deregistering a socket we are about to close cannot matter if it fails.
            let _ = self.poll.registry().deregister(&mut s);
        }
        let c = &mut self.conns[idx];
        c.wbuf = Vec::new();
        c.wpos = 0;
        c.lines = LineSplitter::new();
        c.blocked = false;
    }

    /// End a connection. While quitting, any end counts as a clean close;
    /// otherwise it is a failure with reason `why`.
    pub fn fail(&mut self, idx: usize, why: String) {
        match self.conns[idx].st {
            St::Idle | St::Closed | St::Failed => return,
            St::Quitting => {
                self.c.closed_clean += 1;
                self.drop_socket(idx);
                self.set_state(idx, St::Closed);
                return;
            }
            _ => {}
        }
        if self.verbose {
            eprintln!(
                "bench: client {} ({}) failed: {why}",
                idx, self.conns[idx].nick
            );
        }
        self.drop_socket(idx);
        self.set_state(idx, St::Failed);
        self.failures += 1;
        self.note_error(why);
    }

    /// Fail every client still queued or in setup (a phase ran out of time).
    pub fn fail_unfinished(&mut self, why: &str) {
        while let Some(idx) = self.open_queue.pop_front() {
            self.set_state(idx, St::Failed);
            self.failures += 1;
            self.note_error(format!("{why} (never opened)"));
        }
        for idx in 0..self.conns.len() {
            let st = self.conns[idx].st;
            if st.in_setup() {
                self.fail(idx, format!("{why} in {st:?}"));
            }
        }
    }

    fn open_more(&mut self) {
        while self.pending < self.window {
            let Some(idx) = self.open_queue.pop_front() else {
                return;
            };
            let now = self.now();
            self.conns[idx].t_open = now;
            self.set_state(idx, St::Connecting);
            match TcpStream::connect(self.addr) {
                Ok(mut s) => {
                    let reg = self.poll.registry().register(
                        &mut s,
                        Token(idx),
                        Interest::READABLE | Interest::WRITABLE,
                    );
                    self.conns[idx].sock = Some(s);
                    if let Err(e) = reg {
                        self.fail(idx, format!("register: {}", e.kind()));
                    }
                    if let Some(config) = &self.tls {
                        let name = ServerName::try_from("localhost").expect("a valid name");
                        match ClientConnection::new(Arc::clone(config), name) {
                            Ok(mut tls) => {
                                // The scenario bounds what it writes; rustls need not.
                                tls.set_buffer_limit(None);
                                self.conns[idx].tls = Some(Box::new(tls));
                            }
                            Err(e) => self.fail(idx, format!("tls: {e}")),
                        }
                    }
                }
                Err(e) => self.fail(idx, format!("connect: {e}")),
            }
        }
    }

    /// Append bytes to a client's write buffer (flushed after this iteration).
    pub fn send(&mut self, idx: usize, data: &[u8]) {
        if self.conns[idx].sock.is_none() {
            return;
        }
        self.conns[idx].wbuf.extend_from_slice(data);
        self.mark_dirty(idx);
    }

    /// Direct access to the write buffer (call `mark_dirty` afterwards).
    pub fn wbuf(&mut self, idx: usize) -> &mut Vec<u8> {
        &mut self.conns[idx].wbuf
    }

    pub fn mark_dirty(&mut self, idx: usize) {
        let c = &mut self.conns[idx];
        if !c.dirty {
            c.dirty = true;
            self.dirty.push(idx);
        }
    }

    /// Bytes buffered but not yet taken by the kernel.
    pub fn pending_out(&self, idx: usize) -> usize {
        let c = &self.conns[idx];
        c.wbuf.len() - c.wpos
    }

    /// The last write hit EAGAIN; a writable event will follow.
    pub fn is_blocked(&self, idx: usize) -> bool {
        self.conns[idx].blocked
    }

    /// Write as much as the socket takes. False if the connection died.
    pub fn flush(&mut self, idx: usize) -> bool {
        let c = &mut self.conns[idx];
        let Some(s) = c.sock.as_mut() else {
            return false;
        };
        if let Some(tls) = c.tls.as_mut() {
            // Plain text into rustls (held until the handshake is done), records out.
            if c.wpos < c.wbuf.len() {
                let _ = tls.writer().write_all(&c.wbuf[c.wpos..]);
                c.wbuf.clear();
                c.wpos = 0;
            }
            while tls.wants_write() {
                match tls.write_tls(s) {
                    Ok(n) => self.c.bytes_out += n as u64,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        c.blocked = true;
                        return true;
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.fail(idx, format!("write: {}", e.kind()));
                        return false;
                    }
                }
            }
            c.blocked = false;
            return true;
        }
        while c.wpos < c.wbuf.len() {
            match s.write(&c.wbuf[c.wpos..]) {
                Ok(0) => break,
                Ok(n) => {
                    c.wpos += n;
                    self.c.bytes_out += n as u64;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    c.blocked = true;
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.fail(idx, format!("write: {}", e.kind()));
                    return false;
                }
            }
        }
        c.wbuf.clear();
        c.wpos = 0;
        c.blocked = false;
        true
    }

    fn flush_dirty(&mut self) {
        let mut list = std::mem::take(&mut self.dirty);
        for &idx in &list {
            self.conns[idx].dirty = false;
            if !self.conns[idx].blocked {
                self.flush(idx);
            }
        }
        list.clear();
        if self.dirty.is_empty() {
            self.dirty = list;
        }
    }

    /// Send `QUIT` and wait for the server to close (state Quitting).
    pub fn quit(&mut self, idx: usize) {
        if self.conns[idx].sock.is_none() || matches!(self.conns[idx].st, St::Quitting) {
            return;
        }
        self.send(idx, b"QUIT bench done\n");
        self.set_state(idx, St::Quitting);
    }

    fn ready_now(&mut self, idx: usize, h: &mut dyn Handler) {
        let now = self.now();
        self.conns[idx].t_ready = now;
        self.set_state(idx, St::Ready);
        h.on_ready(self, idx, now);
    }

    fn registered(&mut self, idx: usize, h: &mut dyn Handler) {
        if self.conns[idx].room.is_empty() {
            self.ready_now(idx, h);
            return;
        }
        let line = format!("JOIN {}\n", self.conns[idx].room);
        self.send(idx, line.as_bytes());
        self.set_state(idx, St::Joining);
    }

    /// One frame of the splitter: a line, or a line it had to discard.
    fn on_frame(&mut self, idx: usize, frame: Frame, now: u64, h: &mut dyn Handler) {
        self.c.lines_in += 1;
        match frame {
            Frame::Line(line) => self.on_line(idx, line.as_bytes(), now, h),
            Frame::TooLong => {
                self.c.long_lines += 1;
                self.note_error(format!("server line over {MAX_LINE} bytes (discarded)"));
            }
            Frame::BadUtf8 => self.note_error("server line not UTF-8 (discarded)".into()),
        }
    }

    fn on_line(&mut self, idx: usize, line: &[u8], now: u64, h: &mut dyn Handler) {
        let st = self.conns[idx].st;
        match wire::parse_line(line) {
            Event::Msg { from, text } => {
                if from == self.conns[idx].nick.as_bytes() {
                    self.c.echoes += 1;
                } else {
                    self.c.msgs += 1;
                    h.on_msg(self, idx, from, text, now);
                }
            }
            Event::Whisper { from, text } => {
                if from == self.conns[idx].nick.as_bytes() {
                    self.c.echoes += 1;
                } else {
                    self.c.whispers += 1;
                    h.on_whisper(self, idx, from, text, now);
                }
            }
            Event::Welcome if st == St::Welcome => {
                let line = format!("NICK {}\n", self.conns[idx].nick);
                self.send(idx, line.as_bytes());
                self.set_state(idx, St::Nick);
            }
            Event::Nick { new } if st == St::Nick && new == self.conns[idx].nick.as_bytes() => {
                self.registered(idx, h)
            }
            Event::Ok { verb: b"NICK" } if st == St::Nick => self.registered(idx, h),
            Event::EndMembers if st == St::Joining => self.ready_now(idx, h),
            Event::Err { code } => self.on_err(idx, code),
            Event::Bye { text } => {
                self.conns[idx].last_note = Some(format!("BYE {}", String::from_utf8_lossy(text)));
            }
            _ if st == St::Ready => h.on_other(self, idx, line, now),
            _ => {}
        }
    }

    fn on_err(&mut self, idx: usize, code: &[u8]) {
        let st = self.conns[idx].st;
        if st == St::Quitting {
            return;
        }
        self.c.err_lines += 1;
        let why = format!("ERR {}", String::from_utf8_lossy(code));
        if st.in_setup() {
            self.fail(idx, why);
        } else {
            self.note_error(why);
        }
    }

    fn on_eof(&mut self, idx: usize) {
        if self.conns[idx].st != St::Quitting {
            self.c.closed_by_server += 1;
        }
        let why = match &self.conns[idx].last_note {
            Some(n) => format!("closed by server after {n}"),
            None => "closed by server".to_string(),
        };
        self.fail(idx, why);
    }

    /// Read until drained (or EOF). `closing`: the event said the peer hung up,
    /// so keep reading to EOF even after a short read.
    fn handle_readable(&mut self, idx: usize, closing: bool, h: &mut dyn Handler) {
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut lines = std::mem::take(&mut self.conns[idx].lines);
        while let Some(s) = self.conns[idx].sock.as_mut() {
            match s.read(&mut scratch) {
                Ok(0) => {
                    self.on_eof(idx);
                    break;
                }
                Ok(n) => {
                    self.c.bytes_in += n as u64;
                    let now = self.now();
                    if let Some(mut tls) = self.conns[idx].tls.take() {
                        let plain = match decrypt(&mut tls, &scratch[..n]) {
                            Ok(plain) => plain,
                            Err(e) => {
                                self.fail(idx, format!("tls: {e}"));
                                break;
                            }
                        };
                        let answer = tls.wants_write();
                        self.conns[idx].tls = Some(tls);
                        if answer {
                            // The handshake's next flight (or an alert).
                            self.mark_dirty(idx);
                        }
                        lines.feed(&plain, |f| self.on_frame(idx, f, now, h));
                    } else {
                        lines.feed(&scratch[..n], |f| self.on_frame(idx, f, now, h));
                    }
                    // A short read drained the socket; on Linux any later data
                    // raises a new edge, so skip the extra EAGAIN read.
                    if n < scratch.len() && !closing {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    if self.conns[idx].st != St::Quitting {
                        self.c.closed_by_server += 1;
                    }
                    self.fail(idx, format!("read: {}", e.kind()));
                    break;
                }
            }
        }
        if self.conns[idx].sock.is_some() {
            self.conns[idx].lines = lines;
        }
        self.scratch = scratch;
    }

    /// Finish a non-blocking connect. False if the socket is not usable yet.
    fn finish_connect(&mut self, idx: usize) -> bool {
        let Some(s) = self.conns[idx].sock.as_mut() else {
            return false;
        };
        match s.take_error() {
            Ok(Some(e)) | Err(e) => {
                self.fail(idx, format!("connect: {e}"));
                return false;
            }
            Ok(None) => {}
        }
        match s.peer_addr() {
            Ok(_) => {
                self.set_state(idx, St::Welcome);
                true
            }
            Err(e) if e.kind() == ErrorKind::NotConnected => false,
            Err(e) => {
                self.fail(idx, format!("connect: {e}"));
                false
            }
        }
    }

    fn handle_writable(&mut self, idx: usize, h: &mut dyn Handler) {
        if self.conns[idx].st == St::Connecting {
            if !self.finish_connect(idx) {
                return;
            }
            if self.conns[idx].tls.is_some() {
                // The ClientHello.
                self.flush(idx);
            }
        }
        if self.conns[idx].blocked {
            self.conns[idx].blocked = false;
            if self.flush(idx) && !self.conns[idx].blocked {
                h.on_writable(self, idx);
            }
        }
    }

    fn handle_event(&mut self, ev: &mio::event::Event, h: &mut dyn Handler) {
        let idx = ev.token().0;
        if idx >= self.conns.len() || self.conns[idx].sock.is_none() {
            return;
        }
        if ev.is_writable() || ev.is_error() {
            self.handle_writable(idx, h);
        }
        let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
        if readable && self.conns[idx].sock.is_some() && self.conns[idx].st != St::Connecting {
            self.handle_readable(idx, ev.is_read_closed() || ev.is_error(), h);
        }
    }

    fn maybe_progress(&mut self, h: &mut dyn Handler, now: u64) {
        if !self.show_progress || now < self.last_progress + PROGRESS_EVERY_NS {
            return;
        }
        self.last_progress = now;
        let extra = h.progress(self, now);
        eprintln!(
            "[{:7.1}s] {:<8} ready {} setup {} queued {} failed {}{}{}",
            now as f64 / 1e9,
            self.phase,
            self.ready,
            self.pending,
            self.open_queue.len(),
            self.failures,
            if extra.is_empty() { "" } else { " | " },
            extra
        );
    }

    /// Run the event loop until `h.done()`, `deadline` (engine ns) or the
    /// whole-process cap, whichever comes first.
    pub fn run(&mut self, h: &mut dyn Handler, deadline: u64) -> Outcome {
        let mut events = Events::with_capacity(4096);
        loop {
            self.open_more();
            if h.done(self) {
                self.flush_dirty();
                return Outcome::Done;
            }
            let now = self.now();
            if now >= self.hard_deadline {
                return Outcome::HardDeadline;
            }
            if now >= deadline {
                self.flush_dirty();
                return Outcome::Deadline;
            }
            self.maybe_progress(h, now);
            let mut until = deadline.min(self.hard_deadline);
            if self.show_progress {
                until = until.min(self.last_progress + PROGRESS_EVERY_NS);
            }
            let mut wait = until.saturating_sub(now).min(MAX_POLL_WAIT_NS);
            if let Some(w) = h.next_wake() {
                wait = wait.min(w.saturating_sub(now));
            }
            self.flush_dirty();
            let polled = self
                .poll
                .poll(&mut events, Some(Duration::from_nanos(wait)));
            if let Err(e) = polled
                && e.kind() != ErrorKind::Interrupted
            {
                eprintln!("bench: poll failed: {e}");
                return Outcome::PollError;
            }
            for ev in events.iter() {
                self.handle_event(ev, h);
            }
            let now = self.now();
            h.tick(self, now);
            self.flush_dirty();
        }
    }

    /// Send `QUIT` on every open connection, wait (bounded) until the server
    /// closed them, then drop the rest. Returns (closed by server, dropped).
    pub fn quit_all(&mut self, timeout_ns: u64) -> (u64, u64) {
        self.phase = "quit";
        self.open_queue.clear();
        for idx in 0..self.conns.len() {
            if self.conns[idx].st.in_setup() {
                self.fail(idx, "still in setup at quit".into());
            } else {
                self.quit(idx);
            }
        }
        let before = self.c.closed_clean;
        let deadline = self.now() + timeout_ns;
        self.run(&mut UntilClosed, deadline);
        let mut dropped = 0;
        for idx in 0..self.conns.len() {
            if self.conns[idx].sock.is_some() {
                dropped += 1;
                self.drop_socket(idx);
                self.set_state(idx, St::Closed);
            }
        }
        (self.c.closed_clean - before, dropped)
    }
}

/// Feeds received TLS bytes to `tls` and returns the plain text they held.
fn decrypt(tls: &mut ClientConnection, mut raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut plain = Vec::new();
    while !raw.is_empty() {
        tls.read_tls(&mut raw)?;
        tls.process_new_packets().map_err(std::io::Error::other)?;
        match tls.reader().read_to_end(&mut plain) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(plain)
}
