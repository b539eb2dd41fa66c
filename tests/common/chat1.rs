//! The CHAT/1 test client: [`Chat1`] speaks CHAT/1 over any [`Transport`];
//! [`Client`] is CHAT/1 over TCP, [`super::ws::Ws`] the same over the web
//! door's WebSocket. The steps of the protocol (WELCOME, NICK, JOIN up to
//! its END HISTORY, ERR, BYE) are here once for both.

use super::{Dial, Ending, Lines, Tcp, Transport, fresh_token};
use socket2::{Domain, Protocol, Socket, Type};
use std::net::{SocketAddr, TcpStream};
use std::ops::{Deref, DerefMut};

/// A CHAT/1 client over transport `T`. It is a [`Lines`] (reading, waiting)
/// plus the steps of CHAT/1.
pub struct Chat1<T>(Lines<T>);

/// A CHAT/1 client over TCP.
pub type Client = Chat1<Tcp>;

impl<T> Deref for Chat1<T> {
    type Target = Lines<T>;
    fn deref(&self) -> &Lines<T> {
        &self.0
    }
}

impl<T> DerefMut for Chat1<T> {
    fn deref_mut(&mut self) -> &mut Lines<T> {
        &mut self.0
    }
}

impl<T: Dial> Chat1<T> {
    /// Connects without reading anything (for a server that may refuse).
    pub fn raw(addr: SocketAddr) -> Chat1<T> {
        Chat1::new(T::dial(addr))
    }

    /// Connects and reads `WELCOME <guest> <text>`; `nick` is the guest name.
    pub fn connect(addr: SocketAddr) -> Chat1<T> {
        let mut c = Chat1::raw(addr);
        c.welcome();
        c
    }

    /// Connects and takes `nick`, waiting for `NICK guest<N> <nick>`.
    pub fn login(addr: SocketAddr, nick: &str) -> Chat1<T> {
        let mut c = Chat1::connect(addr);
        c.rename(nick);
        c
    }
}

impl<T: Transport> Chat1<T> {
    /// Wraps a connected transport. Reads nothing.
    pub fn new(io: T) -> Chat1<T> {
        Chat1(Lines::new(io, ""))
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

    /// Sends `NICK <nick>` and expects the `NICK <old> <nick>` that confirms it.
    pub fn rename(&mut self, nick: &str) {
        self.send(&format!("NICK {nick}"));
        let old = std::mem::take(&mut self.nick);
        self.expect(&format!("NICK {old} {nick}"));
        self.nick = nick.to_string();
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

    /// Joins `room` and reads up to its `END HISTORY`; returns the lines read.
    pub fn join(&mut self, room: &str) -> Vec<String> {
        self.send(&format!("JOIN {room}"));
        let end = format!("END HISTORY {room}");
        self.lines_until(&end, |l| l.eq_ignore_ascii_case(&end))
    }

    /// Proves nothing is queued for this client: a `PING` with a fresh token
    /// must be answered by the very next line.
    pub fn assert_silent(&mut self) {
        let token = fresh_token("quiet-");
        self.expect_answer(&format!("PING {token}"), &format!("PONG {token}"));
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

    /// What a member of `lobby` cut off during ana's burst of `MSG lobby ana
    /// <n> <text>` lines reads: the lines before the burst, then whole burst
    /// lines from 0 on, in order, then `BYE <bye>`. Returns how many burst
    /// lines came.
    pub fn burst_then_bye(&mut self, text: &str, bye: &str) -> usize {
        let mut n = 0;
        loop {
            let line = self.next();
            if let Some(said) = line.strip_prefix("BYE ") {
                assert_eq!(said, bye);
                return n;
            }
            if n == 0 && !line.starts_with("MSG ") {
                continue; // JOIN, MEMBERS, END MEMBERS, END HISTORY
            }
            assert_eq!(
                line,
                format!("MSG lobby ana {n} {text}"),
                "whole lines, in order"
            );
            n += 1;
        }
    }

    /// Sends `QUIT`, expects `BYE goodbye` and EOF.
    pub fn quit(&mut self) {
        self.send("QUIT");
        assert_eq!(self.expect_bye(), "goodbye");
    }
}

impl Dial for Tcp {
    fn dial(addr: SocketAddr) -> Tcp {
        let stream = TcpStream::connect(addr).expect("connect to the test server");
        Tcp::new(stream, Ending::Lf)
    }
}

impl Client {
    /// Wraps a connected stream, setting the read and write timeouts. Reads nothing.
    pub fn from_stream(stream: TcpStream) -> Client {
        Chat1::new(Tcp::new(stream, Ending::Lf))
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

    /// Consumes the client, returning its socket (lines already buffered are lost).
    pub fn into_stream(self) -> TcpStream {
        self.0.into_stream()
    }
}

/// Ana and bob, both in `lobby`, with nothing left to read.
pub fn ana_and_bob(addr: SocketAddr) -> (Client, Client) {
    let mut ana = Client::login(addr, "ana");
    let mut bob = Client::login(addr, "bob");
    ana.join("lobby");
    bob.join("lobby");
    ana.expect("JOIN lobby bob");
    (ana, bob)
}

/// A client with a small receive buffer that joins `lobby` and never reads
/// again; `member`, in `lobby` already, has read its JOIN.
pub fn stuck_in_lobby(addr: SocketAddr, member: &mut Client) -> Client {
    let mut stuck = Client::connect_small_buffer(addr, 4096);
    stuck.send("JOIN lobby");
    member.expect(&format!("JOIN lobby {}", stuck.nick));
    stuck
}
