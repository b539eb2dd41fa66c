//! Real IRC clients against the IRC front door, each run headless in a
//! private tmux server: irssi (Debian package `irssi`) joins a room, talks
//! with a CHAT/1 client both ways, parts and quits; WeeChat (`weechat-curses`)
//! logs in with SASL, shows server-time stamps and fetches a room's history
//! with `CHATHISTORY`. `scripts/test.sh` installs them and tmux
//! (`scripts/test-deps.apt`); without them these tests fail and say so.
//!
//! A client's screen is read with `tmux capture-pane`: the only way to see what
//! a terminal shows is to look at it again, so that is polled every 50 ms,
//! with a deadline. Everything the CHAT/1 side sees is awaited line by line.

mod common;

use common::chat1::Client;
use common::{WAIT_LIMIT, irc_addr, start_irc};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Fails the test (never skips it) if `program` cannot be run.
fn require(program: &str, version_arg: &str) {
    let found = Command::new(program)
        .arg(version_arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if let Err(e) = found {
        panic!(
            "{program} cannot be run ({e}): this test drives a real IRC client. \
             Run scripts/test.sh, which installs the packages of scripts/test-deps.apt \
             (irssi, tmux), or `bash scripts/install-test-deps.sh` once."
        );
    }
}

/// A terminal client (irssi, WeeChat) in a detached session of a tmux
/// server of its own (`tmux -S <socket>`, the socket in the temporary
/// directory that is also the client's home). Dropping it kills that tmux
/// server (and the client with it) and removes the directory.
struct Irssi {
    socket: PathBuf,
    home: tempfile::TempDir,
    /// The client's name, for what a failed wait says.
    name: &'static str,
}

const SESSION: &str = "irc";

/// The private config of the test's irssi: names set, no command queue delay.
const IRSSI_CONFIG: &str = r#"settings = {
  core = { real_name = "Sala test"; user_name = "irsa"; };
  "irc/core" = { cmd_queue_speed = "0msec"; cmds_max_at_once = "100"; };
  "fe-common/core" = { show_names_on_join = "yes"; };
};
"#;

impl Irssi {
    /// Starts irssi connecting to `port` on 127.0.0.1 as `nick`.
    fn start(port: u16, nick: &str) -> Irssi {
        Irssi::start_with(nick, &format!("-c 127.0.0.1 -p {port}"))
    }

    /// Starts irssi as `nick` with `args` on its command line.
    fn start_with(nick: &str, args: &str) -> Irssi {
        let home = tempfile::tempdir().expect("a temp dir for irssi's home");
        let socket = home.path().join("tmux.sock");
        let irssi = Irssi {
            socket,
            home,
            name: "irssi",
        };
        // irssi's own flood protection holds commands back 2.2 s apart;
        // the test server has no flood limit, so irssi needs none either.
        let dir = irssi.home.path().join("irssi");
        std::fs::create_dir_all(&dir).expect("irssi's home");
        std::fs::write(dir.join("config"), IRSSI_CONFIG).expect("irssi's config");
        let command = format!(
            "TERM=screen exec irssi --home={} -n {nick} {args}",
            irssi.home.path().join("irssi").display()
        );
        irssi.run(&command);
        irssi
    }

    /// Starts WeeChat with its home in a fresh directory, running `commands`
    /// (separated by `;`) once started; times are shown in UTC.
    fn weechat(commands: &str) -> Irssi {
        let home = tempfile::tempdir().expect("a temp dir for WeeChat's home");
        let socket = home.path().join("tmux.sock");
        let weechat = Irssi {
            socket,
            home,
            name: "WeeChat",
        };
        let dir = weechat.home.path().join("weechat");
        std::fs::create_dir_all(&dir).expect("WeeChat's home");
        let script = weechat.home.path().join("start.sh");
        std::fs::write(
            &script,
            format!(
                "TZ=UTC TERM=screen exec weechat --dir '{}' -r '{commands}'\n",
                dir.display()
            ),
        )
        .expect("WeeChat's start script");
        weechat.run(&format!("sh '{}'", script.display()));
        weechat
    }

    /// Runs `command` in the tmux session.
    fn run(&self, command: &str) {
        let out = self.tmux(&[
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            "200",
            "-y",
            "50",
            command,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `tmux -S <socket> -f /dev/null <args>` (no user config) and returns its output.
    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .env("TERM", "xterm")
            .env("HOME", self.home.path())
            .stdin(Stdio::null())
            .output()
            .expect("run tmux")
    }

    /// Types `text` literally, then Enter.
    fn type_line(&self, text: &str) {
        let out = self.tmux(&["send-keys", "-t", SESSION, "-l", text]);
        assert!(out.status.success(), "send-keys: {out:?}");
        let out = self.tmux(&["send-keys", "-t", SESSION, "Enter"]);
        assert!(out.status.success(), "send-keys Enter: {out:?}");
    }

    /// What the terminal shows now (empty once irssi has exited).
    fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", SESSION]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until `pred` holds; panics with the screen after [`WAIT_LIMIT`].
    fn wait_screen(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + WAIT_LIMIT;
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} never showed {what}; its screen:\n{screen}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls until irssi has exited (its session, and so the tmux server, is gone).
    fn wait_exit(&self) {
        let deadline = Instant::now() + WAIT_LIMIT;
        while self.tmux(&["has-session", "-t", SESSION]).status.success() {
            assert!(
                Instant::now() < deadline,
                "{} did not exit after /quit; its screen:\n{}",
                self.name,
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn home(&self) -> &Path {
        self.home.path()
    }
}

impl Drop for Irssi {
    fn drop(&mut self) {
        // Only our own tmux server, by its private socket.
        let _ = self.tmux(&["kill-server"]);
    }
}

#[test]
fn irssi_joins_talks_with_a_chat_client_parts_and_quits() {
    require("tmux", "-V");
    require("irssi", "--version");
    let server = start_irc(|_| {});
    let port = irc_addr(&server).port();
    let mut carla = Client::login(server.local_addr(), "carla");
    carla.join("lobby");

    let irssi = Irssi::start(port, "irsa");
    irssi.wait_screen("the end of the MOTD", |s| s.contains("End of /MOTD"));
    assert!(
        irssi.home().join("irssi").exists(),
        "irssi used its own home"
    );

    irssi.type_line("/join #lobby");
    carla.wait_line("JOIN lobby irsa");
    irssi.wait_screen("its join of #lobby", |s| {
        s.contains("irsa [irsa@sala] has joined #lobby")
    });
    irssi.wait_screen("carla as the channel's owner", |s| s.contains("@carla"));

    irssi.type_line("hello from irssi");
    carla.wait_line("MSG lobby irsa hello from irssi");

    carla.send("SAY lobby hi irsa, this is CHAT/1");
    carla.wait_line("MSG lobby carla hi irsa, this is CHAT/1");
    irssi.wait_screen("carla's message", |s| {
        s.contains("<@carla> hi irsa, this is CHAT/1")
    });

    irssi.type_line("/msg carla a private word");
    carla.wait_line("WHISPER irsa carla a private word");

    irssi.type_line("/part #lobby");
    carla.wait_prefix("PART lobby irsa");
    // The QUIT goes to those who share a room with the quitter: join again first.
    irssi.type_line("/join #lobby");
    carla.wait_line("JOIN lobby irsa");
    irssi.type_line("/quit bye");
    carla.wait_line("QUIT irsa bye");
    irssi.wait_exit();
    carla.assert_silent();
    server.shutdown();
}

#[test]
fn irssi_over_tls_trusts_the_servers_certificate_and_talks() {
    require("tmux", "-V");
    require("irssi", "--version");
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("rcgen makes a certificate");
    let dir = tempfile::tempdir().expect("a temp dir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).expect("write the certificate");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("write the key");
    let server = start_irc(|c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
        c.irc_tls_listen = Some("127.0.0.1:0".parse().expect("an address"));
    });
    let port = server.irc_tls_addr().expect("IRC over TLS").port();
    let mut carla = Client::login(server.local_addr(), "carla");
    carla.join("lobby");

    // No server on the command line: /connect -tls, trusting our certificate.
    let irssi = Irssi::start_with("irtls", "");
    irssi.wait_screen("irssi's prompt", |s| s.contains("[(status)]"));
    irssi.type_line(&format!(
        "/connect -tls -tls_cafile {} -tls_verify localhost {port}",
        cert.display()
    ));
    irssi.wait_screen("the end of the MOTD", |s| s.contains("End of /MOTD"));
    irssi.type_line("/join #lobby");
    carla.wait_line("JOIN lobby irtls");
    irssi.type_line("hello over tls");
    carla.wait_line("MSG lobby irtls hello over tls");
    carla.send("SAY lobby and back");
    carla.wait_line("MSG lobby carla and back");
    irssi.wait_screen("carla's message", |s| s.contains("<@carla> and back"));
    irssi.type_line("/quit bye");
    carla.wait_line("QUIT irtls bye");
    irssi.wait_exit();
    server.shutdown();
}

#[test]
fn weechat_logs_in_with_sasl_and_fetches_chathistory_with_server_times() {
    require("tmux", "-V");
    require("weechat", "--version");
    let dir = tempfile::tempdir().expect("a data dir");
    // A first run: ana's room with one message, and wee's account.
    let first = start_irc(|c| c.data_dir = Some(dir.path().to_path_buf()));
    let mut ana = Client::login(first.local_addr(), "ana");
    ana.send("REGISTER sesame");
    ana.wait_line("OK REGISTER ana");
    ana.join("lobby");
    ana.send("SAY lobby old news");
    ana.wait_line("MSG lobby ana old news");
    let mut wee = Client::login(first.local_addr(), "wee");
    wee.send("REGISTER pw");
    wee.wait_line("OK REGISTER wee");
    first.shutdown();
    // The message was said long ago: 2025-01-02 03:04:05 UTC, as stored.
    let db = rusqlite::Connection::open(dir.path().join("sala.db")).expect("the database");
    let moved = db
        .execute(
            "UPDATE messages SET at = 1735787045000 WHERE text = 'old news'",
            [],
        )
        .expect("restamp the message");
    assert_eq!(moved, 1);
    drop(db);

    let server = start_irc(|c| c.data_dir = Some(dir.path().to_path_buf()));
    let port = irc_addr(&server).port();
    let mut carla = Client::login(server.local_addr(), "carla");
    carla.join("lobby");
    let weechat = Irssi::weechat(&format!(
        "/set weechat.look.buffer_time_format \"%Y-%m-%d %H:%M:%S\";\
         /server add sala 127.0.0.1/{port} -notls -nicks=wee -sasl_mechanism=plain \
         -sasl_username=wee -sasl_password=pw;/connect sala"
    ));
    weechat.wait_screen("the SASL login", |s| {
        s.contains("SASL authentication successful")
    });
    weechat.wait_screen("the end of the MOTD", |s| s.contains("End of /MOTD"));
    weechat.wait_screen("server-time on", |s| {
        s.contains("enabled:") && s.contains("server-time")
    });
    weechat.type_line("/join #lobby");
    carla.wait_line("JOIN lobby wee");
    weechat.wait_screen("its join of #lobby", |s| s.contains("has joined #lobby"));
    weechat.type_line("/quote CHATHISTORY LATEST #lobby * 10");
    // The history line is stamped with the message's own time, not now.
    weechat.wait_screen("the old message at its time", |s| {
        s.lines().any(|l| {
            l.contains("2025-01-02 03:04:05") && l.contains("ana") && l.contains("old news")
        })
    });
    weechat.type_line("hello from weechat");
    carla.wait_line("MSG lobby wee hello from weechat");
    carla.send("SAY lobby hi wee");
    carla.wait_line("MSG lobby carla hi wee");
    weechat.wait_screen("carla's message", |s| s.contains("hi wee"));
    weechat.type_line("/quit bye");
    carla.wait_line("QUIT wee bye");
    weechat.wait_exit();
    server.shutdown();
}
