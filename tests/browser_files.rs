//! Shared files in a real browser (issue 15): `tests/browser/files.spec.mjs`
//! drives two headless Chromium pages (playwright-core from npm) against a
//! server started here: an attachment downloaded byte for byte, an image
//! thumbnail, a voice note recorded with Chromium's fake microphone and
//! played by the other page, drop, paste, a whisper, axe-core.
//!
//! Needs `/usr/bin/chromium` and `tests/browser/node_modules`, like
//! `tests/browser.rs`: `scripts/test.sh` installs both. Without them this
//! test fails, saying so.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The whole run may take this long before it is killed.
const TIME_LIMIT: Duration = Duration::from_secs(120);

#[test]
fn browsers_share_files_images_and_voice_notes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let hint = "run scripts/test.sh, which installs Chromium and the npm packages of tests/browser";
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "no Chromium: {hint}"
    );
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "no playwright-core: {hint}"
    );
    let server = common::start(|c| c.web_listen = Some("127.0.0.1:0".parse().unwrap()));
    let web = server.web_addr().expect("the web listener is on");
    let mut node = Command::new("node")
        .arg("files.spec.mjs")
        .arg(format!("http://{web}/"))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node starts");
    let out = node.stdout.take().expect("piped stdout");
    let (tx, ended) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            eprintln!("node: {line}");
        }
        let _ = tx.send(());
    });
    if ended.recv_timeout(TIME_LIMIT).is_err() {
        let _ = node.kill();
        panic!("the browser files test took more than {TIME_LIMIT:?}");
    }
    let status = node.wait().expect("wait for node");
    server.shutdown();
    assert!(status.success(), "the browser files test failed: {status}");
}
