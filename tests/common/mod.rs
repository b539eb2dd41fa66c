//! Helpers shared by the integration tests: a server on a free port of
//! 127.0.0.1, and a line client whose every read times out, so that a failure
//! ends a test with what it saw instead of hanging it. Nothing here sleeps to
//! wait for state: the helpers wait for the line that proves it.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use sala::FloodLimit;
use sala::{Config, Server};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
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

/// The test configuration: port 0 on loopback, flood control off.
pub fn config() -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("a literal address"),
        flood: NO_FLOOD,
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

/// Now in unix milliseconds.
pub fn now_ms() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    u64::try_from(d.as_millis()).expect("milliseconds fit in u64")
}

/// Polls `cond` until it holds, for state that no line announces (the count of
/// open connections); panics after [`WAIT_LIMIT`].
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT_LIMIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A connected test client: one socket, buffered reads, every read bounded.
pub struct Client {
    /// The nick the server knows this client by (from WELCOME or NICK).
    pub nick: String,
    reader: BufReader<TcpStream>,
    recent: VecDeque<String>,
}

static MARKS: AtomicU64 = AtomicU64::new(0);

/// Connects to `addr` with read and write timeouts of [`READ_TIMEOUT`], so
/// that no test can hang on this socket.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to the server");
    with_timeouts(stream)
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

impl Client {
    /// Wraps a connected stream, setting the read and write timeouts. Reads nothing.
    pub fn from_stream(stream: TcpStream) -> Client {
        let stream = with_timeouts(stream);
        Client {
            nick: String::new(),
            reader: BufReader::new(stream),
            recent: VecDeque::new(),
        }
    }

    /// Connects without reading anything (for a server that may refuse).
    pub fn raw(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect to the test server");
        Client::from_stream(stream)
    }

    /// Connects and reads `WELCOME <guest> <text>`; `nick` is the guest name.
    pub fn connect(addr: SocketAddr) -> Client {
        let mut c = Client::raw(addr);
        c.welcome();
        c
    }

    /// Connects with a receive buffer of `bytes` set before `connect`, so the
    /// window the server sees is small from the start. Reads the WELCOME.
    pub fn connect_small_buffer(addr: SocketAddr, bytes: usize) -> Client {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .expect("socket");
        socket
            .set_recv_buffer_size(bytes)
            .expect("set the receive buffer size");
        socket.connect(&addr.into()).expect("connect");
        let mut c = Client::from_stream(socket.into());
        c.welcome();
        c
    }

    /// Reads the `WELCOME` line and remembers the guest nick.
    pub fn welcome(&mut self) {
        let line = self.next();
        let rest = line
            .strip_prefix("WELCOME ")
            .unwrap_or_else(|| panic!("expected WELCOME, got {line:?}"));
        let nick = rest.split(' ').next().unwrap_or_default();
        assert!(
            nick.starts_with("guest") && nick.len() > 5,
            "guest nick in {line:?}"
        );
        assert!(rest.len() > nick.len() + 1, "WELCOME has a text: {line:?}");
        self.nick = nick.to_string();
    }

    /// Connects and takes `nick`, waiting for `NICK guest<N> <nick>`.
    pub fn login(addr: SocketAddr, nick: &str) -> Client {
        let mut c = Client::connect(addr);
        c.rename(nick);
        c
    }

    /// Sends `NICK <nick>` and expects the `NICK <old> <nick>` that confirms it.
    pub fn rename(&mut self, nick: &str) {
        self.send(&format!("NICK {nick}"));
        let old = std::mem::take(&mut self.nick);
        self.expect(&format!("NICK {old} {nick}"));
        self.nick = nick.to_string();
    }

    /// The socket, for options and for shutting it down.
    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    /// Consumes the client, returning its socket (lines already buffered are lost).
    pub fn into_stream(self) -> TcpStream {
        self.reader.into_inner()
    }

    /// Sends one line; the `\n` is added.
    pub fn send(&mut self, line: &str) {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.send_bytes(&bytes);
    }

    /// Sends bytes as they are, in one write.
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        let mut stream = self.reader.get_ref();
        stream.write_all(bytes).expect("send to the server");
    }

    /// The next line, without its `\n`; `None` at EOF. Panics on a timeout or error.
    pub fn read_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => {
                assert!(
                    line.ends_with('\n'),
                    "{}: line cut short by EOF: {line:?}",
                    self.nick
                );
                line.pop();
                if self.recent.len() == RECENT {
                    self.recent.pop_front();
                }
                self.recent.push_back(line.clone());
                Some(line)
            }
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

    /// The next line; panics at EOF.
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

    /// The next line must be `ERR <code> <text>`; then a PING proves the
    /// connection still works and that nothing else was sent.
    pub fn expect_err(&mut self, code: &str) {
        let got = self.next();
        let rest = got.strip_prefix(&format!("ERR {code} "));
        assert!(
            rest.is_some_and(|t| !t.trim().is_empty()),
            "{}: expected ERR {code} <text>, got {got:?}",
            self.nick
        );
        self.assert_silent();
    }

    /// Sends `line` and expects the error `code` for it (then PING/PONG).
    pub fn refused(&mut self, line: &str, code: &str) {
        self.send(line);
        self.expect_err(code);
    }

    /// Reads lines until one satisfies `pred`; returns every line read, the
    /// match last. Panics at EOF or after [`WAIT_LIMIT`].
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

    /// Joins `room` and reads up to its `END HISTORY`; returns the lines read.
    pub fn join(&mut self, room: &str) -> Vec<String> {
        self.send(&format!("JOIN {room}"));
        let end = format!("END HISTORY {room}");
        self.lines_until(&end, |l| l.eq_ignore_ascii_case(&end))
    }

    /// Proves nothing is queued for this client: a `PING` with a fresh token
    /// must be answered by the very next line.
    pub fn assert_silent(&mut self) {
        let token = format!("quiet-{}", MARKS.fetch_add(1, Ordering::Relaxed));
        self.send(&format!("PING {token}"));
        let got = self.next();
        assert_eq!(
            got,
            format!("PONG {token}"),
            "{}: a line arrived that was not meant for this client",
            self.nick
        );
    }

    /// Reads `ROOMS` until `END ROOMS`, returning the `ROOM` lines.
    pub fn rooms(&mut self) -> Vec<String> {
        self.send("ROOMS");
        let mut lines = Vec::new();
        loop {
            let line = self.next();
            if line == "END ROOMS" {
                return lines;
            }
            assert!(
                line.starts_with("ROOM "),
                "{}: in ROOMS: {line:?}",
                self.nick
            );
            lines.push(line);
        }
    }

    /// The next line must be `BYE <text>` and then the stream must end; returns the text.
    pub fn expect_bye(&mut self) -> String {
        let line = self.next();
        let text = line
            .strip_prefix("BYE ")
            .unwrap_or_else(|| panic!("{}: expected BYE, got {line:?}", self.nick))
            .to_string();
        self.expect_eof();
        text
    }

    /// The stream must end (EOF) with no further line.
    pub fn expect_eof(&mut self) {
        if let Some(line) = self.read_line() {
            panic!("{}: expected EOF, got {line:?}", self.nick);
        }
    }

    /// Reads every line until the stream ends by EOF or by a reset (which may
    /// lose lines in flight); returns the lines. Panics on a timeout.
    pub fn read_to_end(&mut self) -> Vec<String> {
        let deadline = Instant::now() + WAIT_LIMIT;
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
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

    /// Sends `QUIT`, expects `BYE goodbye` and EOF.
    pub fn quit(&mut self) {
        self.send("QUIT");
        assert_eq!(self.expect_bye(), "goodbye");
    }
}
