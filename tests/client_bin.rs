//! The `client` binary driven through piped stdin, watched by a test client
//! in the same room. Every wait is bounded; a child left running is killed.

mod common;

use common::chat1::Client;
use common::{kill, start_default, wait_exit};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// How long the client may take to exit once it has reason to.
const EXIT_LIMIT: Duration = Duration::from_secs(20);

/// How long the client may take to show a line.
const SHOW_LIMIT: Duration = Duration::from_secs(15);

/// A running `client` process; killed if the test ends first.
struct Running {
    child: Child,
    /// Its stdout line by line, once [`Running::expect_shown`] has started
    /// reading it, and the lines taken from it so far.
    shown: Option<Receiver<String>>,
    taken: Vec<String>,
}

impl Running {
    /// Starts the client for `addr` with extra `args`, all three streams piped.
    fn start(addr: SocketAddr, args: &[&str]) -> Running {
        let child = Command::new(env!("CARGO_BIN_EXE_client"))
            .arg(addr.to_string())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the client binary");
        Running {
            child,
            shown: None,
            taken: Vec::new(),
        }
    }

    /// Waits (bounded) until the client has shown a line containing `want`;
    /// returns it. A thread reads stdout from the first call on.
    fn expect_shown(&mut self, want: &str) -> String {
        if self.shown.is_none() {
            let out = self.child.stdout.take().expect("stdout is piped");
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in std::io::BufRead::lines(std::io::BufReader::new(out)) {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            self.shown = Some(rx);
        }
        let deadline = Instant::now() + SHOW_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let shown = self.shown.as_ref().expect("started above");
            match shown.recv_timeout(left) {
                Ok(line) => {
                    self.taken.push(line.clone());
                    if line.contains(want) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "the client did not show {want:?} in {SHOW_LIMIT:?}; it showed:\n{}",
                    self.taken.join("\n")
                ),
            }
        }
    }

    fn stdin(&mut self) -> ChildStdin {
        self.child.stdin.take().expect("stdin is piped")
    }

    /// Waits (polling, bounded) for the process to exit; returns its status,
    /// stdout and stderr. Kills it and panics if it does not exit in time.
    fn wait(mut self) -> (ExitStatus, String, String) {
        let Some(status) = wait_exit(&mut self.child, EXIT_LIMIT) else {
            kill(&mut self.child);
            let (out, err) = self.output();
            panic!("the client did not exit in {EXIT_LIMIT:?}\nstdout:\n{out}\nstderr:\n{err}");
        };
        let (out, err) = self.output();
        (status, out, err)
    }

    /// What the (exited) process wrote.
    fn output(&mut self) -> (String, String) {
        let mut out = String::new();
        let mut err = String::new();
        if let Some(mut s) = self.child.stdout.take() {
            let _ = s.read_to_string(&mut out);
        }
        if let Some(shown) = self.shown.take() {
            // The reading thread ends with the exited process's stdout.
            self.taken.extend(shown.iter());
            out = self.taken.join("\n");
        }
        if let Some(mut s) = self.child.stderr.take() {
            let _ = s.read_to_string(&mut err);
        }
        (out, err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// Bob (a test client) in `lobby`, and the client binary started as ana for
/// `lobby`, with its stdin.
fn bob_and_ana(addr: SocketAddr) -> (Client, Running, ChildStdin) {
    let mut bob = Client::login(addr, "bob");
    bob.join("lobby");
    let mut ana = Running::start(addr, &["--nick", "ana", "--room", "lobby"]);
    let stdin = ana.stdin();
    (bob, ana, stdin)
}

#[test]
fn piped_lines_are_said_whispered_broadcast_then_eof_quits_with_status_0() {
    let server = start_default();
    let (mut bob, ana, mut stdin) = bob_and_ana(server.local_addr());
    stdin
        .write_all(b"hello\n/w bob psst\n/all hi\n")
        .expect("write the client's stdin");
    drop(stdin);
    bob.expect_all(&[
        "JOIN lobby ana",
        "MSG lobby ana hello",
        "WHISPER ana bob psst",
        "BROADCAST ana hi",
    ]);
    let quit = bob.expect_prefix("QUIT ana");
    let (status, out, err) = ana.wait();
    assert!(status.success(), "{status}\nstdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("hello"), "its own message is shown:\n{out}");
    bob.assert_silent();
    eprintln!("bob saw {quit:?}");
    server.shutdown();
}

#[test]
fn slash_quit_sends_its_text_and_exits_0() {
    let server = start_default();
    let (mut bob, ana, mut stdin) = bob_and_ana(server.local_addr());
    stdin
        .write_all(b"/quit see you\n")
        .expect("write the client's stdin");
    bob.expect_all(&["JOIN lobby ana", "QUIT ana see you"]);
    let (status, out, err) = ana.wait();
    assert!(status.success(), "{status}\nstdout:\n{out}\nstderr:\n{err}");
    drop(stdin);
    server.shutdown();
}

#[test]
fn server_shutdown_while_the_client_runs_exits_non_zero() {
    let server = start_default();
    // Stdin stays open: the client has no reason to leave but the server's.
    let (mut bob, ana, stdin) = bob_and_ana(server.local_addr());
    bob.expect("JOIN lobby ana");
    server.shutdown();
    assert_eq!(bob.expect_bye(), "server shutting down");
    let (status, out, err) = ana.wait();
    assert!(
        !status.success(),
        "exited 0 although the server went away\nstdout:\n{out}\nstderr:\n{err}"
    );
    drop(stdin);
}

#[test]
fn no_server_exits_non_zero() {
    let server = start_default();
    let addr = server.local_addr();
    server.shutdown();
    let mut ana = Running::start(addr, &["--nick", "ana"]);
    drop(ana.stdin());
    let (status, out, err) = ana.wait();
    assert!(
        !status.success(),
        "exited 0 with no server\nstdout:\n{out}\nstderr:\n{err}"
    );
}

#[test]
fn a_password_of_several_words_is_refused_not_cut() {
    let server = start_default();
    let addr = server.local_addr();
    // The session: "/register two words" answered "ok: REGISTER carl"
    // but registered "two".
    let mut carl = Running::start(addr, &["--nick", "carl"]);
    carl.stdin()
        .write_all(b"/register two words\n")
        .expect("write the client's stdin");
    let (status, out, err) = carl.wait();
    assert!(status.success(), "{status}\nstdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("one word") && !out.contains("REGISTER"),
        "refused by the client, nothing registered:\n{out}"
    );
    // carl is no account: anyone may take the nick without a password.
    Client::login(addr, "carl");
    // --password is checked before anything is sent.
    let mut dan = Running::start(addr, &["--nick", "dan", "--password", "two words"]);
    drop(dan.stdin());
    let (status, out, err) = dan.wait();
    assert!(
        !status.success() && err.contains("--password") && err.contains("one word"),
        "{status}\nstdout:\n{out}\nstderr:\n{err}"
    );
    assert!(
        !err.contains("two words"),
        "the password is not echoed:\n{err}"
    );
    server.shutdown();
}

#[test]
fn history_says_when_nothing_is_older_and_repeats_nothing_shown_live() {
    let server = start_default();
    let addr = server.local_addr();
    // A room ana creates: what is said there was shown live, nothing is older.
    let mut ana = Running::start(addr, &["--nick", "ana", "--room", "den"]);
    let mut stdin = ana.stdin();
    stdin.write_all(b"hello den\n").expect("write stdin");
    ana.expect_shown("[den] ana: hello den");
    stdin.write_all(b"/history\n").expect("write stdin");
    ana.expect_shown("no older messages in den");
    // A room with a message from before: the join shows it, and the page
    // before it is empty, which must be said rather than show nothing.
    let mut bob = Client::login(addr, "bob");
    bob.join("lobby");
    bob.send("SAY lobby from before");
    bob.expect("MSG lobby bob from before");
    stdin.write_all(b"/join lobby\n").expect("write stdin");
    ana.expect_shown("[lobby] bob: from before");
    stdin.write_all(b"/history\n").expect("write stdin");
    ana.expect_shown("no older messages in lobby");
    drop(stdin);
    let (status, out, err) = ana.wait();
    assert!(status.success(), "{status}\nstdout:\n{out}\nstderr:\n{err}");
    assert_eq!(out.matches("hello den").count(), 1, "shown once:\n{out}");
    assert_eq!(out.matches("from before").count(), 1, "shown once:\n{out}");
    server.shutdown();
}

#[test]
fn a_registered_nick_without_its_password_gets_the_clients_hint() {
    let server = start_default();
    let addr = server.local_addr();
    let mut owner = Client::login(addr, "carl");
    owner.send("REGISTER s3cret");
    owner.expect("OK REGISTER carl");
    owner.quit();
    let mut carl = Running::start(addr, &["--nick", "carl"]);
    drop(carl.stdin());
    let (status, out, err) = carl.wait();
    assert!(status.success(), "{status}\nstdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("BAD_PASSWORD: carl is registered: log in with /nick carl PASSWORD"),
        "the client's command, not the protocol's:\n{out}"
    );
    server.shutdown();
}

/// The moderation commands (issue 13): each typed command reaches the room
/// as its verb, and each event comes back to the typist in words.
#[test]
fn moderation_commands_reach_the_room_and_their_events_are_shown_in_words() {
    let server = start_default();
    let addr = server.local_addr();
    let mut ana = Running::start(addr, &["--nick", "ana", "--room", "den"]);
    let mut stdin = ana.stdin();
    ana.expect_shown("ana joined den");
    let mut bob = Client::login(addr, "bob");
    bob.join("den");
    ana.expect_shown("bob joined den");
    let mut carl = Client::login(addr, "carl");
    let mut typed = |line: &str| {
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("write stdin")
    };
    typed("/topic Fractions, chapter 3");
    bob.wait_prefix("TOPIC den ana ");
    ana.expect_shown("topic of den: Fractions, chapter 3 (set by ana, ");
    typed("/op bob");
    bob.wait_line("OPPED den bob ana");
    ana.expect_shown("ana made bob an operator of den");
    typed("/deop bob");
    bob.wait_line("DEOPPED den bob ana");
    typed("/set moderated");
    bob.wait_line("SET den moderated ana");
    ana.expect_shown("ana turned moderated on in den");
    typed("/voice bob");
    bob.wait_line("VOICED den bob ana");
    ana.expect_shown("ana made bob a voiced member of den");
    typed("/set slow 30");
    bob.wait_line("SET den slow ana 30");
    ana.expect_shown("ana set slow of den to 30");
    typed("/mute bob");
    bob.wait_line("MUTED den bob!*@* ana");
    ana.expect_shown("ana muted bob!*@* in den");
    typed("/ban *!*@10.0.0.7");
    bob.wait_line("BANNED den *!*@10.0.0.7 ana");
    typed("/invite carl");
    carl.wait_line("INVITED den carl ana");
    ana.expect_shown("ana invited carl to den (/join den)");
    typed("/settings");
    ana.expect_shown("den: slow 30");
    ana.expect_shown("den: bob is voice");
    ana.expect_shown("den: ban *!*@10.0.0.7 (by ana, ");
    ana.expect_shown("den: mute bob!*@* (by ana, ");
    typed("/unset moderated");
    bob.wait_line("UNSET den moderated ana");
    ana.expect_shown("ana turned moderated off in den");
    for line in ["/unmute bob", "/unban *!*@10.0.0.7", "/devoice bob"] {
        typed(line);
    }
    bob.wait_line("UNMUTED den bob!*@* ana");
    bob.wait_line("UNBANNED den *!*@10.0.0.7 ana");
    bob.wait_line("DEVOICED den bob ana");
    typed("/kill bob");
    ana.expect_shown("NOT_ADMIN");
    typed("/topic");
    let cleared = bob.wait_prefix("TOPIC den ana ");
    assert_eq!(cleared.split(' ').count(), 4, "no text: {cleared}");
    ana.expect_shown("ana cleared the topic of den");
    drop(stdin);
    let (status, out, err) = ana.wait();
    assert!(status.success(), "{status}\nstdout:\n{out}\nstderr:\n{err}");
    server.shutdown();
}
