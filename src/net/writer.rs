//! The writer thread: one thread `send`s for every connection, so that each
//! connection costs one thread (its reader), not two.
//!
//! The dispatcher pushes encoded events into a connection's [`Outbox`] and, when
//! the outbox was idle, tells the writer which connection has mail. The writer
//! drains that outbox into one buffer and `send`s it without blocking
//! (`MSG_DONTWAIT`). What the kernel will not take now waits, and the outbox is
//! not drained again until it is written: a reader that stops reading fills its
//! outbox, and the dispatcher cuts it off. `poll(2)` tells when a stalled socket
//! can take more. A peer that acknowledges nothing for the send timeout is cut
//! off too, here: it gets its `BYE` after the line being sent, if it takes it
//! within [`GOODBYE_TIME`].
//!
//! A connection is either raw CHAT/1 over TCP, whose lines go out as they
//! are, or CHAT/1 over WebSocket ([`crate::doors::web`]), whose every line goes out as
//! one text frame; the framing is the writer's job, so that the dispatcher
//! encodes each event once for every kind of client.
//!
//! [`Outbox`]: crate::net::outbox::Outbox

use crate::ids::ConnId;
use crate::net::outbox::{Bytes, Framing, Inbox, Item, Post, Session};
use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};
use log::{debug, warn};
use socket2::SockRef;
use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::protocol::frame::{Frame, FrameHeader};

/// Most bytes taken from one outbox per turn, so one busy connection cannot
/// hold up the others.
const TURN_BYTES: usize = 64 * 1024;
/// How long the writer waits for mail while some socket is stalled, before it
/// asks `poll(2)` whether the stalled ones can take more.
const STALL_TICK: Duration = Duration::from_millis(1);
/// How often, at most, a stalled socket is asked whether its peer took bytes.
const PROGRESS_CHECK: Duration = Duration::from_millis(250);
/// How long a connection that is cut off gets to take its goodbye line.
pub const GOODBYE_TIME: Duration = Duration::from_secs(2);

/// One connection, as the writer sees it.
#[derive(Debug)]
struct Mailbox {
    inbox: Inbox,
    socket: Arc<TcpStream>,
    framing: Framing,
    /// TLS: the state shared with the connection's reader; what is framed is
    /// encrypted under its lock, and `pending` then holds TLS records.
    tls: Option<Arc<Session>>,
    /// Its protocol's `BYE` for a peer dropped because it took nothing.
    goodbye: Bytes,
    /// A WebSocket connection's close frame is in `pending` (it goes last).
    closing: bool,
    /// Bytes taken from the inbox and not yet accepted by the kernel.
    pending: Vec<u8>,
    sent: usize,
    /// Where each item in `pending` ends, so that a cut falls between lines.
    ends: Vec<usize>,
    /// Where the connection's last item (its `BYE`) lies in `pending`, if taken.
    last: Option<(usize, usize)>,
    /// Bytes the kernel has accepted from us, ever.
    handed: u64,
    /// The kernel refuses more bytes (then it is in `Writer::stalled`).
    stalled: Option<Stall>,
    /// Cut off: only its goodbye is left to send, until this instant.
    dying: Option<Instant>,
    /// Waiting in `Writer::busy` for another turn.
    busy: bool,
    /// Listed in `Writer::stalled`, waiting for `poll`.
    polled: bool,
}

/// A socket whose send buffer is full. `poll(2)` calls it writable only once
/// a good part of that buffer (megabytes on a fast link) is free again, so a
/// peer that reads steadily may be taking bytes all along: what counts is
/// whether the peer acknowledges anything, which the kernel tells.
#[derive(Debug, Clone, Copy)]
struct Stall {
    /// The last time the peer was seen taking bytes (or the stall began).
    since: Instant,
    /// The last time the kernel was asked.
    checked: Instant,
    /// What the peer had acknowledged then ([`acknowledged`]).
    acked: i64,
}

/// What became of a connection after a turn.
#[derive(Debug, PartialEq, Eq)]
enum Turn {
    /// Everything queued was sent.
    Idle,
    /// Its turn is over but more is queued (or its end is near): serve it again soon.
    More,
    /// The kernel's send buffer is full; wait for `poll`.
    Stalled,
    /// The connection is finished (closed by the dispatcher, or broken).
    Done,
}

impl Mailbox {
    fn new(inbox: Inbox, socket: Arc<TcpStream>, framing: Framing, goodbye: Bytes) -> Mailbox {
        Mailbox {
            inbox,
            socket,
            framing,
            tls: None,
            goodbye,
            closing: false,
            pending: Vec::new(),
            sent: 0,
            ends: Vec::new(),
            last: None,
            handed: 0,
            stalled: None,
            dying: None,
            busy: false,
            polled: false,
        }
    }

    /// Sends what is pending; then takes at most [`TURN_BYTES`] from the inbox
    /// and sends that.
    fn turn(&mut self, id: ConnId) -> Turn {
        if let Some(stop) = self.flush_or_stop(id) {
            return stop;
        }
        if self.dying.is_some() {
            debug!("conn {id}: its goodbye went out");
            return Turn::Done;
        }
        self.pending.clear();
        self.ends.clear();
        self.last = None;
        self.sent = 0;
        // From here on, a push notifies the writer again.
        self.inbox.clear_ready();
        let mut taken = 0;
        let mut full = false;
        // TLS: the turn's lines are framed here first, then encrypted at once
        // (full-size records); without TLS they are framed straight into `pending`.
        let mut plain = Vec::new();
        let out = if self.tls.is_some() {
            &mut plain
        } else {
            &mut self.pending
        };
        let mut ends_last = false;
        while let Some(item) = self.inbox.try_recv() {
            let start = out.len();
            put(out, &item, self.framing);
            self.ends.push(out.len());
            if matches!(item, Item::Last(_)) {
                self.last = Some((start, out.len()));
                ends_last = true;
            }
            taken += 1;
            if out.len() >= TURN_BYTES {
                full = true;
                break;
            }
        }
        self.inbox.done(taken);
        if self.tls.is_some() {
            // What the reader made rustls want to send (an alert) goes out too.
            // A WebSocket's close_notify follows its close frame, later.
            self.seal(&plain, ends_last && self.framing == Framing::Raw);
            // `ends` and `last` count plain bytes: TLS keeps what it encrypted (cut_off).
        }
        if taken == 0 {
            if self.inbox.is_closed() && self.framing == Framing::WebSocket && !self.closing {
                // Everything up to the BYE has gone: end the WebSocket properly.
                self.closing = true;
                let mut frame = Vec::new();
                close_frame(&mut frame);
                self.seal(&frame, true);
                self.ends.push(self.pending.len());
                return self.flush_or_stop(id).unwrap_or(Turn::More);
            }
            if !self.pending.is_empty() {
                // TLS bytes of the reader's making only.
                if let Some(stop) = self.flush_or_stop(id) {
                    return stop;
                }
            }
            // An idle connection keeps no buffer.
            self.pending = Vec::new();
            self.ends = Vec::new();
            return if self.inbox.is_closed() {
                Turn::Done
            } else {
                Turn::Idle
            };
        }
        if let Some(stop) = self.flush_or_stop(id) {
            return stop;
        }
        // Left over, or closing (the next turn finds the end): come back later.
        if full || self.inbox.is_closed() {
            Turn::More
        } else {
            Turn::Idle
        }
    }

    /// Appends framed bytes to `pending`: as they are, or encrypted (under
    /// the lock, which only moves bytes in memory) with whatever else rustls
    /// has to send; `last` adds TLS's close_notify.
    fn seal(&mut self, framed: &[u8], last: bool) {
        let Some(tls) = &self.tls else {
            self.pending.extend_from_slice(framed);
            return;
        };
        let mut conn = tls.lock();
        let mut rest = framed;
        loop {
            // rustls takes what its send buffer's limit allows; the records
            // go into `pending` and it takes the rest.
            let took = conn.writer().write(rest).unwrap_or(0);
            rest = &rest[took..];
            if rest.is_empty() && last {
                conn.send_close_notify();
            }
            while conn.wants_write() {
                // Writing into a Vec cannot fail.
                if conn.write_tls(&mut self.pending).is_err() {
                    break;
                }
            }
            if rest.is_empty() {
                break;
            }
            if took == 0 && !conn.wants_write() {
                // Only after close_notify, which ends what is sent.
                warn!("TLS refused {} bytes after its close", rest.len());
                break;
            }
        }
    }

    /// Flushes; `None` when everything went out, else what became of the connection.
    fn flush_or_stop(&mut self, id: ConnId) -> Option<Turn> {
        match self.flush(id) {
            Ok(true) => None,
            Ok(false) => Some(Turn::Stalled),
            Err(e) => {
                debug!("send() conn {id} failed: {e}");
                Some(Turn::Done)
            }
        }
    }

    /// send(2) without blocking; true once all pending bytes are in the kernel.
    fn flush(&mut self, id: ConnId) -> std::io::Result<bool> {
        let socket = SockRef::from(&*self.socket);
        while self.sent < self.pending.len() {
            match socket.send_with_flags(
                &self.pending[self.sent..],
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            ) {
                Ok(n) => {
                    debug!("send() conn {id}: {n} bytes");
                    self.sent += n;
                    self.handed += n as u64;
                    // The peer is reading: the send timeout counts from now on.
                    self.stalled = None;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if self.stalled.is_none() {
                        let now = Instant::now();
                        self.stalled = Some(Stall {
                            since: now,
                            checked: now,
                            acked: acknowledged(&self.socket, self.handed),
                        });
                    }
                    return Ok(false);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// True when the peer of this stalled socket has taken no byte for
    /// `timeout`. Asks the kernel (every [`PROGRESS_CHECK`], or `timeout / 4`
    /// if shorter) whether it acknowledged anything since the last time.
    fn took_nothing_for(&mut self, timeout: Duration, now: Instant) -> bool {
        let Some(stall) = &mut self.stalled else {
            return false;
        };
        let every = (timeout / 4).min(PROGRESS_CHECK);
        let overdue = now.duration_since(stall.since) > timeout;
        if overdue || now.duration_since(stall.checked) >= every {
            stall.checked = now;
            let acked = acknowledged(&self.socket, self.handed);
            if acked != stall.acked {
                stall.acked = acked;
                stall.since = now;
            }
        }
        now.duration_since(stall.since) > timeout
    }

    /// The peer took nothing for too long: it is cut off. What is pending is
    /// kept only up to the end of the line being sent, its goodbye (the
    /// `BYE` the dispatcher queued, else [`Mailbox::goodbye`]) goes after
    /// that, and the socket has [`GOODBYE_TIME`] to take them. Its reader is
    /// stopped, so the dispatcher hears of it now.
    fn cut_off(&mut self, now: Instant) {
        // TLS records cannot be dropped once made (each has its sequence
        // number): everything encrypted stays, the goodbye goes after it.
        let keep = if self.tls.is_some() {
            self.pending.len()
        } else if self.sent == 0 {
            0
        } else {
            self.ends
                .iter()
                .copied()
                .find(|&end| end >= self.sent)
                .unwrap_or(self.pending.len())
        };
        let bye = match self.last {
            // The BYE was taken but not begun: it comes again after the cut.
            Some((start, end)) if start >= keep => Some(self.pending[start..end].to_vec()),
            // The BYE is being sent, or everything was (the close frame is pending).
            Some(_) => None,
            None if self.closing => None,
            None => {
                let mut last = None;
                let mut taken = 0;
                while let Some(item) = self.inbox.try_recv() {
                    taken += 1;
                    if let Item::Last(bytes) = item {
                        last = Some(bytes);
                    }
                }
                self.inbox.done(taken);
                let mut framed = Vec::new();
                let bye = last.unwrap_or_else(|| Arc::clone(&self.goodbye));
                put(&mut framed, &Item::Event(bye), self.framing);
                Some(framed)
            }
        };
        self.pending.truncate(keep);
        self.ends.retain(|&end| end <= keep);
        let mut end = bye.unwrap_or_default();
        // A WebSocket ends with a close frame, unless one is already on its way.
        if self.framing == Framing::WebSocket && !(self.closing && keep > 0) {
            close_frame(&mut end);
        }
        self.seal(&end, true);
        self.closing = true;
        self.dying = Some(now + GOODBYE_TIME);
        // shutdown(2) of the read side: the reader's recv returns 0 and it
        // ends, so the dispatcher tells room-mates now, not after the goodbye.
        let _ = self.socket.shutdown(Shutdown::Read);
    }
}

/// How many of the `handed` bytes the peer has acknowledged: ioctl(2)
/// `SIOCOUTQ` (`TIOCOUTQ`) says how many bytes in the socket's send queue
/// the peer has not acknowledged yet. Only its changes matter.
fn acknowledged(socket: &TcpStream, handed: u64) -> i64 {
    let mut unacked: libc::c_int = 0;
    // SAFETY: TIOCOUTQ writes one int through the pointer we pass.
    let ok = unsafe { libc::ioctl(socket.as_raw_fd(), libc::TIOCOUTQ, &raw mut unacked) } == 0;
    let handed = i64::try_from(handed).unwrap_or(i64::MAX);
    if ok {
        handed - i64::from(unacked)
    } else {
        handed
    }
}

/// The writer thread's state.
pub struct Writer {
    mail: Receiver<Post>,
    boxes: HashMap<ConnId, Mailbox>,
    /// Connections whose socket was full at their last turn.
    stalled: Vec<ConnId>,
    /// Connections with more queued than one turn takes, in turn order.
    busy: VecDeque<ConnId>,
    /// How long a socket may stay full before the connection is dropped.
    send_timeout: Duration,
}

impl Writer {
    /// A writer reading `mail`; a peer that takes nothing for `send_timeout` is dropped.
    pub fn new(mail: Receiver<Post>, send_timeout: Duration) -> Writer {
        Writer {
            mail,
            boxes: HashMap::new(),
            stalled: Vec::new(),
            busy: VecDeque::new(),
            send_timeout,
        }
    }

    /// Writes until every sender of mail is gone and every connection is finished.
    pub fn run(mut self) {
        loop {
            let post = if !self.busy.is_empty() {
                match self.mail.try_recv() {
                    Ok(post) => Some(post),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => break,
                }
            } else if self.stalled.is_empty() {
                match self.mail.recv() {
                    Ok(post) => Some(post),
                    Err(_) => break,
                }
            } else {
                match self.mail.recv_timeout(STALL_TICK) {
                    Ok(post) => Some(post),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            };
            if let Some(post) = post {
                self.handle(post);
                while let Ok(post) = self.mail.try_recv() {
                    self.handle(post);
                }
            }
            self.serve_busy();
            self.retry_stalled();
        }
        // Mail has stopped: the server is shutting down. Finish what is queued.
        let ids: Vec<ConnId> = self.boxes.keys().copied().collect();
        for id in ids {
            self.serve(id);
        }
        let deadline = Instant::now() + self.send_timeout.min(Duration::from_secs(2));
        while !(self.busy.is_empty() && self.stalled.is_empty()) && Instant::now() < deadline {
            self.serve_busy();
            if !self.stalled.is_empty() {
                self.wait_writable(STALL_TICK);
                self.retry_stalled();
            }
        }
        for (id, mailbox) in self.boxes.drain() {
            close(id, &mailbox);
        }
    }

    /// One more turn for each connection that had more queued.
    fn serve_busy(&mut self) {
        for _ in 0..self.busy.len() {
            if let Some(id) = self.busy.pop_front() {
                self.serve(id);
            }
        }
    }

    fn handle(&mut self, post: Post) {
        match post {
            Post::Open {
                id,
                inbox,
                socket,
                framing,
                tls,
                goodbye,
            } => {
                let mut mailbox = Mailbox::new(inbox, socket, framing, goodbye);
                mailbox.tls = tls;
                self.boxes.insert(id, mailbox);
            }
            // A stalled connection waits for poll; a busy one for its turn.
            Post::Ready(id) => {
                if self.boxes.get(&id).is_some_and(|m| !m.polled && !m.busy) {
                    self.serve(id);
                }
            }
        }
    }

    /// Gives connection `id` a turn and files it by the outcome.
    fn serve(&mut self, id: ConnId) {
        let Some(mailbox) = self.boxes.get_mut(&id) else {
            return;
        };
        let turn = mailbox.turn(id);
        mailbox.busy = turn == Turn::More;
        match turn {
            Turn::Idle => {}
            Turn::More => self.busy.push_back(id),
            Turn::Stalled => {
                if !mailbox.polled {
                    mailbox.polled = true;
                    self.stalled.push(id);
                }
            }
            Turn::Done => {
                if let Some(mailbox) = self.boxes.remove(&id) {
                    close(id, &mailbox);
                }
            }
        }
    }

    /// Gives stalled connections whose socket can take bytes again another
    /// turn; cuts off those whose peer took nothing for the send timeout,
    /// and drops those that did not take their goodbye in time.
    fn retry_stalled(&mut self) {
        if self.stalled.is_empty() {
            return;
        }
        let writable = self.wait_writable(Duration::ZERO);
        let now = Instant::now();
        let stalled = std::mem::take(&mut self.stalled);
        for (id, ready) in stalled.into_iter().zip(writable) {
            let Some(mailbox) = self.boxes.get_mut(&id) else {
                continue;
            };
            if ready {
                mailbox.polled = false;
                self.serve(id);
            } else if let Some(until) = mailbox.dying {
                if now < until {
                    self.stalled.push(id);
                } else {
                    warn!("conn {id}: did not take its goodbye within {GOODBYE_TIME:?}; dropped");
                    if let Some(mailbox) = self.boxes.remove(&id) {
                        close(id, &mailbox);
                    }
                }
            } else if mailbox.took_nothing_for(self.send_timeout, now) {
                warn!(
                    "conn {id}: peer took nothing for {:?}; cut off",
                    self.send_timeout
                );
                mailbox.cut_off(now);
                mailbox.polled = false;
                self.serve(id);
            } else {
                self.stalled.push(id);
            }
        }
    }

    /// poll(2): which stalled sockets can take bytes now (waiting at most `timeout`).
    fn wait_writable(&self, timeout: Duration) -> Vec<bool> {
        let mut fds: Vec<libc::pollfd> = self
            .stalled
            .iter()
            .map(|id| libc::pollfd {
                fd: self.boxes.get(id).map_or(-1, |m| m.socket.as_raw_fd()),
                events: libc::POLLOUT,
                revents: 0,
            })
            .collect();
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        let nfds = libc::nfds_t::try_from(fds.len()).unwrap_or(libc::nfds_t::MAX);
        // SAFETY: `fds` is a valid array of `nfds` pollfd structs that outlives the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), nfds, ms) };
        if n < 0 {
            return vec![true; fds.len()];
        }
        // An error or hang-up also counts: the next send reports it.
        fds.iter().map(|p| p.revents != 0).collect()
    }
}

/// Appends one queued item to `out`, framed for the connection: over a
/// WebSocket each of its lines becomes one text frame without its `\n`.
pub(crate) fn put(out: &mut Vec<u8>, item: &Item, framing: Framing) {
    match (item, framing) {
        // An event may be several lines (a MEMBERS list and its END): one frame each.
        (Item::Event(lines) | Item::Last(lines), Framing::WebSocket) => {
            let lines = lines.strip_suffix(b"\n").unwrap_or(lines);
            for text in lines.split(|&b| b == b'\n') {
                let header = FrameHeader {
                    is_final: true,
                    opcode: OpCode::Data(Data::Text),
                    ..FrameHeader::default()
                };
                // The header is made by tungstenite; the payload is copied once,
                // straight from the shared line. Writing into a Vec cannot fail.
                let _ = header.format(text.len() as u64, out);
                out.extend_from_slice(text);
            }
        }
        (Item::Event(bytes) | Item::Last(bytes) | Item::Framed(bytes), _) => {
            out.extend_from_slice(bytes);
        }
    }
}

/// Appends a WebSocket close frame (1000, normal closure) to `out`.
pub(crate) fn close_frame(out: &mut Vec<u8>) {
    let close = Frame::close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    }));
    // Writing into a Vec cannot fail.
    let _ = close.format(out);
}

/// shutdown(2): no more sends; the peer reads what was sent (its last line is BYE), then EOF.
fn close(id: ConnId, mailbox: &Mailbox) {
    debug!("shutdown() conn {id}");
    let _ = mailbox.socket.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::outbox::Outbox;
    use std::io::Cursor;
    use tungstenite::protocol::frame::coding::Control;

    /// Parses `bytes` back into frames with tungstenite: (opcode, payload) each.
    fn frames(bytes: &[u8]) -> Vec<(OpCode, Vec<u8>)> {
        let mut cursor = Cursor::new(bytes);
        let mut out = Vec::new();
        while (cursor.position() as usize) < bytes.len() {
            let (header, len) = FrameHeader::parse(&mut cursor)
                .expect("a valid header")
                .expect("a whole header");
            assert!(header.is_final && header.mask.is_none(), "{header:?}");
            let start = cursor.position() as usize;
            let end = start + usize::try_from(len).expect("fits");
            out.push((header.opcode, bytes[start..end].to_vec()));
            cursor.set_position(end as u64);
        }
        out
    }

    fn line(text: &str) -> Item {
        Item::Event(Arc::from(text.as_bytes()))
    }

    #[test]
    fn raw_lines_go_out_as_they_are() {
        let mut out = Vec::new();
        put(&mut out, &line("MSG r ana hi\n"), Framing::Raw);
        put(&mut out, &line("PONG\n"), Framing::Raw);
        assert_eq!(out, b"MSG r ana hi\nPONG\n");
    }

    #[test]
    fn each_line_is_one_text_frame_without_its_newline() {
        let mut out = Vec::new();
        put(&mut out, &line("MSG r ana <b>hi</b>\n"), Framing::WebSocket);
        put(&mut out, &line("PONG\n"), Framing::WebSocket);
        let text = OpCode::Data(Data::Text);
        assert_eq!(
            frames(&out),
            vec![
                (text, b"MSG r ana <b>hi</b>".to_vec()),
                (text, b"PONG".to_vec())
            ]
        );
        // A short line costs a two-byte header.
        assert_eq!(out.len(), 2 + 19 + 2 + 4);
    }

    #[test]
    fn an_event_of_several_lines_is_several_frames() {
        let mut out = Vec::new();
        put(
            &mut out,
            &line("USERS ana bob\nEND USERS\n"),
            Framing::WebSocket,
        );
        let text = OpCode::Data(Data::Text);
        assert_eq!(
            frames(&out),
            vec![
                (text, b"USERS ana bob".to_vec()),
                (text, b"END USERS".to_vec())
            ]
        );
    }

    #[test]
    fn long_lines_get_the_extended_length() {
        for n in [125, 126, 2100, 70_000] {
            let mut text = "x".repeat(n);
            text.push('\n');
            let mut out = Vec::new();
            put(&mut out, &line(&text), Framing::WebSocket);
            let got = frames(&out);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].1.len(), n);
        }
    }

    #[test]
    fn framed_bytes_are_not_framed_again() {
        let mut out = Vec::new();
        let pong: Vec<u8> = vec![0x8a, 0x01, b'x'];
        put(
            &mut out,
            &Item::Framed(Arc::from(&pong[..])),
            Framing::WebSocket,
        );
        assert_eq!(out, pong);
    }

    #[test]
    fn the_close_frame_says_normal_closure() {
        let mut out = Vec::new();
        close_frame(&mut out);
        let got = frames(&out);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, OpCode::Control(Control::Close));
        assert_eq!(&got[0].1[..2], &1000u16.to_be_bytes());
    }

    /// A mailbox over a real (loopback) socket, with `items` taken into
    /// `pending` as a turn would, `sent` bytes of them sent.
    fn mailbox(framing: Framing, items: &[Item], sent: usize) -> (Mailbox, Outbox, TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let peer = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (socket, _) = listener.accept().expect("accept");
        let (mail, _posts) = crossbeam_channel::unbounded();
        let (outbox, inbox) = crate::net::outbox::queue(1, 100, mail);
        let goodbye: Bytes = Arc::from(&b"BYE send timeout\n"[..]);
        let mut m = Mailbox::new(inbox, Arc::new(socket), framing, goodbye);
        for item in items {
            let start = m.pending.len();
            put(&mut m.pending, item, framing);
            m.ends.push(m.pending.len());
            if matches!(item, Item::Last(_)) {
                m.last = Some((start, m.pending.len()));
            }
        }
        m.sent = sent;
        (m, outbox, peer)
    }

    fn last(text: &str) -> Item {
        Item::Last(Arc::from(text.as_bytes()))
    }

    #[test]
    fn a_cut_keeps_the_line_being_sent_then_says_goodbye() {
        let items = [line("A1\n"), line("B22\n"), line("C333\n")];
        let (mut m, _outbox, _peer) = mailbox(Framing::Raw, &items, 5);
        m.cut_off(Instant::now());
        assert_eq!(m.pending, b"A1\nB22\nBYE send timeout\n");
        assert!(m.dying.is_some());
    }

    #[test]
    fn a_cut_before_anything_was_sent_leaves_only_the_goodbye() {
        let (mut m, _outbox, _peer) = mailbox(Framing::Raw, &[line("A1\n")], 0);
        m.cut_off(Instant::now());
        assert_eq!(m.pending, b"BYE send timeout\n");
    }

    #[test]
    fn the_bye_the_dispatcher_queued_is_the_goodbye() {
        // Taken into pending, not begun: it comes again after the cut.
        let items = [line("A1\n"), line("B22\n"), last("BYE send queue full\n")];
        let (mut m, _outbox, _peer) = mailbox(Framing::Raw, &items, 1);
        m.cut_off(Instant::now());
        assert_eq!(m.pending, b"A1\nBYE send queue full\n");
        // Still in the inbox.
        let (mut m, outbox, _peer) = mailbox(Framing::Raw, &[line("A1\n")], 1);
        let _ = outbox.push(&Arc::from(&b"B22\n"[..]));
        outbox.push_last(&Arc::from(&b"BYE send queue full\n"[..]));
        m.cut_off(Instant::now());
        assert_eq!(m.pending, b"A1\nBYE send queue full\n");
        // Being sent: nothing is added.
        let items = [line("A1\n"), last("BYE send queue full\n")];
        let (mut m, _outbox, _peer) = mailbox(Framing::Raw, &items, 5);
        m.cut_off(Instant::now());
        assert_eq!(m.pending, b"A1\nBYE send queue full\n");
    }

    #[test]
    fn a_cut_websocket_ends_with_its_bye_frame_and_a_close_frame() {
        let items = [line("A1\n"), line("B22\n")];
        let (mut m, _outbox, _peer) = mailbox(Framing::WebSocket, &items, 1);
        m.cut_off(Instant::now());
        let got = frames(&m.pending);
        let text = OpCode::Data(Data::Text);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], (text, b"A1".to_vec()));
        assert_eq!(got[1], (text, b"BYE send timeout".to_vec()));
        assert_eq!(got[2].0, OpCode::Control(Control::Close));
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Whatever lines an event holds (any text, any length), the
            /// WebSocket framing gives one whole text frame per line, in order,
            /// each exactly the line: no frame breaks or joins a line.
            #[test]
            fn every_line_is_one_whole_frame(lines in proptest::collection::vec("[^\n]{0,300}", 1..8), long in 0usize..70_000) {
                let mut lines = lines;
                lines.push("x".repeat(long));
                let mut event = lines.join("\n").into_bytes();
                event.push(b'\n');
                let mut out = Vec::new();
                put(&mut out, &Item::Event(Arc::from(event)), Framing::WebSocket);
                let got = frames(&out);
                prop_assert_eq!(got.len(), lines.len());
                for ((opcode, payload), line) in got.iter().zip(&lines) {
                    prop_assert_eq!(*opcode, OpCode::Data(Data::Text));
                    prop_assert_eq!(payload.as_slice(), line.as_bytes());
                }
            }
        }
    }
}
