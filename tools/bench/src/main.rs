//! `bench`: load generator and measurement tool for the Sala CHAT/1 server.
//!
//! It answers four questions about a server on this machine:
//! - **idle**: how many clients it holds, and what one connection costs in
//!   server memory (VmRSS) and threads (from `/proc/PID/status`);
//! - **fanout**: how many messages per second it delivers to the members of a
//!   room, and how long a message takes to arrive (p50/p90/p99/max), with a
//!   check for loss, duplicates and per-sender order;
//! - **whisper**: point-to-point round trips per second and round-trip time;
//! - **storm**: how fast it takes clients through connect/register/join/quit;
//! - **logins**: how long a login takes while hundreds of hosts guess another
//!   account's password (threads and blocking sockets, not the event loop).
//! - **amplify**: how long one client's `PING` takes while a crowd asks for
//!   `USERS` (reply amplification, issue 11).
//!
//! How: one thread runs one mio event loop over non-blocking sockets (a write
//! buffer per client, one shared read buffer), so ten thousand simulated
//! clients cost the bench little. Message texts carry the sender slot, a
//! sequence number and the send time in ns on the bench's monotonic clock;
//! every read is stamped on the same clock. CPU of the server
//! (`/proc/PID/stat`) and of the bench (`getrusage`) over the measured phase
//! are reported, so a reader can tell when the generator was the bottleneck.
//!
//! The target is a running server (`--addr`, loopback only, plus `--pid` for
//! /proc figures) or one the bench starts and stops itself (`--spawn`).
//! Every phase has a deadline and the whole run a hard cap. Output: progress
//! and a summary table on stderr, one JSON line on stdout.

mod amplify;
mod cli;
mod common;
mod engine;
mod fanout;
mod hist;
mod idle;
mod logins;
mod report;
mod server;
mod storm;
mod sys;
mod whisper;
mod wire;

use clap::Parser as _;
use cli::{Cli, Scenario};
use common::Ctx;
use report::Report;
use sala::proto::command::{is_guest_nick, is_valid_nick, is_valid_room};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const DEFAULT_ADDR: &str = "127.0.0.1:44765";
const SPAWN_WAIT: Duration = Duration::from_secs(10);
/// Extra seconds after --max-seconds before SIGALRM ends the process, so
/// the in-loop deadline and the server stop normally come first.
const ALARM_SLACK_S: u64 = 15;

/// Where the load goes, and the server process if we started it.
struct Target {
    addr: SocketAddr,
    pid: Option<u32>,
    spawned: Option<server::Spawned>,
    /// With --tls: the certificate the clients trust.
    ca: Option<std::path::PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    let base = Instant::now();
    sys::arm_alarm(cli.common.max_seconds + ALARM_SLACK_S);
    let nofile = sys::raise_nofile();
    let mut report = Report::new(format!("sala bench: {}", scenario_name(&cli.scenario)));
    let code = match run(&cli, base, nofile, &mut report) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("bench: error: {e}");
            report.s("error", &e);
            report.row("ERROR", e);
            1
        }
    };
    eprint!("{}", report.table());
    println!("{}", report.json_line());
    std::process::exit(code);
}

fn scenario_name(s: &Scenario) -> &'static str {
    match s {
        Scenario::Idle(_) => "idle",
        Scenario::Fanout(_) => "fanout",
        Scenario::Whisper(_) => "whisper",
        Scenario::Storm(_) => "storm",
        Scenario::Logins(_) => "logins",
        Scenario::Amplify(_) => "amplify",
    }
}

/// Client sockets a scenario keeps open at once.
fn sockets_needed(s: &Scenario) -> usize {
    match s {
        Scenario::Idle(a) => a.clients,
        Scenario::Fanout(a) => a.members,
        Scenario::Whisper(a) => 2 * a.pairs,
        Scenario::Storm(a) => a.clients,
        Scenario::Logins(a) => a.guessers + 8,
        Scenario::Amplify(a) => a.users,
    }
}

fn run(cli: &Cli, base: Instant, nofile: u64, r: &mut Report) -> Result<(), String> {
    let c = &cli.common;
    header(cli, nofile, r);
    let need = sockets_needed(&cli.scenario) as u64;
    if need + 32 > nofile {
        let msg = format!("{need} clients need more descriptors than RLIMIT_NOFILE {nofile}");
        eprintln!("bench: warning: {msg}; expect 'connect: Too many open files'");
        r.row("WARNING", msg);
    }
    let mut target = resolve_target(c)?;
    describe_target(c, &target, r);
    let ctx = make_ctx(c, &target, base)?;
    let res = match &cli.scenario {
        Scenario::Idle(a) => idle::run(a, &ctx, r),
        Scenario::Fanout(a) => fanout::run(a, &ctx, r),
        Scenario::Whisper(a) => whisper::run(a, &ctx, r),
        Scenario::Storm(a) => storm::run(a, &ctx, r),
        Scenario::Logins(a) => logins::run(a, &ctx, r),
        Scenario::Amplify(a) => amplify::run(a, &ctx, r),
    };
    if let Some(s) = target.spawned.as_mut() {
        let how = s.stop();
        r.s("server_stop", &how);
        r.row("spawned server", how);
    }
    if ctx.base.elapsed().as_secs() >= c.max_seconds {
        r.b("hit_max_seconds", true);
        r.row("NOTE", "--max-seconds was reached; figures are partial");
    }
    res
}

fn header(cli: &Cli, nofile: u64, r: &mut Report) {
    let c = &cli.common;
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    r.s("scenario", scenario_name(&cli.scenario))
        .s("bench_version", env!("CARGO_PKG_VERSION"))
        .u("unix_time", unix)
        .u("window", c.window as u64)
        .f("timeout_s", c.timeout)
        .u("nofile_limit", nofile);
    if let Some(l) = &c.label {
        r.s("label", l);
        r.row("label", l.clone());
    }
}

fn resolve_target(c: &cli::Common) -> Result<Target, String> {
    if c.spawn {
        let bin = match &c.server_bin {
            Some(b) => b.clone(),
            None => server::default_bin()?,
        };
        let mut extra: Vec<String> = c.server_args.split_whitespace().map(String::from).collect();
        let mut ca = None;
        if c.tls {
            // A certificate of our own, in a directory of this run's.
            let dir = std::env::temp_dir().join(format!("sala-bench-tls-{}", std::process::id()));
            let files = sala::net::tls::self_signed(&dir, &["localhost".to_string()])
                .map_err(|e| format!("a certificate for --tls: {e}"))?;
            extra.extend([
                "--tls-cert".to_string(),
                files.cert.display().to_string(),
                "--tls-key".to_string(),
                files.key.display().to_string(),
                "--tls-listen".to_string(),
                "127.0.0.1:0".to_string(),
            ]);
            ca = Some(files.cert);
        }
        let s = server::spawn(&bin, &extra, c.server_log.as_deref(), SPAWN_WAIT)?;
        return Ok(Target {
            addr: s.addr,
            pid: Some(s.pid()),
            spawned: Some(s),
            ca,
        });
    }
    let addr = sys::loopback_addr(c.addr.as_deref().unwrap_or(DEFAULT_ADDR))?;
    if let Some(pid) = c.pid {
        sys::proc_sample(pid).ok_or_else(|| format!("--pid {pid}: no readable /proc/{pid}"))?;
    }
    if c.tls && c.tls_ca.is_none() {
        return Err("--tls with --addr needs --tls-ca (the server's certificate)".into());
    }
    Ok(Target {
        addr,
        pid: c.pid,
        spawned: None,
        ca: c.tls_ca.clone(),
    })
}

fn describe_target(c: &cli::Common, t: &Target, r: &mut Report) {
    r.s("addr", &t.addr.to_string())
        .b("spawned", t.spawned.is_some())
        .b("tls", t.ca.is_some());
    match t.pid {
        Some(p) => r.u("server_pid", u64::from(p)),
        None => r.opt_f("server_pid", None),
    };
    let server = match &t.spawned {
        Some(s) => {
            let flags = s.args.join(" ");
            r.s("server_bin", &s.bin.display().to_string())
                .s("server_flags", &flags);
            format!("spawned {} {flags} (pid {})", s.bin.display(), s.pid())
        }
        None => {
            r.s("server_flags", "unknown (not spawned)");
            let pid = c
                .pid
                .map(|p| format!("pid {p}"))
                .unwrap_or_else(|| "no --pid".into());
            format!("running at {} ({pid}; flags unknown)", t.addr)
        }
    };
    r.row("server", server);
}

/// A nick the server lets a client take: valid, and not a guest name.
fn nick_allowed(nick: &str) -> bool {
    is_valid_nick(nick) && !is_guest_nick(nick)
}

fn default_nick_prefix() -> String {
    let p = std::process::id() % (36 * 36 * 36);
    let d = |v: u32| std::char::from_digit(v, 36).unwrap_or('0');
    format!("b{}{}{}", d(p / 1296), d(p / 36 % 36), d(p % 36))
}

fn make_ctx(c: &cli::Common, t: &Target, base: Instant) -> Result<Ctx, String> {
    let prefix = c.nick_prefix.clone().unwrap_or_else(default_nick_prefix);
    if prefix.len() > 10 || !nick_allowed(&format!("{prefix}0")) {
        return Err(format!(
            "bad --nick-prefix '{prefix}': 1-10 of [A-Za-z0-9_-], starting with a letter"
        ));
    }
    if !is_valid_room(&format!("{}0", c.room)) || c.room.len() > 26 {
        return Err(format!("bad --room '{}': 1-26 of [A-Za-z0-9_-]", c.room));
    }
    if !(c.timeout.is_finite() && c.timeout > 0.0) {
        return Err("--timeout must be > 0".into());
    }
    let tls = match &t.ca {
        Some(ca) => Some(
            sala::net::tls::client_config(&sala::net::tls::Trust::Ca(ca.clone()))
                .map_err(|e| format!("--tls: {e}"))?,
        ),
        None => None,
    };
    Ok(Ctx {
        tls,
        addr: t.addr,
        pid: t.pid,
        window: c.window.max(1),
        timeout_ns: (c.timeout * 1e9) as u64,
        settle_ms: c.settle_ms,
        nick_prefix: prefix,
        room: c.room.clone(),
        progress: !c.no_progress,
        verbose: c.verbose,
        base,
        hard_deadline_ns: c.max_seconds.saturating_mul(1_000_000_000),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_prefix_is_a_valid_nick_start() {
        let p = default_nick_prefix();
        assert_eq!(p.len(), 4);
        assert!(nick_allowed(&format!("{p}12345x99")));
    }

    #[test]
    fn guest_names_are_not_allowed_as_nicks() {
        assert!(nick_allowed("guestx"));
        assert!(!nick_allowed("guest12"));
        assert!(!nick_allowed("1abc"));
    }
}
