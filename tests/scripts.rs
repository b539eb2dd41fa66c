//! The shell scripts of `scripts/`: `install-test-deps.sh` (run by
//! `scripts/test.sh`) must wait, for a bounded time, for the lock of an apt
//! or dpkg run already under way instead of failing at once with `Could not
//! get lock /var/lib/dpkg/lock-frontend`.
//!
//! The script runs on a copy, with fakes of `apt-get`, `dpkg-query` and
//! `sudo` first on its `PATH`, so no package is touched. The fake `apt-get`
//! behaves as apt 2.6 does while another apt holds its locks (checked by hand
//! against the real one, holding the locks of a scratch apt root):
//! `install` waits for the dpkg lock only when given `-o
//! DPkg::Lock::Timeout=N` with N > 0, and `update` never waits for the
//! lists lock, whatever the options.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The repository's root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("scripts-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

fn write_exe(path: &Path, text: &str) {
    fs::write(path, text).expect("write a fake command");
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("make it executable");
}

/// The fake `apt-get`: logs its arguments, one call a line, to `$APT_LOG`.
/// `update` is refused for the lists lock while `$APT_LISTS_BUSY` (a count
/// of calls, in a file) is above 0; `install` is refused for the dpkg lock
/// unless it was told to wait for it.
const FAKE_APT_GET: &str = r#"#!/bin/sh
echo "$*" >> "$APT_LOG"
case " $* " in
*" update "*)
    busy=$(cat "$APT_LISTS_BUSY")
    if [ "$busy" -gt 0 ]; then
        echo $((busy - 1)) > "$APT_LISTS_BUSY"
        echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
        echo "E: Unable to lock directory /var/lib/apt/lists/" >&2
        exit 100
    fi
    echo "Reading package lists..."
    ;;
*" install "*)
    case " $* " in
    *" DPkg::Lock::Timeout=0 "* | *" DPkg::Lock::Timeout= "*) wait=no ;;
    *" DPkg::Lock::Timeout="*) wait=yes ;;
    *) wait=no ;;
    esac
    if [ "$wait" = no ]; then
        echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)" >&2
        echo "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?" >&2
        exit 100
    fi
    echo "Setting up what was asked for"
    ;;
esac
"#;

/// A copy of `install-test-deps.sh` and its package list in `dir`, with the
/// fakes in `dir/bin`; `busy` update calls are refused for the lists lock.
fn install_copy(dir: &Path, busy: u32) -> Command {
    let scripts = dir.join("scripts");
    let bin = dir.join("bin");
    fs::create_dir_all(&scripts).expect("create scripts/");
    fs::create_dir_all(&bin).expect("create bin/");
    for file in ["install-test-deps.sh", "test-deps.apt"] {
        fs::copy(root().join("scripts").join(file), scripts.join(file)).expect("copy the script");
    }
    write_exe(&bin.join("apt-get"), FAKE_APT_GET);
    // Nothing is installed, so everything is asked for.
    write_exe(&bin.join("dpkg-query"), "#!/bin/sh\nexit 1\n");
    write_exe(&bin.join("sudo"), "#!/bin/sh\nexec \"$@\"\n");
    fs::write(dir.join("busy"), format!("{busy}\n")).expect("write the busy count");
    fs::write(dir.join("apt.log"), "").expect("create the log");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .arg(scripts.join("install-test-deps.sh"))
        .env("PATH", path)
        .env("APT_LOG", dir.join("apt.log"))
        .env("APT_LISTS_BUSY", dir.join("busy"));
    command
}

fn run(mut command: Command) -> (Output, Duration) {
    let started = Instant::now();
    let output = command.output().expect("run bash");
    (output, started.elapsed())
}

fn describe(output: &Output, log: &str) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}\napt-get calls:\n{log}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The N of `DPkg::Lock::Timeout=N` in an apt-get call, if any.
fn lock_timeout(call: &str) -> Option<u64> {
    call.split(' ')
        .find_map(|w| w.strip_prefix("DPkg::Lock::Timeout="))
        .and_then(|n| n.parse().ok())
}

#[test]
fn every_apt_get_in_the_scripts_waits_for_the_dpkg_lock() {
    let mut calls = 0;
    for entry in fs::read_dir(root().join("scripts")).expect("read scripts/") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "sh") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("read a script");
        for line in text.lines() {
            let code = line.split('#').next().unwrap_or_default();
            if code.contains("apt-get ") {
                calls += 1;
                assert!(
                    code.contains("-o DPkg::Lock::Timeout="),
                    "{}: an apt-get without a lock timeout: {line}",
                    path.display()
                );
            }
        }
    }
    assert!(calls > 0, "no apt-get call found in scripts/*.sh");
}

#[test]
fn install_test_deps_waits_while_another_apt_holds_the_locks() {
    let dir = scratch("wait");
    let (output, _) = run(install_copy(&dir, 1));
    let log = fs::read_to_string(dir.join("apt.log")).expect("read the log");
    let calls: Vec<&str> = log.lines().collect();
    assert!(output.status.success(), "{}", describe(&output, &log));
    // The update refused for the lists lock was tried again; the install
    // told apt to wait for the dpkg lock.
    let updates = calls.iter().filter(|c| c.contains(" update")).count();
    assert_eq!(updates, 2, "{}", describe(&output, &log));
    let install = calls
        .iter()
        .find(|c| c.contains(" install "))
        .unwrap_or_else(|| panic!("no install: {}", describe(&output, &log)));
    assert!(
        install.contains("chromium") && install.contains("--no-install-recommends"),
        "{install}"
    );
    for call in &calls {
        assert!(
            lock_timeout(call).is_some_and(|n| n > 0),
            "a call that does not wait: {call}"
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn install_test_deps_gives_up_once_the_wait_is_over() {
    let dir = scratch("bound");
    let mut command = install_copy(&dir, 1000);
    command.env("SALA_APT_LOCK_WAIT", "3");
    let (output, took) = run(command);
    let log = fs::read_to_string(dir.join("apt.log")).expect("read the log");
    assert!(!output.status.success(), "{}", describe(&output, &log));
    assert!(
        took < Duration::from_secs(30),
        "took {took:?}: {}",
        describe(&output, &log)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.lines().count() > 1 && stderr.contains("gave up"),
        "{}",
        describe(&output, &log)
    );
    assert!(!log.contains(" install "), "{}", describe(&output, &log));
    let _ = fs::remove_dir_all(&dir);
}
