//! Command-line interface (clap derive).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
OUTPUT
  stdout: exactly one JSON line per run (append it to a .jsonl file).
  stderr: a progress line once a second while running, then a human summary
          table. Use --no-progress to silence the progress lines.

TARGET
  --addr IP:PORT   a running server (loopback only); add --pid PID to get
                   memory/thread/CPU figures from /proc (skipped otherwise).
                   Every client comes from 127.0.0.1: start that server with
                   --max-per-ip 0 (or above --clients).
  --spawn          start target/<profile>/server next to this executable as
                   server --listen 127.0.0.1:0 --web-listen off <--server-args>
                   (default \"--flood-rate 0 --no-persist --max-per-ip 0\";
                   giving --server-args replaces the default, so keep
                   --max-per-ip 0 in it; --web-listen in it replaces \"off\"),
                   read the port it picked from its log (RUST_LOG=info,
                   \"listening on ADDR\"), and stop it at the end (SIGTERM, then
                   SIGKILL).
  --tls            every client over TLS; with --spawn the server also gets
                   --tls-cert/--tls-key (a self-signed certificate made in a
                   temporary directory) and --tls-listen 127.0.0.1:0, and the
                   clients go to that port (\"CHAT/1 over TLS on ADDR\").

KEY JSON FIELDS
  clients_ready, setup_s            clients held, connect+nick+join time
  rss_bytes_per_conn, threads_per_conn        (needs --pid or --spawn)
  deliveries_per_s, lat_p50_ms/lat_p99_ms/lat_max_ms, deliveries_missing,
  out_of_order, complete            (fanout)
  round_trips_per_s, rtt_p99_ms     (whisper)
  connects_per_s, cycles_failed     (storm)
  server_cpu_pct, bench_cpu_pct     CPU over the measured phase (100 = one
                                    core); bench near 100 = generator-bound

EXIT STATUS
  0 when the run finished (see \"complete\" in the JSON), 1 on an error.

SAFETY
  Loopback only. Every phase ends after --timeout seconds; the whole run
  ends after --max-seconds (checked in the loop, SIGALRM as a last resort).

EXAMPLES
  cargo run --release -p bench -- fanout --spawn --members 1000 --senders 5
  bench idle --addr 127.0.0.1:44765 --pid 1234 --clients 10000 --rooms 100
  bench whisper --spawn --server-args \"--flood-rate 0 --send-queue 16384 --max-per-ip 0\"
  bench logins --spawn --server-args \"--no-persist\" --guessers 300 --logins 20
";

/// Load generator and measurement tool for the Sala CHAT/1 server.
///
/// One thread, one mio event loop, non-blocking sockets: thousands of
/// simulated clients cost the bench little, so the figures are the server's.
#[derive(Parser, Debug)]
#[command(name = "bench", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub scenario: Scenario,
}

#[derive(Args, Debug)]
#[command(next_help_heading = "Common options (any scenario)")]
pub struct Common {
    /// Server address (loopback only). Default 127.0.0.1:44765 unless --spawn.
    #[arg(long, global = true, conflicts_with = "spawn")]
    pub addr: Option<String>,
    /// Server PID for /proc readings (RSS, threads, CPU) when using --addr.
    #[arg(long, global = true, conflicts_with = "spawn")]
    pub pid: Option<u32>,
    /// Start the `server` binary next to this executable and stop it afterwards.
    #[arg(long, global = true)]
    pub spawn: bool,
    /// Flags for the spawned server, split at whitespace (replaces the default).
    #[arg(
        long,
        global = true,
        default_value = "--flood-rate 0 --no-persist --max-per-ip 0",
        allow_hyphen_values = true,
        value_name = "FLAGS"
    )]
    pub server_args: String,
    /// Server binary for --spawn (default: `server` next to this executable).
    #[arg(long, global = true, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// Copy the spawned server's stderr (RUST_LOG=info) to this file (default: discarded).
    #[arg(long, global = true, value_name = "PATH")]
    pub server_log: Option<PathBuf>,
    /// At most this many clients in connect/register/join at once.
    #[arg(long, global = true, default_value_t = 64)]
    pub window: usize,
    /// Deadline for each phase (setup, measurement, quit), in seconds.
    #[arg(long, global = true, default_value_t = 60.0)]
    pub timeout: f64,
    /// Hard cap on the whole run, in seconds.
    #[arg(long, global = true, default_value_t = 600)]
    pub max_seconds: u64,
    /// Quiet time after everyone joined, before measuring (default: idle 1000, others 500).
    #[arg(long, global = true, value_name = "MS")]
    pub settle_ms: Option<u64>,
    /// Nick prefix; clients are <prefix><index> (default: "b" + 3 chars from our PID).
    #[arg(long, global = true)]
    pub nick_prefix: Option<String>,
    /// Room name (fanout) or room name prefix (idle, storm: <room><i>).
    #[arg(long, global = true, default_value = "bench")]
    pub room: String,
    /// Free-form label copied into the JSON.
    #[arg(long, global = true)]
    pub label: Option<String>,
    /// No progress lines on stderr.
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Log every client failure to stderr.
    #[arg(long, global = true)]
    pub verbose: bool,
    /// Every client speaks TLS. With --spawn the server gets a self-signed
    /// certificate (made in a temporary directory) and the clients go to its
    /// --tls-listen port; with --addr (the server's TLS port) give --tls-ca.
    #[arg(long, global = true)]
    pub tls: bool,
    /// With --tls and --addr: the certificate (PEM) the clients trust.
    #[arg(long, global = true, value_name = "PATH", requires = "tls")]
    pub tls_ca: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Scenario {
    /// N idle clients, each registered and in one of R rooms: memory and
    /// threads per connection, connect time.
    Idle(IdleArgs),
    /// K members in one room, S of them send M messages each: deliveries/s,
    /// latency, loss and order.
    Fanout(FanoutArgs),
    /// P pairs bounce whispers: round trips/s and round-trip time.
    Whisper(WhisperArgs),
    /// N clients each run C cycles of connect/register/join/quit: connects/s.
    Storm(StormArgs),
    /// G hosts guess one account's password while someone logs in to
    /// another: how long that login takes (issue 11, finding 5).
    Logins(LoginsArgs),
    /// N users online, S of them ask USERS R times a second: the round trip
    /// of one more client's PING (reply amplification).
    Amplify(AmplifyArgs),
}

#[derive(Args, Debug)]
pub struct IdleArgs {
    /// Number of clients.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Number of rooms (client i joins room i mod R). Default max(1, N/100).
    #[arg(long)]
    pub rooms: Option<usize>,
}

#[derive(Args, Debug)]
pub struct FanoutArgs {
    /// Members in the room (senders included).
    #[arg(long, default_value_t = 100)]
    pub members: usize,
    /// How many members send (members 0..S-1).
    #[arg(long, default_value_t = 10)]
    pub senders: usize,
    /// Messages per sender.
    #[arg(long, default_value_t = 1000)]
    pub messages: u32,
    /// Messages per second per sender on a fixed schedule (default: as fast
    /// as the server takes them).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Message text length in bytes (stamp padded with 'x').
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Stop waiting when everything was sent and nothing arrived for MS.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub quiet_ms: u64,
}

#[derive(Args, Debug)]
pub struct WhisperArgs {
    /// Pairs (2P clients).
    #[arg(long, default_value_t = 50)]
    pub pairs: usize,
    /// Round trips per pair.
    #[arg(long, default_value_t = 1000)]
    pub messages: u32,
    /// Whispers in flight per pair.
    #[arg(long, default_value_t = 1)]
    pub inflight: u32,
    /// Message text length in bytes.
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Stop waiting when nothing arrived for MS.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub quiet_ms: u64,
}

#[derive(Args, Debug)]
pub struct StormArgs {
    /// Concurrent client slots.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// Connect/register/join/quit cycles per slot.
    #[arg(long, default_value_t = 10)]
    pub cycles: u32,
    /// Number of rooms (slot i joins room i mod R). Default max(1, N/100).
    #[arg(long)]
    pub rooms: Option<usize>,
}

#[derive(Args, Debug)]
pub struct LoginsArgs {
    /// Guessers, each from its own address (127.1.0.2, 127.1.0.3, ...).
    #[arg(long, default_value_t = 300)]
    pub guessers: usize,
    /// Timed logins to the account not under attack, one after another.
    #[arg(long, default_value_t = 20)]
    pub logins: usize,
    /// Each guesser guesses its own account (G accounts) instead of one.
    #[arg(long)]
    pub spray: bool,
    /// Attack time before the first timed login.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub warmup_ms: u64,
}

#[derive(Args, Debug)]
pub struct AmplifyArgs {
    /// Users online (the spammers and the bystander included).
    #[arg(long, default_value_t = 2500)]
    pub users: usize,
    /// Users that send USERS on a fixed schedule.
    #[arg(long, default_value_t = 40)]
    pub spammers: usize,
    /// USERS per second per spammer (the server's default flood rate).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// The bystander's PING period.
    #[arg(long, default_value_t = 100, value_name = "MS")]
    pub ping_every_ms: u64,
    /// How long the spammers keep at it.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn server_args_take_hyphen_values_and_globals_follow_subcommand() {
        let cli = Cli::try_parse_from([
            "bench",
            "fanout",
            "--members",
            "10",
            "--spawn",
            "--server-args",
            "--flood-rate 0 --send-queue 16384",
        ]);
        let cli = match cli {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert!(cli.common.spawn);
        assert_eq!(cli.common.server_args, "--flood-rate 0 --send-queue 16384");
        assert!(matches!(cli.scenario, Scenario::Fanout(ref f) if f.members == 10));
        let bad = Cli::try_parse_from(["bench", "idle", "--spawn", "--addr", "127.0.0.1:1"]);
        assert!(bad.is_err());
    }
}
