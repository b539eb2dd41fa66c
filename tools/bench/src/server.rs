//! `--spawn`: start the `server` binary next to the bench executable on a
//! free loopback port, wait until it accepts, and stop it again when the
//! guard is dropped (SIGTERM, then SIGKILL after a grace period). The child
//! also gets PR_SET_PDEATHSIG=SIGKILL, so it dies with the bench even if the
//! bench is killed (SIGALRM cap, Ctrl-C).

use std::io::Read as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STOP_GRACE: Duration = Duration::from_secs(3);
const SETTLE_AFTER_START: Duration = Duration::from_millis(200);

/// A running server started by the bench; stopped on drop.
pub struct Spawned {
    child: Child,
    pub addr: SocketAddr,
    pub bin: PathBuf,
    /// every argument passed, `--listen` included
    pub args: Vec<String>,
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stop the server: SIGTERM, wait up to `STOP_GRACE`, then SIGKILL.
    /// Returns a description of how it ended.
    pub fn stop(&mut self) -> String {
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

/// A free loopback port (bind :0, read it, release it).
fn free_port() -> std::io::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Default server binary: `server` next to the bench executable.
pub fn default_bin() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    Ok(exe.with_file_name("server"))
}

fn open_log(log: Option<&Path>) -> Result<Stdio, String> {
    match log {
        None => Ok(Stdio::null()),
        Some(p) => std::fs::File::create(p)
            .map(Stdio::from)
            .map_err(|e| format!("server log {}: {e}", p.display())),
    }
}

/// Start `bin --listen 127.0.0.1:PORT <extra...>` and wait until it accepts.
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
    let port = free_port().map_err(|e| format!("finding a free port: {e}"))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut args = vec!["--listen".to_string(), addr.to_string()];
    args.extend(extra.iter().cloned());
    let mut cmd = Command::new(bin);
    cmd.args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(open_log(log)?);
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bin.display()))?;
    let mut s = Spawned {
        child,
        addr,
        bin: bin.to_path_buf(),
        args,
    };
    wait_accepting(&mut s, wait)?;
    Ok(s)
}

/// True when a connection to `addr` gets its first line (`WELCOME …`)
/// within `limit`: the kernel completes a connect as soon as the server
/// listens, but only a line proves that its accept loop runs.
fn greets(addr: &SocketAddr, limit: Duration) -> bool {
    let Ok(mut sock) = TcpStream::connect_timeout(addr, Duration::from_millis(200)) else {
        return false;
    };
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
        if greets(&s.addr, wait.saturating_sub(t0.elapsed())) {
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
