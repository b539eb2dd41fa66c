//! Accounts, offline whispers and the data directory: what a restart (clean,
//! or `kill -9` of a real server process) must not lose.

mod common;

use common::chat1::Client;
use common::{ServerProcess as Process, kill, start, wait_exit};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A library server keeping its data in `dir`.
fn start_in(dir: &Path, tweak: impl FnOnce(&mut sala::Config)) -> sala::Server {
    start(|c| {
        c.data_dir = Some(dir.to_path_buf());
        tweak(c);
    })
}

/// Registers `nick` with `password` on a fresh connection.
fn register(addr: SocketAddr, nick: &str, password: &str) -> Client {
    let mut c = Client::login(addr, nick);
    c.send(&format!("REGISTER {password}"));
    c.expect(&format!("OK REGISTER {nick}"));
    c
}

/// Logs in to a registered nick; returns the client and the `OFFLINE` lines it got.
fn log_in(addr: SocketAddr, nick: &str, password: &str) -> (Client, Vec<String>) {
    let mut c = Client::connect(addr);
    let guest = c.nick.clone();
    c.send(&format!("NICK {nick} {password}"));
    c.expect(&format!("NICK {guest} {nick}"));
    c.nick = nick.to_string();
    let mut lines = c.lines_until("END OFFLINE", |l| l == "END OFFLINE");
    lines.pop();
    (c, lines)
}

/// Every message text of `room`, oldest first, paging back with HISTORY.
fn all_history(c: &mut Client, room: &str) -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    for _ in 0..10_000 {
        match &before {
            Some(b) => c.send(&format!("HISTORY {room} {b}")),
            None => c.send(&format!("HISTORY {room}")),
        }
        let end = format!("END HISTORY {room}");
        let mut page = c.lines_until(&end, |l| l == end);
        page.pop();
        if page.is_empty() {
            return texts;
        }
        let mut page_texts = Vec::new();
        for (i, line) in page.iter().enumerate() {
            // HISTORY <room> <ms> <nick> <text>
            let mut parts = line.splitn(5, ' ');
            assert_eq!(parts.next(), Some("HISTORY"), "{line}");
            parts.next();
            let at = parts.next().expect("a stamp");
            if i == 0 {
                before = Some(at.to_string());
            }
            parts.next();
            page_texts.push(parts.next().unwrap_or("").to_string());
        }
        page_texts.extend(texts);
        texts = page_texts;
    }
    panic!("history of {room} never reached its beginning");
}

#[test]
fn register_and_log_in_with_the_right_password_only() {
    let server = start(|_| {});
    let addr = server.local_addr();
    let mut guest = Client::connect(addr);
    guest.refused("REGISTER pw", "NICK_RESERVED");
    let mut ana = register(addr, "ana", "s3cret");
    ana.refused("REGISTER again", "ALREADY_REGISTERED");
    // While ana is here, nobody else may take the name, password or not.
    guest.refused("NICK ana s3cret", "NICK_TAKEN");
    ana.quit();
    guest.refused("NICK ana", "BAD_PASSWORD");
    guest.refused("NICK ANA wrong", "BAD_PASSWORD");
    let (mut ana, waiting) = log_in(addr, "Ana", "s3cret");
    assert!(waiting.is_empty());
    ana.assert_silent();
    // An unregistered nick needs no password, and a password is ignored.
    let mut bob = Client::login(addr, "bob");
    bob.assert_silent();
    server.shutdown();
}

#[test]
fn lines_sent_right_after_a_password_wait_for_the_login() {
    let server = start(|_| {});
    let addr = server.local_addr();
    register(addr, "ana", "pw").quit();
    let mut ana = Client::connect(addr);
    let guest = ana.nick.clone();
    // Pipelined: the JOIN must apply after the (slow) password check.
    ana.send_bytes(b"NICK ana pw\nJOIN home\nSAY home first\n");
    ana.expect(&format!("NICK {guest} ana"));
    ana.expect("END OFFLINE");
    ana.expect("JOIN home ana");
    ana.wait_line("END HISTORY home");
    ana.expect("MSG home ana first");
    // The room belongs to the account: it stays, and ana owns it, when empty.
    ana.send("PART home");
    ana.expect("PART home ana");
    assert_eq!(ana.rooms(), vec!["ROOM home 0 ana"]);
    server.shutdown();
}

#[test]
fn whispers_to_an_absent_account_wait_and_arrive_exactly_once() {
    let server = start(|c| c.inbox_cap = 2);
    let addr = server.local_addr();
    register(addr, "ana", "pw").quit();
    let mut bob = Client::login(addr, "bob");
    bob.send("WHISPER ana are you there?");
    bob.expect("WHISPER bob ana are you there?");
    bob.send("WHISPER ANA call me");
    bob.expect("WHISPER bob ana call me");
    bob.refused("WHISPER ana one too many", "INBOX_FULL");
    bob.refused("WHISPER nobody hello", "NO_SUCH_USER");
    let (mut ana, waiting) = log_in(addr, "ana", "pw");
    assert_eq!(waiting.len(), 2, "{waiting:?}");
    assert!(waiting[0].starts_with("OFFLINE ") && waiting[0].ends_with(" bob are you there?"));
    assert!(waiting[1].ends_with(" bob call me"));
    ana.quit();
    let (_ana, again) = log_in(addr, "ana", "pw");
    assert!(again.is_empty(), "delivered twice: {again:?}");
    server.shutdown();
}

#[test]
fn rooms_owners_keys_accounts_and_history_survive_a_clean_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start_in(dir.path(), |_| {});
    let addr = server.local_addr();
    let mut ana = register(addr, "ana", "pw");
    ana.send("JOIN vault k3y");
    ana.wait_line("END HISTORY vault");
    for i in 0..120 {
        ana.send(&format!("SAY vault note {i}"));
        ana.expect(&format!("MSG vault ana note {i}"));
    }
    ana.join("scratch"); // a room of ana, but she is logged in: it stays too
    let mut guest = Client::login(addr, "bob");
    guest.join("passing"); // bob is not registered: this room vanishes
    guest.send("SAY passing gone soon");
    guest.expect("MSG passing bob gone soon");
    server.shutdown();

    let server = start_in(dir.path(), |_| {});
    let addr = server.local_addr();
    let mut carl = Client::login(addr, "carl");
    assert_eq!(carl.rooms(), vec!["ROOM scratch 0 ana", "ROOM vault 0 ana"]);
    carl.refused("JOIN vault", "BAD_KEY");
    carl.refused("JOIN vault wrong", "BAD_KEY");
    carl.send("JOIN vault k3y");
    carl.expect("JOIN vault carl");
    carl.wait_line("END HISTORY vault");
    let texts = all_history(&mut carl, "vault");
    let want: Vec<String> = (0..120).map(|i| format!("note {i}")).collect();
    assert_eq!(texts, want);
    // Nobody but ana, logged in, owns the room.
    carl.refused("DELETE vault", "NOT_OWNER");
    let mut fake = Client::connect(addr);
    fake.refused("NICK ana", "BAD_PASSWORD");
    let (mut ana, _) = log_in(addr, "ana", "pw");
    ana.send("DELETE vault");
    ana.expect("CLOSED vault ana");
    carl.expect("CLOSED vault ana");
    // The guest room and its history did not survive; a new one starts empty.
    let joined = carl.join("passing");
    assert!(
        !joined.iter().any(|l| l.starts_with("HISTORY")),
        "{joined:?}"
    );
    server.shutdown();

    let server = start_in(dir.path(), |_| {});
    let mut dave = Client::login(server.local_addr(), "dave");
    assert_eq!(dave.rooms(), vec!["ROOM scratch 0 ana"]);
    let joined = dave.join("vault");
    assert!(
        !joined.iter().any(|l| l.starts_with("HISTORY")),
        "deleted history came back"
    );
    server.shutdown();
}

/// Login tokens (`TOKEN`, docs/protocol.md) outlive a clean restart with a
/// data directory, and only as digests; a revoked one stays revoked.
#[test]
fn login_tokens_survive_a_restart_and_revoked_ones_stay_revoked() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start_in(dir.path(), |_| {});
    let mut ana = register(server.local_addr(), "ana", "s3cret");
    let token = |c: &mut Client| {
        c.send("TOKEN");
        let line = c.expect_prefix("OK TOKEN ");
        line.split(' ').nth(2).expect("a token").to_string()
    };
    let kept = token(&mut ana);
    let revoked = token(&mut ana);
    ana.send(&format!("REVOKE {revoked}"));
    ana.expect("OK REVOKE");
    ana.quit();
    server.shutdown();

    for file in ["sala.db", "sala.db-wal"] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&kept),
            "a token itself is never stored ({file})"
        );
    }

    let server = start_in(dir.path(), |_| {});
    let mut c = Client::connect(server.local_addr());
    let guest = c.nick.clone();
    c.send(&format!("RESUME {revoked}"));
    c.expect_err("BAD_TOKEN");
    c.send(&format!("RESUME {kept}"));
    c.expect(&format!("NICK {guest} ana"));
    c.expect("END OFFLINE");
    server.shutdown();
}

#[test]
fn every_echoed_message_survives_kill_9() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = Process::start(dir.path());
    let mut ana = register(server.addr, "ana", "pw");
    ana.join("log");
    let mut burst = String::new();
    for i in 0..5000 {
        burst.push_str(&format!("SAY log entry {i}\n"));
    }
    ana.send_bytes(burst.as_bytes());
    // Kill the server in the middle of the burst, once a good part is echoed.
    let mut echoed = Vec::new();
    while echoed.len() < 1500 {
        let line = ana.next();
        if let Some(text) = line.strip_prefix("MSG log ana ") {
            echoed.push(text.to_string());
        }
    }
    server.kill_9();
    for line in ana.read_to_end() {
        if let Some(text) = line.strip_prefix("MSG log ana ") {
            echoed.push(text.to_string());
        }
    }
    let server = Process::start(dir.path());
    let mut bob = Client::login(server.addr, "bob");
    bob.join("log");
    let stored = all_history(&mut bob, "log");
    assert!(
        stored.len() >= echoed.len(),
        "{} stored, {} echoed",
        stored.len(),
        echoed.len()
    );
    // The stored history starts with every echoed message, in order.
    assert_eq!(stored[..echoed.len()], echoed[..]);
    let (_ana, _) = log_in(server.addr, "ana", "pw");
    drop(server);
}

#[test]
fn a_damaged_database_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("sala.db"), vec![0x42u8; 16 * 1024]).expect("write junk");
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server binary");
    let Some(status) = wait_exit(&mut child, Duration::from_secs(30)) else {
        kill(&mut child);
        panic!("the server kept running on a damaged database");
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
        .expect("read stderr");
    assert!(!status.success());
    assert!(
        err.contains("not a database") || err.contains("damaged"),
        "{err}"
    );
    // The file was left as it was: an error, never a silent wipe.
    let kept = std::fs::read(dir.path().join("sala.db")).expect("read back");
    assert_eq!(kept, vec![0x42u8; 16 * 1024]);
}

#[test]
fn an_account_rooms_topic_settings_roles_and_bans_survive_kill_9() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = Process::start(dir.path());
    let mut ana = register(server.addr, "ana", "pw");
    let mut bob = register(server.addr, "bob", "pw");
    ana.join("class");
    bob.join("class");
    ana.expect("JOIN class bob");
    let setup = [
        "TOPIC class Week 3: sockets",
        "SET class moderated",
        "SET class slow 30",
        "SET class limit 25",
        "UNSET class no-outside",
        "OP class bob",
        "BAN class *!*@10.0.0.7",
        "MUTE class carl",
    ];
    for line in setup {
        ana.send(line);
    }
    // The last change's echo: everything before it is committed.
    ana.wait_line("MUTED class carl!*@* ana");
    let mut guest = Client::login(server.addr, "dan");
    guest.join("class");
    ana.send("VOICE class dan");
    ana.wait_line("VOICED class dan ana");
    server.kill_9();
    let server = Process::start(dir.path());
    let (mut ana, _) = log_in(server.addr, "ana", "pw");
    ana.send("SETTINGS class");
    let lines = ana.lines_until("END SETTINGS class", |l| l == "END SETTINGS class");
    assert!(
        lines[0].starts_with("TOPIC class ana ") && lines[0].ends_with(" Week 3: sockets"),
        "{lines:?}"
    );
    let rest: Vec<String> = lines[1..]
        .iter()
        .map(|l| match l.split_once(" ana 1") {
            // BAN and MUTE lines end with their stamp.
            Some((head, _)) => format!("{head} ana"),
            None => l.clone(),
        })
        .collect();
    assert_eq!(
        rest,
        [
            "SETTING class topic-lock",
            "SETTING class moderated",
            "SETTING class limit 25",
            "SETTING class slow 30",
            "ROLE class ana owner",
            "ROLE class bob op",
            "BAN class *!*@10.0.0.7 ana",
            "MUTE class carl!*@* ana",
            "END SETTINGS class",
        ]
        .map(String::from),
        "the guest's voice is not kept; the account's op is"
    );
    // The settings work after the restart: bob (an account) is an operator.
    let (mut bob, _) = log_in(server.addr, "bob", "pw");
    bob.join("class");
    bob.wait_prefix("TOPIC class ana ");
    bob.send("SAY class still in charge");
    bob.expect("MSG class bob still in charge");
    let mut eve = Client::login(server.addr, "eve");
    eve.join("class");
    eve.wait_prefix("TOPIC class ana ");
    eve.refused("SAY class hi", "MODERATED");
    drop(server);
}
