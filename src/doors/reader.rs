//! One accepted connection's thread, for every door that speaks in lines: it
//! blocks in `recv`, splits and parses lines as the door's [`Speech`] says
//! (CHAT/1, IRC), and hands the commands to the dispatcher. (Its `send`s are made by the writer thread, see
//! [`crate::net::writer`].) It also keeps the connection's clock: a peer that
//! has not logged in by the login deadline, or (IRC) is quiet too long, is
//! dealt with as its [`Speech`] says.

use super::admit::{Admission, Handshakes, Place, Refused, turn_away};
use crate::dispatch::Input;
use crate::ids::{ConnId, Protocol};
use crate::net::flood::{Bucket, Debt, FloodLimit};
use crate::net::outbox::Framing;
use crate::net::tls::{Link, Wake};
use crate::proto::command::Command;
use crate::proto::lines::{Frame, LineSplitter};
use crate::proto::refusal::Refusal;
use crossbeam_channel::Sender;
use log::{debug, warn};
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bytes asked of one `recv` while the peer is quiet: an idle connection keeps
/// only this much, since most chat lines are short.
const RECV_SMALL: usize = 512;
/// Bytes asked of one `recv` while the peer sends in bursts (a full small read).
const RECV_LARGE: usize = 16 * 1024;
/// Stack of each connection thread: it keeps little on it, and what each
/// thread touches is what bounds how many clients fit in memory.
pub const STACK_SIZE: usize = 64 * 1024;
/// Stack of each TLS connection's thread: rustls' handshake (and ring's
/// key exchange and signature) needs more than a plain reader. Only the
/// pages a thread touches cost memory.
pub const TLS_STACK_SIZE: usize = 256 * 1024;
/// How far the receive timeout set on the socket may be from the next alarm
/// before it is set again (setting it is a system call).
const ALARM_SLACK: Duration = Duration::from_millis(10);

/// What to do about a peer that was quiet too long, or late to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quiet {
    /// Hand this command on (IRC: send the peer a `PING`).
    Send(Command),
    /// Drop the connection, for this reason (its `BYE` text).
    Drop(String),
}

/// What a door makes of the lines it reads: CHAT/1 parses each line into one
/// command; IRC keeps a registration session and may make none or several.
pub trait Speech: Send + 'static {
    /// The commands one line (or framing problem) holds, appended to `out`.
    fn commands(&mut self, frame: Frame, out: &mut Vec<Result<Command, Refusal>>);

    /// How long the peer may be quiet before [`Speech::quiet`] is asked;
    /// `None`: as long as it likes.
    fn patience(&self) -> Option<Duration> {
        None
    }

    /// The peer was quiet for a whole [`Speech::patience`]: what to do.
    fn quiet(&mut self) -> Quiet {
        Quiet::Drop("idle".into())
    }

    /// The peer sent something: it is not quiet any more.
    fn heard(&mut self) {}

    /// True once the peer has logged in, as far as the reader can tell; until
    /// then it is asked [`Speech::late`] at the login deadline.
    fn logged_in(&self) -> bool;

    /// The login deadline (`--login-timeout`, `limit` after `accept`) has
    /// passed and the peer has not logged in: what to do.
    fn late(&mut self, limit: Duration) -> Quiet;

    /// Lines that are not UTF-8 are decoded lossily (U+FFFD) rather than
    /// refused with `BAD_UTF8`; asked before each read is split.
    fn lossy(&self) -> bool {
        false
    }

    /// Bytes a line may hold beyond [`crate::proto::lines::MAX_LINE`] (IRC's tags).
    fn extra(&self) -> usize {
        0
    }
}

/// Admits a connection a line door accepted and starts its reader thread; a
/// connection that is refused gets `refusal(why)` (the door's words for it)
/// and is closed.
///
/// Over TLS (`tls`), the connection's own thread first runs the handshake,
/// which must end by the login deadline, and only then admits it; its place
/// under the limits is taken at `accept` all the same.
pub fn arrive<S: Speech>(
    stream: TcpStream,
    peer: SocketAddr,
    admission: &Admission,
    (protocol, refusal): (Protocol, impl FnOnce(Refused) -> Vec<u8>),
    (speech, flood, tls): (S, FloodLimit, Option<&Handshakes>),
) -> Option<JoinHandle<()>> {
    let accepted = Instant::now();
    let id = admission.next_id();
    debug!("accept() -> conn {id} from {peer} ({protocol:?})");
    let place = match admission.reserve(peer.ip()) {
        Ok(place) => place,
        Err(why) => {
            warn!("conn {id} from {peer} refused: {why:?}");
            // A TLS client could not read plain words: it is just closed.
            let words = if tls.is_some() {
                Vec::new()
            } else {
                refusal(why)
            };
            turn_away(stream, &words);
            return None;
        }
    };
    let socket = Arc::new(stream);
    let limit = admission.limits.login_timeout;
    let login = (accepted + limit, limit);
    if let Some(tls) = tls {
        let (tls, admission) = (tls.clone(), admission.clone());
        let started = thread::Builder::new()
            .name(format!("conn{id}"))
            .stack_size(TLS_STACK_SIZE)
            .spawn(move || {
                let link = match tls.run(id, socket, login.0) {
                    Ok(link) => link,
                    Err(e) => {
                        debug!("conn {id} from {peer}: no TLS handshake: {e}");
                        return;
                    }
                };
                crate::net::tls::shed_stack();
                // The server began to stop during the handshake: nobody would say BYE.
                if admission.is_stopping() {
                    return;
                }
                let Some(outbox) = admission.admit(id, peer, &link, (protocol, Framing::Raw))
                else {
                    return;
                };
                let debt = outbox.debt().clone();
                drop(outbox);
                let mail = admission.mail.clone();
                let link = link.waking(Wake { id, mail });
                let mut farewell = Farewell::new(id, admission.inputs.clone(), place);
                let lines = LineReader::new(id, flood, speech).owing(debt);
                farewell.reason = read_loop(&link, &farewell.inputs, lines, login);
            });
        return match started {
            Ok(thread) => Some(thread),
            Err(e) => {
                warn!("conn {id} from {peer}: cannot start its thread: {e}");
                None
            }
        };
    }
    let link = Link::Plain(socket);
    let outbox = admission.admit(id, peer, &link, (protocol, Framing::Raw))?;
    let debt = outbox.debt().clone();
    drop(outbox);
    let inputs = admission.inputs.clone();
    match spawn(id, link, inputs, (speech, flood, debt), place, login) {
        Ok(thread) => Some(thread),
        Err(e) => {
            admission.abandon(id, &e);
            None
        }
    }
}

/// Starts the reader thread of connection `id`, which must log in by
/// `login.0` (`login.1` after it was accepted), and pays off `debt`.
///
/// # Errors
/// The OS refused a thread.
pub fn spawn<S: Speech>(
    id: ConnId,
    link: Link,
    inputs: Sender<Input>,
    (speech, flood, debt): (S, FloodLimit, Debt),
    place: Place,
    login: (Instant, Duration),
) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(format!("conn{id}"))
        .stack_size(STACK_SIZE)
        .spawn(move || {
            let mut farewell = Farewell::new(id, inputs, place);
            let lines = LineReader::new(id, flood, speech).owing(debt);
            farewell.reason = read_loop(&link, &farewell.inputs, lines, login);
        })
}

/// Tells the dispatcher the connection is gone when the reader ends, even by
/// a panic, so that no ghost user stays behind. (Shared with the WebSocket
/// reader, [`crate::doors::web`].)
pub struct Farewell {
    id: ConnId,
    pub inputs: Sender<Input>,
    /// Given back when the farewell is dropped, after the dispatcher was told.
    _place: Place,
    /// Why the reader stopped; `None` after QUIT (the dispatcher knows already).
    pub reason: Option<String>,
}

impl Farewell {
    /// The farewell of connection `id`, which holds `place`; its reason
    /// stays "connection thread failed" unless the reader sets another.
    pub fn new(id: ConnId, inputs: Sender<Input>, place: Place) -> Farewell {
        Farewell {
            id,
            inputs,
            _place: place,
            reason: Some("connection thread failed".into()),
        }
    }
}

impl Drop for Farewell {
    fn drop(&mut self) {
        if let Some(reason) = self.reason.take() {
            // The dispatcher may be gone already when the server is stopping.
            let _ = self.inputs.send(Input::Disconnect {
                id: self.id,
                reason,
            });
        }
    }
}

/// Reads lines until the peer goes away (returns why) or sends `QUIT` (`None`).
fn read_loop<S: Speech>(
    link: &Link,
    inputs: &Sender<Input>,
    mut lines: LineReader<S>,
    (login_by, limit): (Instant, Duration),
) -> Option<String> {
    let id = lines.id;
    let mut buf = vec![0u8; RECV_SMALL];
    let mut alarms = Alarms::new(login_by, lines.speech.patience());
    let mut first = true;
    loop {
        alarms.arm(link.socket());
        // recv(2) (and, over TLS, decryption): blocks until the peer sends;
        // 0 bytes means it closed its side.
        match (&*link).read(&mut buf) {
            Ok(0) => {
                debug!("recv() conn {id}: 0 bytes: the peer closed its side");
                return Some("connection closed".to_string());
            }
            Ok(n) => {
                debug!("recv() conn {id}: {n} bytes");
                if first && matches!(link, Link::Plain(_)) && tls_hello(&buf[..n]) {
                    warn!("conn {id}: a TLS hello on a plain port; closed");
                    return Some("TLS on a plain port: use the TLS port".to_string());
                }
                first = false;
                lines.speech.heard();
                alarms.heard();
                let filled = n == buf.len();
                if !lines.feed(&buf[..n], inputs) {
                    return None;
                }
                // A full read suggests more is waiting: read more at a time until it calms down.
                let want = if filled { RECV_LARGE } else { RECV_SMALL };
                if buf.len() != want {
                    buf = vec![0u8; want];
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // An alarm rang (SO_RCVTIMEO): dealt with below.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Some(format!("connection lost: {e}")),
        }
        let now = Instant::now();
        if alarms.login.is_some() && lines.speech.logged_in() {
            alarms.login = None;
        }
        if alarms.login.is_some_and(|at| now >= at) {
            alarms.login = None;
            warn!("conn {id}: not logged in after {limit:?}");
            if let Some(reason) = act(id, lines.speech.late(limit), inputs) {
                return reason;
            }
        }
        if alarms.quiet_at.is_some_and(|at| now >= at) {
            alarms.heard();
            if let Some(reason) = act(id, lines.speech.quiet(), inputs) {
                return reason;
            }
        }
    }
}

/// True when `bytes` begin like a TLS ClientHello (a handshake record, TLS
/// 1.0 to 1.3), which no chat line does.
pub fn tls_hello(bytes: &[u8]) -> bool {
    matches!(bytes, [0x16, 0x03, 0x00..=0x04, ..])
}

/// Does what a [`Quiet`] says; `Some` when the reader is to end (with that reason).
fn act(id: ConnId, quiet: Quiet, inputs: &Sender<Input>) -> Option<Option<String>> {
    match quiet {
        Quiet::Drop(reason) => Some(Some(reason)),
        Quiet::Send(command) => {
            let line = Input::Command {
                id,
                command: Ok(command),
            };
            // The dispatcher has stopped: the server is shutting down.
            inputs.send(line).is_err().then_some(None)
        }
    }
}

/// When a reader must wake though the peer sends nothing: at the login
/// deadline, until the peer has logged in, and once it has been quiet for
/// the door's patience (IRC pings).
#[derive(Debug)]
struct Alarms {
    login: Option<Instant>,
    patience: Option<Duration>,
    quiet_at: Option<Instant>,
    /// The receive timeout now set on the socket.
    set: Option<Duration>,
}

impl Alarms {
    fn new(login: Instant, patience: Option<Duration>) -> Alarms {
        Alarms {
            login: Some(login),
            patience,
            quiet_at: patience.map(|p| Instant::now() + p),
            set: None,
        }
    }

    /// The peer sent something: the quiet period starts again.
    fn heard(&mut self) {
        self.quiet_at = self.patience.map(|p| Instant::now() + p);
    }

    /// Makes the next `recv` return by the nearest alarm.
    fn arm(&mut self, socket: &TcpStream) {
        let next = match (self.login, self.quiet_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // A zero timeout would mean "wait forever": at least a millisecond.
        let want = next.map(|at| {
            at.saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        });
        let near = match (want, self.set) {
            (Some(want), Some(set)) => want.abs_diff(set) <= ALARM_SLACK,
            (want, set) => want == set,
        };
        if !near {
            // SO_RCVTIMEO: recv(2) returns EAGAIN after this long without a byte.
            let _ = socket.set_read_timeout(want);
            self.set = want;
        }
    }
}

/// The line handling every reader shares, whatever carries the bytes: cuts
/// them into lines of at most 2048 bytes, takes a flood-control token per
/// line (and pays what costly answers cost, [`Debt`]), parses it as the
/// door's [`Speech`] says and hands the commands to the dispatcher.
pub struct LineReader<S> {
    id: ConnId,
    lines: LineSplitter,
    bucket: Bucket,
    frames: Vec<Frame>,
    commands: Vec<Result<Command, Refusal>>,
    speech: S,
}

impl<S: Speech> LineReader<S> {
    /// The line reader of connection `id`, with a full flood bucket.
    pub fn new(id: ConnId, flood: FloodLimit, speech: S) -> LineReader<S> {
        let mut lines = LineSplitter::new();
        lines.set_extra(speech.extra());
        LineReader {
            id,
            lines,
            bucket: Bucket::new(flood),
            frames: Vec::new(),
            commands: Vec::new(),
            speech,
        }
    }

    /// The same reader, paying off `debt`, which the dispatcher charges for
    /// costly answers to this connection.
    #[must_use]
    pub fn owing(mut self, debt: Debt) -> LineReader<S> {
        self.bucket = self.bucket.owing(debt);
        self
    }

    /// Feeds received bytes (maybe part of a line, maybe several lines) and
    /// sends each whole line on; false when nothing more is to be read: the
    /// client sent `QUIT` (the dispatcher says BYE) or the dispatcher stopped.
    pub fn feed(&mut self, bytes: &[u8], inputs: &Sender<Input>) -> bool {
        let frames = &mut self.frames;
        self.lines.set_lossy(self.speech.lossy());
        self.lines.feed(bytes, |f| frames.push(f));
        for frame in self.frames.drain(..) {
            self.bucket.take();
            self.speech.commands(frame, &mut self.commands);
            for command in self.commands.drain(..) {
                let quit = matches!(command, Ok(Command::Quit { .. }));
                if inputs
                    .send(Input::Command {
                        id: self.id,
                        command,
                    })
                    .is_err()
                {
                    return false; // The dispatcher has stopped: the server is shutting down.
                }
                if quit {
                    return false; // Nothing more is read after QUIT.
                }
            }
        }
        true
    }
}
