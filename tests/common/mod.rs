//! Helpers shared by the integration tests: servers on free ports of
//! 127.0.0.1, sockets whose every read times out, and [`Lines`], a connection
//! that reads and waits for lines, so that a failure ends a test with what it
//! saw instead of hanging it. Nothing here sleeps to wait for state: the
//! helpers wait for the line that proves it.
//!
//! One client per protocol, each built on [`Lines`]:
//! - [`chat1`]: CHAT/1 over TCP ([`chat1::Client`]);
//! - [`ws`]: CHAT/1 over the web door's WebSocket ([`ws::Ws`]);
//! - [`irc`]: raw IRC lines over the IRC door ([`irc::Irc`]).

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod chat1;
pub mod irc;
pub mod ws;

use sala::FloodLimit;
use sala::{Config, Server};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long one read may wait before the test fails; generous for a loaded machine.
pub const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a `wait_for` may keep reading lines that do not match.
pub const WAIT_LIMIT: Duration = Duration::from_secs(30);

/// Lines kept for the panic message of a failed expectation.
const RECENT: usize = 40;

/// Flood control off: most tests send faster than a person types.
pub const NO_FLOOD: FloodLimit = FloodLimit {
    rate: 0.0,
    burst: 20,
};

// ---------------------------------------------------------------- servers

/// A free port of 127.0.0.1.
fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().expect("a literal address")
}

/// The test configuration: port 0 on loopback, flood control off, and
/// `sala` as the server's name on IRC (whatever the host is called).
pub fn config() -> Config {
    Config {
        listen: loopback(),
        flood: NO_FLOOD,
        server_name: Some("sala".to_string()),
        ..Config::default()
    }
}

/// Starts a server with [`config`] changed by `tweak`.
pub fn start(tweak: impl FnOnce(&mut Config)) -> Server {
    let mut config = config();
    tweak(&mut config);
    Server::start(config).expect("the server starts on a free port")
}

/// Starts a server with the test configuration unchanged.
pub fn start_default() -> Server {
    start(|_| {})
}

/// Starts a server with the IRC door open too (on a free port), changed by `tweak`.
pub fn start_irc(tweak: impl FnOnce(&mut Config)) -> Server {
    start(|c| {
        c.irc_listen = Some(loopback());
        tweak(c);
    })
}

/// Starts a server with the web door open too (on a free port), changed by `tweak`.
pub fn start_web(tweak: impl FnOnce(&mut Config)) -> Server {
    start(|c| {
        c.web_listen = Some(loopback());
        tweak(c);
    })
}

/// The address of the IRC door of a server from [`start_irc`].
pub fn irc_addr(server: &Server) -> SocketAddr {
    server.irc_addr().expect("the IRC door is open")
}

/// The address of the web door of a server from [`start_web`].
pub fn web_addr(server: &Server) -> SocketAddr {
    server.web_addr().expect("the web listener is on")
}

// ---------------------------------------------------------------- waiting

/// Now in unix milliseconds.
pub fn now_ms() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    u64::try_from(d.as_millis()).expect("milliseconds fit in u64")
}

/// Polls `cond` until it holds, for state that no line announces (the count of
/// open connections, a process's exit); panics after [`WAIT_LIMIT`].
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT_LIMIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits up to `limit` for `child` to exit, polling (a child's exit says
/// nothing on any socket); `None` if it is still running then.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills and reaps `child` unless it has exited already (for `Drop`s, so that
/// no test leaves a process running).
pub fn kill(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
    }
    let _ = child.wait();
}

static TOKENS: AtomicU64 = AtomicU64::new(0);

/// A token never used before in this test process: `<prefix><N>`.
pub fn fresh_token(prefix: &str) -> String {
    format!("{prefix}{}", TOKENS.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------- sockets

/// Connects to `addr` with read and write timeouts of [`READ_TIMEOUT`], so
/// that no test can hang on this socket.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to the server");
    with_timeouts(stream)
}

/// Connects to `addr` from the loopback address `from` (127.0.0.2, 127.0.0.3,
/// ...), as a client on another host would, with the timeouts of [`connect`].
pub fn connect_from(from: Ipv4Addr, addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
    socket
        .bind(&SocketAddr::from((from, 0)).into())
        .expect("bind to a loopback address");
    socket.connect(&addr.into()).expect("connect to the server");
    with_timeouts(socket.into())
}

/// Sets the read and write timeouts of a connected stream to [`READ_TIMEOUT`].
pub fn with_timeouts(stream: TcpStream) -> TcpStream {
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .expect("set a read timeout");
    stream
        .set_write_timeout(Some(READ_TIMEOUT))
        .expect("set a write timeout");
    stream
}

/// How a test connection moves lines: the line framing of a TCP door
/// ([`Tcp`]) or WebSocket text frames ([`ws::Frames`]).
pub trait Transport {
    /// Sends one line, framed as the door wants it, in one write.
    fn send_line(&mut self, line: &str) -> io::Result<()>;
    /// The next line without its framing; `Ok(None)` when the stream ended.
    fn recv_line(&mut self) -> io::Result<Option<String>>;
}

/// A transport that can open a connection of its own.
pub trait Dial: Transport + Sized {
    /// Connects to `addr`; sends and reads no line.
    fn dial(addr: SocketAddr) -> Self;
}

/// How the lines of a TCP door end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// CHAT/1: `\n`.
    Lf,
    /// IRC: `\r\n`, and a server line is at most 512 bytes with it, besides
    /// its IRCv3 tags (up to 4096 bytes more).
    Crlf,
}

/// Lines over a TCP socket whose reads and writes time out.
pub struct Tcp {
    reader: BufReader<TcpStream>,
    ending: Ending,
}

impl Tcp {
    /// Wraps a connected stream, setting its timeouts.
    pub fn new(stream: TcpStream, ending: Ending) -> Tcp {
        Tcp {
            reader: BufReader::new(with_timeouts(stream)),
            ending,
        }
    }

    fn terminator(&self) -> &'static str {
        match self.ending {
            Ending::Lf => "\n",
            Ending::Crlf => "\r\n",
        }
    }
}

impl Transport for Tcp {
    fn send_line(&mut self, line: &str) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(self.terminator().as_bytes());
        self.reader.get_ref().write_all(&bytes)
    }

    fn recv_line(&mut self) -> io::Result<Option<String>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let end = self.terminator();
        let Some(body) = line.strip_suffix(end) else {
            return Err(io::Error::new(
                ErrorKind::InvalidData,
                format!("a line not ended by {end:?} (cut short by EOF?): {line:?}"),
            ));
        };
        let tags = match body.strip_prefix('@') {
            Some(tagged) => tagged.find(' ').map_or(0, |i| i + 2),
            None => 0,
        };
        if self.ending == Ending::Crlf && (body.len() - tags > 510 || tags > 4096 + 4096) {
            return Err(io::Error::new(
                ErrorKind::InvalidData,
                format!("an IRC line over 512 bytes: {body:?}"),
            ));
        }
        Ok(Some(body.to_string()))
    }
}

/// A connection that reads lines: every read bounded by [`READ_TIMEOUT`],
/// every wait by [`WAIT_LIMIT`], and the last lines read kept for the panic
/// message. The protocol clients wrap it and add their own steps.
pub struct Lines<T> {
    /// The nick the server knows this client by, for messages and checks.
    pub nick: String,
    io: T,
    recent: VecDeque<String>,
}

impl<T: Transport> Lines<T> {
    /// Wraps a connected transport; `nick` names it until the server gives one.
    pub fn new(io: T, nick: &str) -> Lines<T> {
        Lines {
            nick: nick.to_string(),
            io,
            recent: VecDeque::new(),
        }
    }

    /// The transport, for what only it can do.
    pub fn io(&mut self) -> &mut T {
        &mut self.io
    }

    /// Sends one line; the transport frames it.
    pub fn send(&mut self, line: &str) {
        self.io.send_line(line).expect("send to the server");
    }

    /// The next line, without its framing; `None` at the end of the stream.
    /// Panics on a timeout, an error or a badly framed line.
    pub fn read_line(&mut self) -> Option<String> {
        match self.io.recv_line() {
            Ok(Some(line)) => {
                if self.recent.len() == RECENT {
                    self.recent.pop_front();
                }
                self.recent.push_back(line.clone());
                Some(line)
            }
            Ok(None) => None,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!(
                    "{}: no line within {READ_TIMEOUT:?}; last lines: {:#?}",
                    self.nick, self.recent
                )
            }
            Err(e) => panic!(
                "{}: read failed: {e}; last lines: {:#?}",
                self.nick, self.recent
            ),
        }
    }

    /// The next line; panics at the end of the stream.
    pub fn next(&mut self) -> String {
        match self.read_line() {
            Some(line) => line,
            None => panic!(
                "{}: EOF where a line was expected; last lines: {:#?}",
                self.nick, self.recent
            ),
        }
    }

    /// The next line must be exactly `want`.
    pub fn expect(&mut self, want: &str) {
        let got = self.next();
        assert_eq!(got, want, "{}: unexpected line", self.nick);
    }

    /// The next lines must be exactly `want`, in order.
    pub fn expect_all(&mut self, want: &[&str]) {
        for w in want {
            self.expect(w);
        }
    }

    /// The next line must start with `prefix`; returns it.
    pub fn expect_prefix(&mut self, prefix: &str) -> String {
        let got = self.next();
        assert!(
            got.starts_with(prefix),
            "{}: expected a line starting {prefix:?}, got {got:?}",
            self.nick
        );
        got
    }

    /// Reads lines until one satisfies `pred`; returns every line read, the
    /// match last. Panics at the end of the stream or after [`WAIT_LIMIT`].
    pub fn lines_until(&mut self, what: &str, mut pred: impl FnMut(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + WAIT_LIMIT;
        let mut seen = Vec::new();
        loop {
            let Some(line) = self.read_line() else {
                panic!(
                    "{}: EOF while waiting for {what}; last lines: {:#?}",
                    self.nick, self.recent
                )
            };
            let done = pred(&line);
            seen.push(line);
            if done {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "{}: gave up waiting for {what}; last lines: {:#?}",
                self.nick,
                self.recent
            );
        }
    }

    /// Reads until a line satisfies `pred` and returns it, skipping the others.
    pub fn wait_for(&mut self, what: &str, pred: impl FnMut(&str) -> bool) -> String {
        self.lines_until(what, pred)
            .pop()
            .expect("lines_until returns the match")
    }

    /// Reads until the line `want` arrives.
    pub fn wait_line(&mut self, want: &str) {
        self.wait_for(want, |l| l == want);
    }

    /// Reads until a line starting with `prefix` arrives; returns it.
    pub fn wait_prefix(&mut self, prefix: &str) -> String {
        self.wait_for(prefix, |l| l.starts_with(prefix))
    }

    /// Proves nothing is queued for this client: `ping` must be answered by
    /// `pong` as the very next line (the protocol clients' `assert_silent`
    /// send a PING with a fresh token).
    pub fn expect_answer(&mut self, ping: &str, pong: &str) {
        self.send(ping);
        let got = self.next();
        assert_eq!(
            got, pong,
            "{}: a line arrived that was not meant for this client",
            self.nick
        );
    }

    /// The stream must end (EOF) with no further line.
    pub fn expect_eof(&mut self) {
        if let Some(line) = self.read_line() {
            panic!("{}: expected EOF, got {line:?}", self.nick);
        }
    }
}

impl Lines<Tcp> {
    /// The socket, for options and for shutting it down.
    pub fn stream(&self) -> &TcpStream {
        self.io.reader.get_ref()
    }

    /// Consumes the connection, returning its socket (lines already buffered are lost).
    pub fn into_stream(self) -> TcpStream {
        self.io.reader.into_inner()
    }

    /// Sends bytes as they are, in one write.
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream().write_all(bytes).expect("send to the server");
    }

    /// Reads every line until the stream ends by EOF or by a reset (which may
    /// lose lines in flight); returns the lines, a last one cut short
    /// included. Panics on a timeout.
    pub fn read_to_end(&mut self) -> Vec<String> {
        let deadline = Instant::now() + WAIT_LIMIT;
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            match self.io.reader.read_line(&mut line) {
                Ok(0) => return lines,
                Ok(_) => lines.push(line.trim_end_matches('\n').to_string()),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return lines,
                Err(e) => panic!(
                    "{}: read failed after {} lines: {e}; last: {:?}",
                    self.nick,
                    lines.len(),
                    lines.last()
                ),
            }
            assert!(
                Instant::now() < deadline,
                "{}: the stream never ended",
                self.nick
            );
        }
    }

    /// The stream must end, by EOF or by a reset, with no further line.
    pub fn expect_closed(&mut self) {
        let mut line = String::new();
        match self.io.reader.read_line(&mut line) {
            Ok(0) => {}
            Ok(_) => panic!("{}: expected EOF, got {line:?}", self.nick),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("{}: expected EOF, got {e}", self.nick),
        }
    }
}

// ------------------------------------------------------------ server processes

/// A `server` process of this build on free ports of 127.0.0.1, with its
/// data in `dir`: for what only a real process shows (`kill -9`, restarts).
/// It is owned from the moment it is spawned, so a failed check below never
/// leaves it running: dropping it kills it.
pub struct ServerProcess {
    child: Child,
    /// The CHAT/1 address it printed.
    pub addr: SocketAddr,
    /// The web door's address it printed.
    pub web: SocketAddr,
}

impl ServerProcess {
    /// Starts the server with `--flood-rate 0 --data-dir <dir>` and reads
    /// the addresses it says it listens on.
    pub fn start(dir: &std::path::Path) -> ServerProcess {
        use std::process::{Command, Stdio};
        let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["--listen", "127.0.0.1:0", "--flood-rate", "0", "--data-dir"])
            .arg(dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server binary");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("listening on ").nth(1) {
                    let _ = tx.send((false, addr.trim().to_string()));
                }
                if let Some(addr) = line.split("web client on http://").nth(1) {
                    let _ = tx.send((true, addr.trim().trim_end_matches('/').to_string()));
                }
            }
        });
        let unset = SocketAddr::from(([127, 0, 0, 1], 0));
        // From here on the child is stopped by Drop, whatever the checks find.
        let mut process = ServerProcess {
            child,
            addr: unset,
            web: unset,
        };
        let (mut chat, mut web) = (None, None);
        while chat.is_none() || web.is_none() {
            let (is_web, addr) = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("the server says where it listens");
            let addr: SocketAddr = addr.parse().expect("an address");
            if is_web {
                web = Some(addr)
            } else {
                chat = Some(addr)
            }
        }
        process.addr = chat.unwrap_or(unset);
        process.web = web.unwrap_or(unset);
        process
    }

    /// SIGKILL: no goodbye, no flush, no shutdown code runs.
    pub fn kill_9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}
