//! What every scenario shares: the run context, the setup phase, settle
//! periods, and the report sections for setup, memory, CPU and errors.

use crate::engine::{Net, Outcome, UntilSetUp, Wait};
use crate::hist::Hist;
use crate::report::{Report, hist_human, thousands};
use crate::sys::{MeterResult, ProcSample};
use std::net::SocketAddr;
use std::time::Instant;

/// Settings shared by all scenarios.
pub struct Ctx {
    pub addr: SocketAddr,
    /// TLS: every client trusts the server as this says
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    pub pid: Option<u32>,
    pub window: usize,
    pub timeout_ns: u64,
    pub settle_ms: Option<u64>,
    pub nick_prefix: String,
    pub room: String,
    pub progress: bool,
    pub verbose: bool,
    pub base: Instant,
    /// engine ns at which everything must stop
    pub hard_deadline_ns: u64,
}

impl Ctx {
    pub fn new_net(&self) -> Result<Net, String> {
        let mut net = Net::new(self.addr, self.window, self.base, self.hard_deadline_ns)
            .map_err(|e| format!("creating the poller: {e}"))?;
        net.set_output(self.progress, self.verbose);
        net.set_tls(self.tls.clone());
        Ok(net)
    }

    pub fn nick(&self, i: usize) -> String {
        format!("{}{}", self.nick_prefix, i)
    }

    pub fn settle_ns(&self, default_ms: u64) -> u64 {
        self.settle_ms.unwrap_or(default_ms) * 1_000_000
    }

    pub fn sample(&self) -> Option<ProcSample> {
        self.pid.and_then(crate::sys::proc_sample)
    }
}

/// Result of bringing every queued client to Ready (or Failed).
pub struct Setup {
    pub wall_s: f64,
    pub ready: usize,
    pub failed: u64,
    pub timed_out: bool,
    /// per-client connect → joined, µs
    pub hist: Hist,
}

/// Open all queued clients (within the window) and wait, bounded by the
/// phase timeout, until each is ready or failed.
pub fn setup_phase(net: &mut Net, ctx: &Ctx) -> Setup {
    net.phase = "setup";
    let t0 = net.now();
    let outcome = net.run(&mut UntilSetUp, t0 + ctx.timeout_ns);
    let timed_out = outcome != Outcome::Done;
    if timed_out {
        net.fail_unfinished("setup timeout");
    }
    let mut hist = Hist::default();
    for c in net.conns.iter().filter(|c| c.t_ready > 0) {
        hist.record(c.t_ready.saturating_sub(c.t_open) / 1000);
    }
    Setup {
        wall_s: (net.now() - t0) as f64 / 1e9,
        ready: net.ready,
        failed: net.failures,
        timed_out,
        hist,
    }
}

/// Keep the loop running (reading whatever arrives) for `ns`.
pub fn settle(net: &mut Net, ns: u64) {
    net.phase = "settle";
    let d = net.now() + ns;
    net.run(&mut Wait, d);
}

pub fn report_setup(r: &mut Report, s: &Setup, wanted: usize) {
    r.u("clients_wanted", wanted as u64)
        .u("clients_ready", s.ready as u64)
        .u("setup_failed", s.failed)
        .b("setup_timed_out", s.timed_out)
        .f("setup_s", s.wall_s)
        .f("setups_per_s", s.ready as f64 / s.wall_s.max(1e-9))
        .hist("setup_", &s.hist);
    r.row(
        "clients held",
        format!(
            "{} of {} ready ({} failed{})",
            s.ready,
            wanted,
            s.failed,
            if s.timed_out { ", SETUP TIMED OUT" } else { "" }
        ),
    );
    r.row(
        "connect+nick+join",
        format!(
            "all in {:.3} s ({}/s); per client {}",
            s.wall_s,
            thousands(s.ready as f64 / s.wall_s.max(1e-9)),
            hist_human(&s.hist)
        ),
    );
}

/// Server memory and threads per connection from two /proc samples.
pub fn report_memory(
    r: &mut Report,
    before: Option<ProcSample>,
    after: Option<ProcSample>,
    clients: usize,
) {
    let (Some(b), Some(a)) = (before, after) else {
        r.row("server memory", "n/a (no --pid)");
        return;
    };
    let n = clients.max(1) as f64;
    let per_conn = (a.rss_kb as f64 - b.rss_kb as f64) * 1024.0 / n;
    let thr_per_conn = (a.threads as f64 - b.threads as f64) / n;
    r.u("server_rss_before_kb", b.rss_kb)
        .u("server_rss_after_kb", a.rss_kb)
        .u("server_hwm_after_kb", a.hwm_kb)
        .u("server_threads_before", b.threads)
        .u("server_threads_after", a.threads)
        .f("rss_bytes_per_conn", per_conn)
        .f("threads_per_conn", thr_per_conn);
    r.row(
        "server RSS",
        format!(
            "{} kB -> {} kB = {} bytes/connection (peak {} kB)",
            thousands(b.rss_kb as f64),
            thousands(a.rss_kb as f64),
            thousands(per_conn),
            thousands(a.hwm_kb as f64)
        ),
    );
    r.row(
        "server threads",
        format!(
            "{} -> {} = {:.3}/connection",
            b.threads, a.threads, thr_per_conn
        ),
    );
}

/// CPU of server and bench over a measured phase.
pub fn report_cpu(r: &mut Report, m: &MeterResult) {
    r.f("measured_wall_s", m.wall_s)
        .f("bench_cpu_s", m.bench_cpu_s)
        .f("bench_cpu_pct", m.bench_cpu_pct())
        .opt_f("server_cpu_s", m.server_cpu_s)
        .opt_f("server_cpu_pct", m.server_cpu_pct());
    let srv = m
        .server_cpu_pct()
        .map(|p| format!("server {p:.0}%"))
        .unwrap_or_else(|| "server n/a (no --pid)".into());
    let warn = if m.bench_cpu_pct() > 90.0 {
        "  [bench near 100%: the generator may be the bottleneck]"
    } else {
        ""
    };
    r.row(
        "CPU (of one core)",
        format!(
            "{srv}, bench {:.0}% over {:.3} s{warn}",
            m.bench_cpu_pct(),
            m.wall_s
        ),
    );
}

/// Errors and traffic counters of the engine.
pub fn report_net(r: &mut Report, net: &Net) {
    r.map("errors", &net.errors)
        .u("err_lines", net.c.err_lines)
        .u("closed_by_server", net.c.closed_by_server)
        .u("long_lines", net.c.long_lines)
        .u("bytes_in", net.c.bytes_in)
        .u("bytes_out", net.c.bytes_out)
        .u("lines_in", net.c.lines_in);
    let errs = if net.errors.is_empty() {
        "none".to_string()
    } else {
        net.errors
            .iter()
            .map(|(k, v)| format!("{v}x {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    r.row("errors", errs);
    r.row(
        "traffic",
        format!(
            "{} lines / {} bytes in, {} bytes out",
            thousands(net.c.lines_in as f64),
            thousands(net.c.bytes_in as f64),
            thousands(net.c.bytes_out as f64)
        ),
    );
}

/// QUIT everyone (bounded) and report how the connections ended.
pub fn quit_and_report(r: &mut Report, net: &mut Net, ctx: &Ctx, wait_s: u64) {
    let wait = (wait_s * 1_000_000_000).min(ctx.timeout_ns);
    let (clean, dropped) = net.quit_all(wait);
    r.u("quit_clean", clean).u("quit_dropped", dropped);
    r.row(
        "quit",
        format!("{clean} closed by the server after QUIT, {dropped} dropped by the bench"),
    );
}
