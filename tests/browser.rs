//! The web client in a real browser: headless Chromium, driven by Playwright
//! (`tests/browser/chat.spec.mjs`, through `playwright-core` from npm), against
//! a server started here. The script prints `STOP` and `START` when it wants
//! the server restarted on the same ports (to see the pages reconnect); this
//! side answers `STOPPED` and `GO` on its standard input. A second test runs
//! the same script with `--features` (older history, room keys, accounts, a
//! kick) on a server of its own, in parallel with the first. A third runs it
//! with `--history` on a server keeping its data in a temporary directory, the
//! same directory again after each restart: a registered user's room and its
//! saved history, shown once when the page rejoins. A fourth runs it with
//! `--tls`: the page over HTTPS and its WebSocket over WSS (issue 12). A
//! fifth runs `tests/browser/moderation.spec.mjs`: room moderation from the
//! page (issue 13).
//!
//! Needs `/usr/bin/chromium` and `tests/browser/node_modules`: `scripts/test.sh`
//! installs both. Without them this test fails, saying so.

mod common;

use sala::Server;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The browser test's whole run may take this long before it is killed.
const TIME_LIMIT: Duration = Duration::from_secs(180);

const CHROMIUM: &str = "/usr/bin/chromium";

/// A server on `listen` and `web`, keeping its data in `data` when given
/// (SQLite: accounts, account rooms and their history survive a restart).
fn start_on(listen: SocketAddr, web: SocketAddr, data: Option<&Path>) -> Server {
    common::start(|c| {
        c.listen = listen;
        c.web_listen = Some(web);
        c.data_dir = data.map(Path::to_path_buf);
    })
}

/// Fails with what to do when the browser or the npm packages are missing.
fn check_installed(dir: &Path) {
    let hint = "run scripts/test.sh, which installs Chromium (scripts/test-deps.apt) \
                and the npm packages of tests/browser";
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: {hint}"
    );
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "tests/browser/node_modules/playwright-core is missing: {hint}"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is missing: {hint}"
    );
}

/// Runs `node chat.spec.mjs <args>` in `dir` against `server`, restarting it
/// on the same ports (and with the same data directory, if any) when the script
/// asks; returns whether the script passed.
fn run_script(dir: &Path, args: &[String], server: Server, data: Option<&Path>) -> bool {
    run_named(dir, "chat.spec.mjs", args, server, data)
}

/// [`run_script`] with another script of `tests/browser`.
fn run_named(
    dir: &Path,
    script: &str,
    args: &[String],
    server: Server,
    data: Option<&Path>,
) -> bool {
    let tcp = server.local_addr();
    let web = server.web_addr().expect("the web listener is on");
    let mut server = Some(server);
    let mut node = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node starts");
    let mut to_node = node.stdin.take().expect("piped stdin");
    let from_node = node.stdout.take().expect("piped stdout");
    let (lines, said) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from_node).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + TIME_LIMIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match said.recv_timeout(left) {
            Ok(line) if line == "STOP" => {
                if let Some(s) = server.take() {
                    s.shutdown();
                }
                writeln!(to_node, "STOPPED").expect("write to node");
            }
            Ok(line) if line == "START" => {
                server = Some(start_on(tcp, web, data));
                writeln!(to_node, "GO").expect("write to node");
            }
            Ok(line) => eprintln!("node: {line}"),
            // The script ended (its stdout closed).
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = node.kill();
                panic!("the browser test took more than {TIME_LIMIT:?}");
            }
        }
    }
    let status = node.wait().expect("wait for node");
    if let Some(s) = server.take() {
        s.shutdown();
    }
    eprintln!("node {script} {}: {status}", args.join(" "));
    status.success()
}

/// Starts a server (keeping its data in `data`, if given) and runs the script:
/// `node chat.spec.mjs [mode] <page URL> <TCP address> [extra...]`.
fn run_mode(mode: Option<&str>, extra: &[String], data: Option<&Path>) -> bool {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    check_installed(&dir);
    let loopback = "127.0.0.1:0".parse().expect("a literal address");
    let server = start_on(loopback, loopback, data);
    let tcp = server.local_addr();
    let web = server.web_addr().expect("the web listener is on");
    let mut args: Vec<String> = mode.map(str::to_string).into_iter().collect();
    args.push(format!("http://{web}/"));
    args.push(tcp.to_string());
    args.extend_from_slice(extra);
    run_script(&dir, &args, server, data)
}

#[test]
fn two_browsers_and_a_tcp_client_chat_and_survive_a_restart() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // SALA_SCREENSHOT=docs/web-client.png refreshes the README's picture.
    let shot = std::env::var_os("SALA_SCREENSHOT").map_or_else(
        || root.join("target/web-client.png"),
        |p| root.join(PathBuf::from(p)),
    );
    assert!(
        run_mode(None, &[shot.display().to_string()], None),
        "the browser test failed"
    );
    assert!(shot.is_file(), "no screenshot at {}", shot.display());
}

/// Older history on scrolling up, a room key, an account, a kick: a second
/// run of the script (`--features`), on its own server, beside the first.
#[test]
fn browsers_page_back_through_history_use_keys_and_accounts_and_get_kicked() {
    assert!(
        run_mode(Some("--features"), &[], None),
        "the browser test (--features) failed"
    );
}

/// An account room's history after a restart with a data directory: the page
/// reconnects, logs in again and rejoins by itself, and shows each message
/// once, in order, also when paging back (`--history`, a third run of the
/// script, on a server of its own). It once showed the latest 50 twice.
#[test]
fn an_account_rooms_history_shows_once_after_a_restart() {
    let data = tempfile::tempdir().expect("a temp dir");
    assert!(
        run_mode(Some("--history"), &[], Some(data.path())),
        "the browser test (--history) failed"
    );
}

/// The page over HTTPS, a secure context, and CHAT/1 over WSS, meeting a
/// plain TCP client (`--tls`, a fourth run, on a server with TLS on and a
/// certificate made here).
#[test]
fn a_browser_chats_over_https_and_wss() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    check_installed(&dir);
    let keys = tempfile::tempdir().expect("a temp dir");
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("rcgen makes a certificate");
    let (cert, key) = (keys.path().join("cert.pem"), keys.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).expect("write the certificate");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("write the key");
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("a literal address");
    let server = common::start(|c| {
        c.web_listen = Some(loopback);
        c.tls_cert = Some(cert);
        c.tls_key = Some(key);
    });
    let web = server.web_addr().expect("the web listener is on");
    let args = vec![
        "--tls".to_string(),
        format!("https://{web}/"),
        server.local_addr().to_string(),
    ];
    assert!(
        run_script(&dir, &args, server, None),
        "the browser test (--tls) failed"
    );
}

/// Room moderation from the page (issue 13): a topic, roles given and taken
/// through the member menu, a moderated room, a mute, slow mode and its hint,
/// invite-only and an invitation, a ban, and a saved transcript
/// (`tests/browser/moderation.spec.mjs`, on a server of its own).
#[test]
fn operators_moderate_a_room_from_the_page() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    check_installed(&dir);
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("a literal address");
    let server = start_on(loopback, loopback, None);
    let web = server.web_addr().expect("the web listener is on");
    let args = vec![format!("http://{web}/"), server.local_addr().to_string()];
    assert!(
        run_named(&dir, "moderation.spec.mjs", &args, server, None),
        "the browser test (moderation.spec.mjs) failed"
    );
}
