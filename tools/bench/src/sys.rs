//! Operating-system helpers: /proc sampling of the server, the bench's own
//! CPU time, file-descriptor limit, the SIGALRM safety net and the loopback
//! guard.

use std::net::{SocketAddr, ToSocketAddrs};

/// One reading of `/proc/PID/status` and `/proc/PID/stat`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcSample {
    pub rss_kb: u64,
    pub hwm_kb: u64,
    pub threads: u64,
    /// utime + stime in seconds
    pub cpu_s: f64,
}

fn status_field(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime (seconds) from the text of `/proc/PID/stat`.
fn stat_cpu_s(stat: &str) -> Option<f64> {
    // Fields after the ")" closing comm: state is field 3, utime 14, stime 15.
    let after = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ut: f64 = f.get(11)?.parse().ok()?;
    let st: f64 = f.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((ut + st) / tck.max(1.0))
}

/// Sample a process; None when it does not exist or /proc is unreadable.
pub fn proc_sample(pid: u32) -> Option<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(ProcSample {
        rss_kb: status_field(&status, "VmRSS:"),
        hwm_kb: status_field(&status, "VmHWM:"),
        threads: status_field(&status, "Threads:"),
        cpu_s: stat_cpu_s(&stat)?,
    })
}

/// CPU seconds (user + system) used by the bench process so far.
pub fn self_cpu_s() -> f64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Raise the soft RLIMIT_NOFILE to the hard limit. Returns the soft limit in
/// effect afterwards.
pub fn raise_nofile() -> u64 {
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        let mut rl: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) != 0 {
            return 0;
        }
        if rl.rlim_cur < rl.rlim_max {
            let want = libc::rlimit {
                rlim_cur: rl.rlim_max,
                rlim_max: rl.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                rl.rlim_cur = rl.rlim_max;
            }
        }
        rl.rlim_cur as u64
    }
}

/// Last-resort cap on the process lifetime: SIGALRM (default action: exit)
/// after `secs`. A spawned server dies with us through PR_SET_PDEATHSIG.
pub fn arm_alarm(secs: u64) {
    // SAFETY: alarm has no preconditions.
    unsafe {
        libc::alarm(secs.min(u64::from(u32::MAX)) as u32);
    }
}

/// Resolve `s` (IP:PORT or localhost:PORT) and refuse anything that is not
/// loopback (127.0.0.0/8 or ::1).
pub fn loopback_addr(s: &str) -> Result<SocketAddr, String> {
    let addr = match s.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => s
            .to_socket_addrs()
            .map_err(|e| format!("bad address '{s}' (want IP:PORT): {e}"))?
            .next()
            .ok_or_else(|| format!("address '{s}' resolves to nothing"))?,
    };
    if !addr.ip().is_loopback() {
        return Err(format!(
            "refusing non-loopback address {addr}: the bench only talks to 127.0.0.0/8 or ::1"
        ));
    }
    Ok(addr)
}

/// CPU and wall time of a measured phase, for the server (when its PID is
/// known) and for the bench itself.
pub struct Meter {
    pid: Option<u32>,
    t0: std::time::Instant,
    srv0: Option<ProcSample>,
    cpu0: f64,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct MeterResult {
    pub wall_s: f64,
    pub bench_cpu_s: f64,
    pub server_cpu_s: Option<f64>,
}

impl MeterResult {
    pub fn bench_cpu_pct(&self) -> f64 {
        100.0 * self.bench_cpu_s / self.wall_s.max(1e-9)
    }
    pub fn server_cpu_pct(&self) -> Option<f64> {
        self.server_cpu_s.map(|c| 100.0 * c / self.wall_s.max(1e-9))
    }
}

impl Meter {
    pub fn start(pid: Option<u32>) -> Meter {
        Meter {
            pid,
            t0: std::time::Instant::now(),
            srv0: pid.and_then(proc_sample),
            cpu0: self_cpu_s(),
        }
    }

    pub fn stop(&self) -> MeterResult {
        let srv1 = self.pid.and_then(proc_sample);
        MeterResult {
            wall_s: self.t0.elapsed().as_secs_f64(),
            bench_cpu_s: self_cpu_s() - self.cpu0,
            server_cpu_s: match (self.srv0, srv1) {
                (Some(a), Some(b)) => Some(b.cpu_s - a.cpu_s),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_guard() {
        assert!(loopback_addr("127.0.0.1:1").is_ok());
        assert!(loopback_addr("127.3.2.1:1").is_ok());
        assert!(loopback_addr("[::1]:1").is_ok());
        assert!(loopback_addr("10.0.0.1:1").is_err());
        assert!(loopback_addr("0.0.0.0:1").is_err());
        assert!(loopback_addr("[::]:1").is_err());
        assert!(loopback_addr("nonsense").is_err());
    }

    #[test]
    fn parses_proc_texts() {
        let status = "Name:\tx\nVmHWM:\t  2000 kB\nVmRSS:\t  1234 kB\nThreads:\t7\n";
        assert_eq!(status_field(status, "VmRSS:"), 1234);
        assert_eq!(status_field(status, "Threads:"), 7);
        let stat = "42 (a b) S 1 2 3 4 5 6 7 8 9 10 300 100 0 0";
        let cpu = stat_cpu_s(stat).unwrap_or(-1.0);
        // SAFETY: as above
        let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        assert!((cpu - 400.0 / tck).abs() < 1e-9);
        assert!(proc_sample(std::process::id()).is_some());
    }
}
