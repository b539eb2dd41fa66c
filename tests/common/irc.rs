//! The raw IRC test client: [`Irc`] reads CRLF lines of at most 512 bytes
//! from the IRC door, and [`parse`] takes a server line apart independently
//! of the server's own parser.

use super::{Ending, Lines, Tcp, WAIT_LIMIT, fresh_token};
use std::net::{SocketAddr, TcpStream};
use std::ops::{Deref, DerefMut};
use std::time::Instant;

/// One IRC line taken apart: `[:prefix] COMMAND params... [:trailing]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub prefix: String,
    pub command: String,
    pub params: Vec<String>,
}

/// Parses a server line (without its CRLF), independently of the server's own parser.
pub fn parse(line: &str) -> Parsed {
    let (prefix, rest) = match line.strip_prefix(':') {
        Some(r) => {
            let (p, r) = r.split_once(' ').unwrap_or((r, ""));
            (p.to_string(), r)
        }
        None => (String::new(), line),
    };
    let (command, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let mut params = Vec::new();
    while !rest.is_empty() {
        if let Some(t) = rest.strip_prefix(':') {
            params.push(t.to_string());
            break;
        }
        let (w, r) = rest.split_once(' ').unwrap_or((rest, ""));
        params.push(w.to_string());
        rest = r;
    }
    Parsed {
        prefix,
        command: command.to_string(),
        params,
    }
}

/// True if `line` is numeric `code` (from the server).
pub fn is_numeric(line: &str, code: u16) -> bool {
    let p = parse(line);
    p.prefix == "sala" && p.command == format!("{code:03}")
}

/// `:nick!nick@sala`
pub fn who(nick: &str) -> String {
    format!(":{nick}!{nick}@sala")
}

/// A raw IRC client: a [`Lines`] of CRLF lines plus the steps of IRC.
/// `nick` is `*` until the test sets the nick it registers.
pub struct Irc {
    lines: Lines<Tcp>,
    /// The username it registered with (`USER`), which a new nick keeps;
    /// empty until then: its nick is used.
    pub user: String,
}

impl Deref for Irc {
    type Target = Lines<Tcp>;
    fn deref(&self) -> &Lines<Tcp> {
        &self.lines
    }
}

impl DerefMut for Irc {
    fn deref_mut(&mut self) -> &mut Lines<Tcp> {
        &mut self.lines
    }
}

impl Irc {
    /// Connects; sends and reads nothing.
    pub fn connect(addr: SocketAddr) -> Irc {
        Irc::over(super::connect(addr))
    }

    /// An IRC client on a connected socket; sends and reads nothing.
    pub fn over(stream: TcpStream) -> Irc {
        Irc {
            lines: Lines::new(Tcp::new(stream, Ending::Crlf), "*"),
            user: String::new(),
        }
    }

    /// Connects and registers as `nick` (NICK, USER), reading up to the end
    /// of the MOTD that closes the welcome burst.
    pub fn register(addr: SocketAddr, nick: &str) -> Irc {
        Irc::register_over(super::connect(addr), nick)
    }

    /// Registers as `nick` on a connected socket, like [`Irc::register`].
    pub fn register_over(stream: TcpStream, nick: &str) -> Irc {
        let mut c = Irc::over(stream);
        c.nick = nick.to_string();
        c.user = nick.to_string();
        c.send(&format!("NICK {nick}"));
        c.send(&format!("USER {nick} 0 * :{nick} the tester"));
        c.wait_for("001", |l| is_numeric(l, 1));
        c.wait_for("376 end of MOTD", |l| is_numeric(l, 376));
        c
    }

    /// Like [`Lines::wait_for`], answering the server's PINGs on the way.
    pub fn wait_answering(&mut self, what: &str, mut pred: impl FnMut(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT_LIMIT;
        loop {
            let line = self.next();
            if line == "PING :sala" {
                self.send("PONG :sala");
            }
            if pred(&line) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "{}: gave up waiting for {what}; last lines: {:#?}",
                self.nick,
                self.lines.recent
            );
        }
    }

    /// Reads the history a join shows after the names, up to its end; returns
    /// the history lines' texts.
    pub fn history(&mut self, chan: &str) -> Vec<String> {
        let mut texts = Vec::new();
        loop {
            let p = parse(&self.next());
            assert_eq!((p.prefix.as_str(), p.command.as_str()), ("sala", "NOTICE"));
            assert_eq!(p.params[0], chan);
            if p.params[1] == "-- end of history --" {
                return texts;
            }
            texts.push(p.params[1].clone());
        }
    }

    /// The very next line must be numeric `code`; returns it parsed.
    pub fn numeric(&mut self, code: u16) -> Parsed {
        let got = self.next();
        assert!(
            is_numeric(&got, code),
            "{}: expected numeric {code:03}, got {got:?}",
            self.nick
        );
        let p = parse(&got);
        assert_eq!(p.params[0], self.nick, "numerics name their recipient");
        p
    }

    /// Sends `line`; the answer must be numeric `code` and nothing else.
    pub fn refused(&mut self, line: &str, code: u16) -> Parsed {
        self.send(line);
        let p = self.numeric(code);
        self.assert_silent();
        p
    }

    /// Proves nothing is queued: a PING with a fresh token is answered by the very next line.
    pub fn assert_silent(&mut self) {
        let token = fresh_token("t");
        self.expect_answer(
            &format!("PING {token}"),
            &format!(":sala PONG sala :{token}"),
        );
    }

    /// Joins `chan` and reads its JOIN and NAMES; returns the names (with `@`).
    pub fn join(&mut self, chan: &str) -> Vec<String> {
        self.send(&format!("JOIN {chan}"));
        self.joined(chan)
    }

    /// Reads the JOIN echo and the NAMES reply of a join; returns the names.
    pub fn joined(&mut self, chan: &str) -> Vec<String> {
        let user = if self.user.is_empty() {
            &self.nick
        } else {
            &self.user
        };
        let me = format!(":{}!{user}@sala", self.nick);
        self.expect(&format!("{me} JOIN {chan}"));
        let mut names = Vec::new();
        loop {
            let line = self.next();
            let p = parse(&line);
            match p.command.as_str() {
                // The topic (332, 333) comes before the names.
                "332" | "333" => {}
                "353" => names.extend(p.params[3].split(' ').map(str::to_string)),
                "366" => {
                    assert_eq!(p.params[1], chan);
                    return names;
                }
                _ => panic!("{}: in NAMES of {chan}: {line:?}", self.nick),
            }
        }
    }
}
