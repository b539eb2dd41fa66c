//! `--spawn`: start the `server` binary next to the bench executable on
//! `127.0.0.1:0` with `--web-listen off`, read the address it bound from its
//! log (`RUST_LOG=info`, the line `listening on ADDR`), wait until it
//! accepts, and stop it again when the guard is dropped (SIGTERM, then
//! SIGKILL after a grace period). The child also gets
//! PR_SET_PDEATHSIG=SIGKILL, so it dies with the bench even if the bench is
//! killed (SIGALRM cap, Ctrl-C).
//!
//! A thread reads the server's stderr for as long as the server runs, copying
//! it to `--server-log` if given, so the server never blocks on a full pipe.

use std::fs::File;
use std::io::{BufRead as _, BufReader, ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const STOP_GRACE: Duration = Duration::from_secs(3);
const SETTLE_AFTER_START: Duration = Duration::from_millis(200);
/// How long `stop` waits for the log reader to reach the end of the pipe.
const LOG_DRAIN_WAIT: Duration = Duration::from_secs(1);
/// Server log lines kept to explain a failed start.
const LOG_TAIL_LINES: usize = 5;
/// The log line that tells the bound address (`sala::Server::start`).
const LISTENING: &str = "listening on ";
/// What the server logs for its CHAT/1 over TLS port (wanted with `--tls-listen`).
const TLS_LISTENING: &str = "CHAT/1 over TLS on ";

/// A running server started by the bench; stopped on drop.
pub struct Spawned {
    child: Child,
    pub addr: SocketAddr,
    pub bin: PathBuf,
    /// every argument passed, `--listen` included
    pub args: Vec<String>,
    /// tells when the log reader has reached the end of the server's stderr
    log_done: Receiver<()>,
    /// `addr` is a TLS port
    tls: bool,
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stop the server: SIGTERM, wait up to `STOP_GRACE`, then SIGKILL.
    /// Returns a description of how it ended.
    pub fn stop(&mut self) -> String {
        let how = self.end();
        // Let the reader copy the last lines to --server-log (bounded).
        let _ = self.log_done.recv_timeout(LOG_DRAIN_WAIT);
        how
    }

    fn end(&mut self) -> String {
        if let Ok(Some(st)) = self.child.try_wait() {
            return format!("had already exited ({st})");
        }
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: signalling our own child, which has not been reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let t0 = Instant::now();
        while t0.elapsed() < STOP_GRACE {
            if let Ok(Some(st)) = self.child.try_wait() {
                return format!("stopped by SIGTERM ({st})");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Both can only fail if the child is already gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
        "killed (SIGKILL after SIGTERM grace)".into()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Default server binary: `server` next to the bench executable.
pub fn default_bin() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    Ok(exe.with_file_name("server"))
}

/// The address in a server log line `... listening on ADDR`, if it is one.
fn listening_addr(line: &str, marker: &str) -> Option<SocketAddr> {
    line.split(marker).nth(1)?.trim().parse().ok()
}

/// What the log reader found while the server started.
enum Startup {
    Listening(SocketAddr),
    /// stderr ended (the server exited) before the line; its last lines
    Ended(Vec<String>),
}

/// Read the server's stderr to its end: report the address of the first
/// `listening on` line (or the last lines, if it never comes), copy every
/// line to `log`, then signal `done`.
fn read_log(
    (stderr, marker): (ChildStderr, &str),
    mut log: Option<File>,
    found: mpsc::Sender<Startup>,
    done: mpsc::Sender<()>,
) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    let mut tail: Vec<String> = Vec::new();
    let mut told = false;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
        if let Some(f) = log.as_mut() {
            // A full disk must not stop the draining: drop the copy instead.
            if f.write_all(&line).is_err() {
                log = None;
            }
        }
        if told {
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        if let Some(addr) = listening_addr(&text, marker) {
            told = true;
            // The bench may have given up waiting: nobody to tell then.
            let _ = found.send(Startup::Listening(addr));
        } else if !text.trim().is_empty() {
            if tail.len() == LOG_TAIL_LINES {
                tail.remove(0);
            }
            tail.push(text.trim_end().to_string());
        }
    }
    if !told {
        let _ = found.send(Startup::Ended(tail));
    }
    if let Some(f) = log.as_mut() {
        let _ = f.flush();
    }
    let _ = done.send(());
}

/// `--web-listen off` unless the caller's flags choose the web listener.
fn start_args(extra: &[String]) -> Vec<String> {
    let mut args = vec!["--listen".to_string(), "127.0.0.1:0".to_string()];
    let web_given = extra
        .iter()
        .any(|a| a == "--web-listen" || a.starts_with("--web-listen="));
    if !web_given {
        args.extend(["--web-listen".to_string(), "off".to_string()]);
    }
    args.extend(extra.iter().cloned());
    args
}

/// Start `bin --listen 127.0.0.1:0 --web-listen off <extra...>`, learn its
/// address from its log and wait until it accepts; all within `wait`.
pub fn spawn(
    bin: &Path,
    extra: &[String],
    log: Option<&Path>,
    wait: Duration,
) -> Result<Spawned, String> {
    if !bin.is_file() {
        return Err(format!(
            "server binary {} not found (build it: cargo build --release --bin server)",
            bin.display()
        ));
    }
    let log = match log {
        None => None,
        Some(p) => Some(File::create(p).map_err(|e| format!("server log {}: {e}", p.display()))?),
    };
    let t0 = Instant::now();
    let args = start_args(extra);
    // With a TLS port, the clients go there.
    let marker = if extra.iter().any(|a| a == "--tls-listen") {
        TLS_LISTENING
    } else {
        LISTENING
    };
    let mut cmd = Command::new(bin);
    cmd.args(&args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bin.display()))?;
    let stderr = child.stderr.take();
    let (found_tx, found) = mpsc::channel();
    let (done_tx, log_done) = mpsc::channel();
    // From here on the child is stopped by Drop, whatever happens below.
    let mut s = Spawned {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        bin: bin.to_path_buf(),
        args,
        log_done,
        tls: marker == TLS_LISTENING,
    };
    let stderr = stderr.ok_or("the server's stderr was not piped")?;
    std::thread::Builder::new()
        .name("server-log".into())
        .spawn(move || read_log((stderr, marker), log, found_tx, done_tx))
        .map_err(|e| format!("starting the server log reader: {e}"))?;
    s.addr = match found.recv_timeout(wait) {
        Ok(Startup::Listening(addr)) => addr,
        Ok(Startup::Ended(tail)) => {
            let st = exit_status(&mut s.child, STOP_GRACE);
            return Err(format!(
                "server exited during startup ({st}); its last lines: {}",
                tail.join(" | ")
            ));
        }
        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
            return Err(format!(
                "server did not log '{marker}ADDR' within {wait:?} (RUST_LOG=info)"
            ));
        }
    };
    if !s.addr.ip().is_loopback() {
        return Err(format!("server listens on {}, not on loopback", s.addr));
    }
    wait_accepting(&mut s, wait.saturating_sub(t0.elapsed()))?;
    Ok(s)
}

/// How the child ended, waiting for it at most `limit`.
fn exit_status(child: &mut Child, limit: Duration) -> String {
    let t0 = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return st.to_string(),
            Ok(None) if t0.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => return "still running, stderr closed".into(),
            Err(e) => return e.to_string(),
        }
    }
}

/// True when a connection to `addr` gets its first line (`WELCOME …`)
/// within `limit`: the kernel completes a connect as soon as the server
/// listens, but only a line proves that its accept loop runs.
/// A TLS port says nothing first: it is sent a line that is not TLS, and
/// its alert is the greeting.
fn greets(addr: &SocketAddr, limit: Duration, tls: bool) -> bool {
    let Ok(mut sock) = TcpStream::connect_timeout(addr, Duration::from_millis(200)) else {
        return false;
    };
    if tls && sock.write_all(b"hello?\n").is_err() {
        return false;
    }
    if sock
        .set_read_timeout(Some(limit.max(Duration::from_millis(10))))
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 256];
    matches!(sock.read(&mut buf), Ok(n) if n > 0)
}

/// Probe until the server greets a client, it exits, or `wait` ends; then
/// give its threads a moment to settle before the first /proc sample.
fn wait_accepting(s: &mut Spawned, wait: Duration) -> Result<(), String> {
    let t0 = Instant::now();
    loop {
        if let Ok(Some(st)) = s.child.try_wait() {
            return Err(format!(
                "server exited during startup ({st}); try --server-log FILE"
            ));
        }
        if greets(&s.addr, wait.saturating_sub(t0.elapsed()), s.tls) {
            std::thread::sleep(SETTLE_AFTER_START);
            return Ok(());
        }
        if t0.elapsed() >= wait {
            return Err(format!(
                "server did not greet a client on {} within {:?}",
                s.addr, wait
            ));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_address_from_the_servers_log_line() {
        let line = "[2026-12-01T15:00:00Z INFO  sala::server] listening on 127.0.0.1:40123\n";
        assert_eq!(
            listening_addr(line, LISTENING),
            Some(SocketAddr::from(([127, 0, 0, 1], 40123)))
        );
        assert_eq!(
            listening_addr("[.. INFO sala] web client on http://x/", LISTENING),
            None
        );
        assert_eq!(listening_addr("listening on nowhere", LISTENING), None);
    }

    #[test]
    fn web_listener_is_off_unless_the_flags_choose_it() {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            start_args(&own(&["--no-persist"])),
            own(&[
                "--listen",
                "127.0.0.1:0",
                "--web-listen",
                "off",
                "--no-persist"
            ])
        );
        assert_eq!(
            start_args(&own(&["--web-listen", "127.0.0.1:0"])),
            own(&["--listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0"])
        );
        assert!(!start_args(&own(&["--web-listen=off"])).contains(&"off".to_string()));
    }
}
