//! Issue 11, findings 5, 7 and 8, tried as a hostile user would and shown
//! fixed: password guessing (5), data readable by everyone and weak room keys
//! (7), a database file that is empty or not Sala's, and the exit status
//! after a store failure (8).
//!
//! Several hosts are played by binding client sockets to distinct loopback
//! addresses (127.0.0.2, 127.0.0.3, ...) before connecting. Every read has a
//! timeout, every wait a bound, and every server started is stopped.

mod common;

use common::chat1::Client;
use common::{connect_from, kill, start, wait_exit};
use rusqlite::{Connection, OpenFlags};
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

// ---------------------------------------------------------------- helpers

/// A CHAT/1 client connecting from `ip` (a loopback address other than
/// 127.0.0.1 plays another host); reads the WELCOME.
fn client_from(ip: [u8; 4], addr: SocketAddr) -> Client {
    let mut c = Client::from_stream(connect_from(Ipv4Addr::from(ip), addr));
    c.welcome();
    c
}

/// Registers `nick` with `password` on a fresh connection, then quits.
fn register(addr: SocketAddr, nick: &str, password: &str) {
    let mut c = Client::login(addr, nick);
    c.send(&format!("REGISTER {password}"));
    c.expect(&format!("OK REGISTER {nick}"));
    c.quit();
}

/// Sends `NICK nick password` and returns the `ERR BAD_PASSWORD` text it gets.
fn wrong(c: &mut Client, nick: &str, password: &str) -> String {
    c.send(&format!("NICK {nick} {password}"));
    let line = c.next();
    line.strip_prefix("ERR BAD_PASSWORD ")
        .unwrap_or_else(|| panic!("{}: expected ERR BAD_PASSWORD, got {line:?}", c.nick))
        .to_string()
}

/// The seconds of "try again in N s" in a refusal's text.
fn wait_in(text: &str) -> u64 {
    let rest = text
        .split("try again in ")
        .nth(1)
        .unwrap_or_else(|| panic!("no wait stated in {text:?}"));
    let secs = rest.split(' ').next().unwrap_or_default();
    secs.parse()
        .unwrap_or_else(|_| panic!("no whole seconds in {text:?}"))
}

/// Logs `c` in to `nick`; the login must be taken at once.
fn log_in(c: &mut Client, nick: &str, password: &str) {
    let guest = c.nick.clone();
    c.send(&format!("NICK {nick} {password}"));
    c.expect(&format!("NICK {guest} {nick}"));
    c.nick = nick.to_string();
    c.wait_line("END OFFLINE");
}

/// The permission bits of `path`.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The database files of `dir` that exist.
fn db_files(dir: &Path) -> Vec<PathBuf> {
    ["sala.db", "sala.db-wal", "sala.db-shm"]
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.exists())
        .collect()
}

/// A `server` process of this build on a free port with its data in `dir`.
fn server_command(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--web-listen",
        "off",
        "--data-dir",
    ])
    .arg(dir)
    .env("RUST_LOG", "info")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    cmd
}

/// Runs a server that must refuse to start: its exit status and what it said.
fn refused_start(dir: &Path) -> (ExitStatus, String) {
    let mut child = server_command(dir)
        .spawn()
        .expect("start the server binary");
    let Some(status) = wait_exit(&mut child, Duration::from_secs(30)) else {
        kill(&mut child);
        panic!("the server kept running on {}", dir.display());
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    (status, err)
}

/// A running server process; killed on drop whatever a test found.
struct Process {
    child: Child,
    addr: SocketAddr,
    /// Every log line, as it comes.
    log: mpsc::Receiver<String>,
}

impl Process {
    fn spawn(mut cmd: Command) -> Process {
        let mut child = cmd.spawn().expect("start the server binary");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut process = Process {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        let line = process.log_line("listening on ");
        process.addr = line
            .split("listening on ")
            .nth(1)
            .expect("an address")
            .trim()
            .parse()
            .expect("a socket address");
        process
    }

    /// Waits (bounded) for a log line containing `what`.
    fn log_line(&self, what: &str) -> String {
        let deadline = std::time::Instant::now() + common::WAIT_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(what) => return line,
                Ok(_) => {}
                Err(_) => panic!("the server never logged {what:?}"),
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

// ------------------------------------------------- finding 8: the store

#[test]
fn a_zero_length_database_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("sala.db");
    std::fs::write(&db, b"").expect("an empty sala.db");
    let (status, err) = refused_start(dir.path());
    assert!(!status.success(), "{status}: {err}");
    assert!(err.contains("empty"), "{err}");
    assert!(err.contains("sala.db"), "{err}");
    assert_eq!(std::fs::metadata(&db).expect("still there").len(), 0);
    assert_eq!(db_files(dir.path()), [db], "nothing was created beside it");
}

#[test]
fn a_foreign_sqlite_file_is_refused_before_anything_touches_it() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("sala.db");
    {
        let other = Connection::open(&db).expect("create another program's database");
        other
            .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
            .expect("fill it");
    }
    let before = std::fs::read(&db).expect("read it");
    // Byte 18 of the header is 1 in rollback-journal mode, 2 in WAL mode.
    assert_eq!(before[18], 1);
    let (status, err) = refused_start(dir.path());
    assert!(!status.success(), "{status}: {err}");
    assert!(err.contains("not a Sala database"), "{err}");
    assert!(
        std::fs::read(&db).expect("read back") == before,
        "the file changed"
    );
    assert_eq!(
        db_files(dir.path()),
        [db],
        "no WAL or shared memory file was made"
    );
}

#[test]
fn a_database_of_another_application_id_is_refused() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("sala.db");
    {
        let other = Connection::open(&db).expect("create another program's database");
        other
            .execute_batch("PRAGMA application_id = 1234;")
            .expect("an application id");
    }
    let before = std::fs::read(&db).expect("read it");
    let (status, err) = refused_start(dir.path());
    assert!(!status.success(), "{status}: {err}");
    assert!(err.contains("not a Sala database"), "{err}");
    assert!(
        std::fs::read(&db).expect("read back") == before,
        "the file changed"
    );
}

#[test]
fn a_fresh_directory_still_gets_a_database() {
    let top = tempfile::tempdir().expect("a temp dir");
    let dir = top.path().join("new").join("data");
    let server = start(|c| c.data_dir = Some(dir.clone()));
    register(server.local_addr(), "ana", "pw");
    server.shutdown();
    let db = Connection::open_with_flags(dir.join("sala.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("a database was made");
    let accounts: i64 = db
        .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))
        .expect("count accounts");
    assert_eq!(accounts, 1);
    assert!(
        !dir.join("sala.db.new").exists(),
        "the file it was made under is gone"
    );
}

#[test]
fn a_store_failure_ends_the_process_with_a_failure_status() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut cmd = server_command(dir.path());
    cmd.args(["--flood-rate", "0"]);
    // SAFETY: between fork and exec only async-signal-safe calls: signal(2)
    // and setrlimit(2). Files of the child may not grow past 256 KiB, and
    // writing past it fails with EFBIG instead of killing it (SIGXFSZ).
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 256 * 1024,
                rlim_max: 256 * 1024,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut server = Process::spawn(cmd);
    let mut ana = Client::login(server.addr, "ana");
    ana.join("log");
    let text = "x".repeat(2000);
    let mut bye = None;
    for i in 0..10_000 {
        ana.send(&format!("SAY log {i} {text}"));
        let line = ana.next();
        if let Some(why) = line.strip_prefix("BYE ") {
            bye = Some(why.to_string());
            break;
        }
        assert_eq!(line, format!("MSG log ana {i} {text}"));
    }
    assert_eq!(
        bye.as_deref(),
        Some("server stopping: it cannot write its database")
    );
    let Some(status) = wait_exit(&mut server.child, common::WAIT_LIMIT) else {
        panic!("the server did not stop after its store failed");
    };
    assert!(
        !status.success(),
        "exit status {status} after a store failure"
    );
    server.log_line("cannot commit");
}

// --------------------------------------------- finding 7: data at rest

#[test]
fn the_data_dir_and_every_database_file_are_private() {
    let top = tempfile::tempdir().expect("a temp dir");
    let dir = top.path().join("data");
    let server = start(|c| c.data_dir = Some(dir.clone()));
    register(server.local_addr(), "ana", "pw");
    // The server is running: the WAL and shared-memory files exist now.
    let files = db_files(&dir);
    assert_eq!(files.len(), 3, "{files:?}");
    assert_eq!(mode(&dir), 0o700, "data dir");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    server.shutdown();
}

#[test]
fn an_older_world_readable_data_dir_is_made_private() {
    let top = tempfile::tempdir().expect("a temp dir");
    let dir = top.path().join("data");
    let server = start(|c| c.data_dir = Some(dir.clone()));
    register(server.local_addr(), "ana", "pw");
    server.shutdown();
    // As an older Sala left them.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for f in db_files(&dir) {
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let server = start(|c| c.data_dir = Some(dir.clone()));
    assert_eq!(mode(&dir), 0o700, "data dir");
    for f in db_files(&dir) {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    let mut ana = Client::connect(server.local_addr());
    log_in(&mut ana, "ana", "pw");
    server.shutdown();
}

/// The stored key hash of account room `room` in the database of `dir`.
fn stored_key(dir: &Path, room: &str) -> Option<String> {
    let db = Connection::open_with_flags(dir.join("sala.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the database");
    db.query_row(
        "SELECT key_hash FROM rooms WHERE room_key = ?1",
        [room],
        |r| r.get(0),
    )
    .expect("the room is stored")
}

/// A room key as older servers stored it: `sha256$<salt>$<hex digest>`.
fn old_key_hash(key: &str) -> String {
    use sha2::{Digest, Sha256};
    let salt = "00112233445566778899aabb";
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(b"$");
    hasher.update(key.as_bytes());
    let digest: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256${salt}${digest}")
}

#[test]
fn room_keys_are_argon2id_and_old_ones_are_replaced_when_next_used() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start(|c| c.data_dir = Some(dir.path().to_path_buf()));
    let addr = server.local_addr();
    register(addr, "ana", "pw");
    let mut ana = Client::connect(addr);
    log_in(&mut ana, "ana", "pw");
    ana.send("JOIN vault k3y");
    ana.expect("JOIN vault ana");
    ana.wait_line("END HISTORY vault");
    ana.send("JOIN attic d00r");
    ana.expect("JOIN attic ana");
    ana.wait_line("END HISTORY attic");
    server.shutdown();
    let key = stored_key(dir.path(), "vault").expect("a key hash");
    assert!(key.starts_with("$argon2id$"), "{key}");

    // The attic's key as an older server stored it.
    let db = Connection::open(dir.path().join("sala.db")).expect("open the database");
    db.execute(
        "UPDATE rooms SET key_hash = ?1 WHERE room_key = 'attic'",
        [old_key_hash("d00r")],
    )
    .expect("store an old-style key");
    drop(db);

    let server = start(|c| c.data_dir = Some(dir.path().to_path_buf()));
    let addr = server.local_addr();
    let mut bob = Client::login(addr, "bob");
    bob.refused("JOIN attic wrong", "BAD_KEY");
    assert!(stored_key(dir.path(), "attic").is_some_and(|k| k.starts_with("sha256$")));
    bob.send("JOIN attic d00r");
    bob.expect("JOIN attic bob");
    bob.wait_line("END HISTORY attic");
    bob.refused("JOIN vault k3Y", "BAD_KEY");
    // The join committed the new hash before its lines were sent.
    let key = stored_key(dir.path(), "attic").expect("a key hash");
    assert!(key.starts_with("$argon2id$"), "not migrated: {key}");
    let mut carl = Client::login(addr, "carl");
    carl.refused("JOIN attic wrong", "BAD_KEY");
    carl.send("JOIN attic d00r");
    carl.expect("JOIN attic carl");
    carl.wait_line("END HISTORY attic");
    server.shutdown();
}

// ------------------------------------------ finding 5: password guessing

#[test]
fn five_wrong_passwords_in_a_row_then_each_try_waits_longer() {
    let server = start(|_| {});
    let addr = server.local_addr();
    register(addr, "ana", "s3cret");
    let mut guesser = client_from([127, 0, 0, 2], addr);
    for i in 1..=4 {
        let text = wrong(&mut guesser, "ana", &format!("guess{i}"));
        assert_eq!(text, "wrong password for ana");
    }
    let text = wrong(&mut guesser, "ana", "guess5");
    assert_eq!(wait_in(&text), 1, "{text}");
    // Refused at once, unchecked, with the time left; the right password too,
    // from another host: the account is what waits.
    let text = wrong(&mut guesser, "ana", "guess6");
    assert!(text.contains("too many wrong passwords for ana"), "{text}");
    let mut owner = client_from([127, 0, 0, 3], addr);
    let text = wrong(&mut owner, "ana", "s3cret");
    assert!(text.contains("too many wrong passwords for ana"), "{text}");
    assert_eq!(wait_in(&text), 1, "{text}");
    // Waiting the time the answer gave is enough (the doubling itself is
    // tested with a clock moved by hand: src/dispatch/mod.rs): the next
    // wrong try is taken, and the wait doubles.
    std::thread::sleep(Duration::from_secs(wait_in(&text)));
    let text = wrong(&mut guesser, "ana", "guess7");
    assert!(text.starts_with("wrong password for ana"), "{text}");
    assert_eq!(wait_in(&text), 2, "{text}");
    // After waiting what the answer said, the right password is taken, and
    // the account's count starts again (a host that never guessed wrong
    // gets no wait; the guesser's address still has its own count).
    std::thread::sleep(Duration::from_secs(2));
    log_in(&mut owner, "ana", "s3cret");
    owner.quit();
    let mut other = client_from([127, 0, 0, 7], addr);
    let text = wrong(&mut other, "ana", "guess8");
    assert_eq!(text, "wrong password for ana");
    server.shutdown();
}

#[test]
fn one_address_guessing_across_accounts_waits_too() {
    let server = start(|_| {});
    let addr = server.local_addr();
    register(addr, "ana", "pw-a");
    register(addr, "bob", "pw-b");
    let mut sprayer = client_from([127, 0, 0, 4], addr);
    for (nick, guess) in [("ana", "x1"), ("bob", "x2"), ("ana", "x3"), ("bob", "x4")] {
        assert_eq!(
            wrong(&mut sprayer, nick, guess),
            format!("wrong password for {nick}")
        );
    }
    let text = wrong(&mut sprayer, "ana", "x5");
    assert!(text.contains("from your address"), "{text}");
    assert_eq!(wait_in(&text), 1, "{text}");
    let text = wrong(&mut sprayer, "bob", "pw-b");
    assert!(text.contains("from your address"), "{text}");
    // Another host logs in to either account at once: neither reached five.
    let mut elsewhere = client_from([127, 0, 0, 5], addr);
    log_in(&mut elsewhere, "bob", "pw-b");
    server.shutdown();
}

#[test]
fn an_account_not_under_attack_logs_in_while_another_is_guessed() {
    let server = start(|_| {});
    let addr = server.local_addr();
    register(addr, "ana", "pw-a");
    register(addr, "bob", "pw-b");
    // Twenty hosts guess ana's password at once, over and over.
    let mut guessers: Vec<Client> = (0..20)
        .map(|i| client_from([127, 0, 1, 10 + i], addr))
        .collect();
    for round in 0..3 {
        for g in &mut guessers {
            g.send(&format!("NICK ana wrong{round}"));
        }
        let mut checked = 0;
        for g in &mut guessers {
            let text = g.expect_prefix("ERR BAD_PASSWORD ");
            if text.starts_with("ERR BAD_PASSWORD wrong password for ana") {
                checked += 1;
            } else {
                assert!(text.contains("too many wrong passwords for ana"), "{text}");
            }
        }
        // Five of the first round are checked; the rest are told to wait.
        if round == 0 {
            assert_eq!(checked, 5);
        }
    }
    let mut bob = client_from([127, 0, 0, 6], addr);
    log_in(&mut bob, "bob", "pw-b");
    server.shutdown();
}
