//! `server`: runs a Sala chat server until SIGINT or SIGTERM.

use clap::Parser;
use sala::FloodLimit;
use sala::{Config, Server};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

/// Every default, from the one place that holds them.
const DEFAULTS: Config = Config::DEFAULT;

/// Sala: a small CHAT/1 chat server, one thread per connection.
///
/// Clients connect over TCP and speak plain text lines (try `nc HOST 44765`),
/// or open the web client in a browser (http://HOST:8080/); with
/// --irc-listen, IRC clients join the same rooms.
/// Set RUST_LOG=debug to watch every socket call (socket, bind, listen, accept,
/// recv, send, shutdown) as it happens.
#[derive(Debug, Parser)]
#[command(version)]
struct Flags {
    /// Address and port to listen on (port 0 picks a free one), or `off`:
    /// with TLS on, CHAT/1 over TLS only (--tls-listen's port stays on the
    /// default host).
    #[arg(long, value_name = "ADDR|off", default_value_t = Listen::At(DEFAULTS.listen))]
    listen: Listen,
    /// Address and port of the web client (HTTP and WebSocket), or `off`.
    /// [default: port 8080 on the host of --listen; port 0 if --listen asks for port 0]
    #[arg(long, value_name = "ADDR|off")]
    web_listen: Option<WebListen>,
    /// Also listen for IRC clients (irssi, WeeChat, HexChat...) at this address,
    /// e.g. 0.0.0.0:6667: the same rooms, as channels #room. Off by default.
    #[arg(long, value_name = "ADDR")]
    irc_listen: Option<SocketAddr>,
    /// Seconds an IRC client may stay quiet before it is sent PING; if it stays
    /// quiet as long again, it is dropped.
    #[arg(long, default_value_t = DEFAULTS.irc_ping.as_secs())]
    irc_ping: u64,
    /// The server's name on IRC, in every prefix and numeric: 1-63 of
    /// A-Z a-z 0-9 . - _ [default: the host name]
    #[arg(long, value_name = "NAME", value_parser = server_name)]
    server_name: Option<String>,
    /// Most connections at once, on all doors, web requests included; the next
    /// one is told ERR SERVER_FULL and BYE (a web page request: 503).
    #[arg(long, default_value_t = DEFAULTS.max_clients)]
    max_clients: usize,
    /// Most connections from one address at once, on all doors, web requests
    /// included; the next one is told ERR TOO_MANY_CONNECTIONS (IRC: ERROR,
    /// web: 429). 0 turns the limit off: do that for a lab whose machines
    /// all reach the server through one NAT address.
    #[arg(long, value_name = "N", default_value_t = DEFAULTS.max_per_ip)]
    max_per_ip: usize,
    /// Most rooms at once; creating one more is refused with ERR TOO_MANY_ROOMS.
    #[arg(long, default_value_t = DEFAULTS.max_rooms)]
    max_rooms: usize,
    /// Most rooms one account or guest may own at once; creating one more is refused
    /// with ERR TOO_MANY_ROOMS (0: no limit but --max-rooms).
    #[arg(long, value_name = "N", default_value_t = DEFAULTS.max_rooms_per_user)]
    max_rooms_per_user: usize,
    /// An account whose logged-in users are server admins (repeatable): operators
    /// of every room, able to delete any room and disconnect users (KILL; on IRC
    /// also OPER NICK PASSWORD). [default: none]
    #[arg(long, value_name = "NICK", value_parser = admin_nick)]
    admin: Vec<String>,
    /// A file holding the password of the --admin accounts that do not exist yet:
    /// they are created at start with it. Without it an admin account must exist
    /// already (REGISTER of an --admin nick is refused, so no user can take it).
    #[arg(long, value_name = "PATH", requires = "admin")]
    admin_password_file: Option<PathBuf>,
    /// Days after which a registered user's room with no member and no new message
    /// is removed, with its history (0: never). Checked at start and every hour.
    #[arg(long, value_name = "DAYS", default_value_t = DEFAULTS.room_expiry.as_secs() / 86_400)]
    room_expiry: u64,
    /// With --no-persist: messages kept per room in memory, for JOIN and HISTORY.
    /// (With a data directory every message is kept.)
    #[arg(long, default_value_t = DEFAULTS.history)]
    history: usize,
    /// Directory of the database (SQLite): rooms of registered users, history,
    /// accounts and whispers waiting for absent users survive restarts. Created if missing.
    #[arg(long, default_value = Config::DATA_DIR)]
    data_dir: PathBuf,
    /// Keep everything in memory only: nothing survives a restart.
    #[arg(long)]
    no_persist: bool,
    /// Most whispers kept for one absent registered user (ERR INBOX_FULL past it).
    #[arg(long, default_value_t = DEFAULTS.inbox_cap)]
    inbox_cap: usize,
    /// Flood control: lines per second a connection may send (0 turns it off).
    /// Lines beyond it are read later, never dropped.
    #[arg(long, default_value_t = DEFAULTS.flood.rate)]
    flood_rate: f64,
    /// Flood control: lines a connection may send at once before the rate applies.
    #[arg(long, default_value_t = DEFAULTS.flood.burst)]
    flood_burst: u32,
    /// Events a slow reader may have waiting before it is disconnected with BYE.
    #[arg(long, default_value_t = DEFAULTS.send_queue)]
    send_queue: usize,
    /// Length of the kernel's queue of completed connections not yet accepted.
    #[arg(long, default_value_t = DEFAULTS.backlog)]
    backlog: i32,
    /// Seconds a peer may take no byte at all of what is sent to it before it is dropped.
    #[arg(long, default_value_t = DEFAULTS.send_timeout.as_secs())]
    send_timeout: u64,
    /// Seconds a new connection has to log in (CHAT/1: send its first command;
    /// IRC: complete registration; web: upgrade to a WebSocket and send its
    /// first message); then it is told BYE (IRC: ERROR) and closed. A web
    /// request head must also arrive whole within 10 seconds.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULTS.login_timeout.as_secs())]
    login_timeout: u64,
    /// Threads that hash and check passwords and room keys (Argon2, slow on purpose).
    #[arg(long, default_value_t = DEFAULTS.password_threads)]
    password_threads: usize,
    /// Password and key checks that may wait for a thread; past it a login,
    /// REGISTER or locked JOIN is refused at once as busy (try again shortly).
    #[arg(long, default_value_t = DEFAULTS.password_queue)]
    password_queue: usize,
    /// TLS certificate chain (PEM), with --tls-key: turns TLS on (CHAT/1 on
    /// --tls-listen, IRC on --irc-tls-listen, HTTPS and WSS on --web-listen).
    /// SIGHUP reads it and the key again.
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key of --tls-cert (PEM).
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// With no --tls-cert: turn TLS on with a self-signed certificate, made
    /// once and kept in the data directory (--data-dir, even with
    /// --no-persist); its SHA-256 fingerprint is printed at start (for client
    /// --fingerprint).
    #[arg(long, conflicts_with = "tls_cert")]
    tls_self_signed: bool,
    /// A name (or address) of the self-signed certificate; repeatable.
    /// [default: localhost and the listen address]
    #[arg(long, value_name = "NAME")]
    tls_name: Vec<String>,
    /// Address and port of CHAT/1 over TLS, when TLS is on.
    /// [default: port 44766 on the host of --listen; port 0 if --listen asks for port 0]
    #[arg(long, value_name = "ADDR")]
    tls_listen: Option<SocketAddr>,
    /// Also serve IRC over TLS at this address when TLS is on, e.g.
    /// 0.0.0.0:6697. Off by default.
    #[arg(long, value_name = "ADDR")]
    irc_tls_listen: Option<SocketAddr>,
    /// Largest file one may share (web page, client /send); bigger ones are
    /// refused with ERR FILE_TOO_LARGE before the upload (HTTP 413 if the
    /// upload itself grows past what it announced). Units: K, M, G (KiB, MiB, GiB).
    #[arg(long, value_name = "SIZE", default_value_t = Size(DEFAULTS.max_file_size))]
    max_file_size: Size,
    /// Most bytes one user's shared files may take at once (ERR QUOTA_FULL past it).
    #[arg(long, value_name = "SIZE", default_value_t = Size(DEFAULTS.user_files_quota))]
    user_files_quota: Size,
    /// Most bytes all shared files may take on disk, each stored once
    /// (ERR QUOTA_FULL past it).
    #[arg(long, value_name = "SIZE", default_value_t = Size(DEFAULTS.files_quota))]
    files_quota: Size,
    /// Days after which a shared file is removed (0: never); a file also goes
    /// with its room. Checked at start and every hour.
    #[arg(long, value_name = "DAYS", default_value_t = DEFAULTS.file_retention.as_secs() / 86_400)]
    file_retention: u64,
    /// The web client's address as users reach it, for file links (e.g.
    /// https://chat.example). [default: from --web-listen, the host name for 0.0.0.0]
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
}

/// A size in bytes, written with an optional unit: `1048576`, `512K`, `25MiB`, `1G`.
#[derive(Debug, Clone, Copy)]
struct Size(u64);

const UNITS: [(&str, u64); 7] = [
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("G", 1 << 30),
    ("M", 1 << 20),
    ("K", 1 << 10),
    ("B", 1),
];

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (unit, n) in &UNITS[..3] {
            if self.0 >= *n && self.0.is_multiple_of(*n) {
                return write!(f, "{}{unit}", self.0 / n);
            }
        }
        write!(f, "{}", self.0)
    }
}

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Size, String> {
        let s = s.trim();
        let (digits, scale) = UNITS
            .iter()
            .find_map(|(unit, n)| {
                let cut = s.len().checked_sub(unit.len())?;
                let tail = s.get(cut..)?;
                tail.eq_ignore_ascii_case(unit).then(|| (&s[..cut], *n))
            })
            .unwrap_or((s, 1));
        digits
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(|d| d.checked_mul(scale))
            .map(Size)
            .ok_or_else(|| "expected a size such as 1048576, 512K, 25MiB or 1G".to_string())
    }
}

/// The value of `--listen`.
#[derive(Debug, Clone, Copy)]
enum Listen {
    Off,
    At(SocketAddr),
}

impl Listen {
    /// The address, or for `off` the default one (whose host the TLS port's default uses).
    fn addr(self) -> SocketAddr {
        match self {
            Listen::Off => DEFAULTS.listen,
            Listen::At(addr) => addr,
        }
    }
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Off => f.write_str("off"),
            Listen::At(addr) => write!(f, "{addr}"),
        }
    }
}

impl FromStr for Listen {
    type Err = String;

    fn from_str(s: &str) -> Result<Listen, String> {
        match s.parse::<WebListen>()? {
            WebListen::Off => Ok(Listen::Off),
            WebListen::At(addr) => Ok(Listen::At(addr)),
        }
    }
}

/// The value of `--web-listen`.
#[derive(Debug, Clone, Copy)]
enum WebListen {
    Off,
    At(SocketAddr),
}

impl FromStr for WebListen {
    type Err = String;

    fn from_str(s: &str) -> Result<WebListen, String> {
        if s.eq_ignore_ascii_case("off") {
            return Ok(WebListen::Off);
        }
        s.parse()
            .map(WebListen::At)
            .map_err(|e| format!("{e}: expected HOST:PORT or off"))
    }
}

/// The value of `--server-name`: one word of host-name characters.
fn server_name(s: &str) -> Result<String, String> {
    if sala::proto::irc::is_valid_server_name(s) {
        Ok(s.to_string())
    } else {
        Err("expected 1-63 of A-Z a-z 0-9 . - _".to_string())
    }
}

/// The value of `--admin`: a nickname one can register and log in with.
fn admin_nick(s: &str) -> Result<String, String> {
    sala::proto::command::check_nick(s)
        .map(|()| s.to_string())
        .map_err(|refusal| refusal.text)
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let flags = Flags::parse();
    let tls_on = flags.tls_cert.is_some() || flags.tls_self_signed;
    if !tls_on && (flags.tls_listen.is_some() || flags.irc_tls_listen.is_some()) {
        eprintln!(
            "server: --tls-listen and --irc-tls-listen need TLS: give --tls-cert and --tls-key, or --tls-self-signed"
        );
        return ExitCode::from(2);
    }
    if !tls_on && matches!(flags.listen, Listen::Off) {
        eprintln!(
            "server: --listen off leaves no CHAT/1 door without TLS: give --tls-cert and --tls-key, or --tls-self-signed"
        );
        return ExitCode::from(2);
    }
    let admin_password = match &flags.admin_password_file {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) if !text.trim().is_empty() && !text.trim().contains(char::is_whitespace) => {
                Some(text.trim().to_string())
            }
            Ok(_) => {
                eprintln!(
                    "server: --admin-password-file {}: the file must hold one word, the password",
                    path.display()
                );
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("server: --admin-password-file {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    raise_fd_limit();
    let web_listen = match flags.web_listen {
        Some(WebListen::Off) => None,
        Some(WebListen::At(addr)) => Some(addr),
        // With --listen HOST:0 (tests, scripts) the web port is picked freely too.
        None => Some(Config::web_beside(flags.listen.addr())),
    };
    let config = Config {
        listen: flags.listen.addr(),
        plain_chat: !matches!(flags.listen, Listen::Off),
        web_listen,
        irc_listen: flags.irc_listen,
        irc_ping: Duration::from_secs(flags.irc_ping.max(1)),
        backlog: flags.backlog,
        max_clients: flags.max_clients,
        max_per_ip: flags.max_per_ip,
        max_rooms: flags.max_rooms,
        max_rooms_per_user: flags.max_rooms_per_user,
        admins: flags.admin.clone(),
        admin_password,
        room_expiry: Duration::from_secs(flags.room_expiry.saturating_mul(86_400)),
        history: flags.history,
        data_dir: (!flags.no_persist).then(|| flags.data_dir.clone()),
        inbox_cap: flags.inbox_cap,
        flood: FloodLimit {
            rate: flags.flood_rate,
            burst: flags.flood_burst,
        },
        send_queue: flags.send_queue,
        send_timeout: Duration::from_secs(flags.send_timeout.max(1)),
        login_timeout: Duration::from_secs(flags.login_timeout.max(1)),
        password_threads: flags.password_threads.max(1),
        password_queue: flags.password_queue.max(1),
        server_name: flags.server_name.clone(),
        tls_cert: flags.tls_cert.clone(),
        tls_key: flags.tls_key.clone(),
        tls_self_signed: flags.tls_self_signed,
        tls_names: flags.tls_name.clone(),
        tls_dir: Some(flags.data_dir.clone()),
        tls_listen: Some(
            flags
                .tls_listen
                .unwrap_or_else(|| Config::tls_beside(flags.listen.addr())),
        ),
        irc_tls_listen: flags.irc_tls_listen,
        // Beside the database; with --no-persist emptied at start, like the rest.
        files_dir: Some(flags.data_dir.join("files")),
        max_file_size: flags.max_file_size.0,
        user_files_quota: flags.user_files_quota.0,
        files_quota: flags.files_quota.0,
        file_retention: Duration::from_secs(flags.file_retention.saturating_mul(86_400)),
        public_url: flags.public_url.clone(),
        ..Config::default()
    };
    let server = match Server::start(config) {
        Ok(server) => server,
        Err(e) => {
            // The error names what failed: which listener (by its flag), or the store.
            eprintln!("server: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(fingerprint) = server.tls_fingerprint() {
        println!("TLS certificate SHA-256 fingerprint: {fingerprint}");
    }
    let mut signals = match Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("server: cannot catch signals: {e}");
            server.shutdown();
            return ExitCode::FAILURE;
        }
    };
    let signal_handle = signals.handle();
    let stopper = server.stopper();
    let certificates = server.certificates();
    let watcher = std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal == SIGHUP {
                // A bad file keeps the old certificate; reload_tls logs why.
                log::info!("SIGHUP: reading the TLS certificate and key again");
                if let Some(certificates) = &certificates {
                    let _ = certificates.reload();
                }
                continue;
            }
            log::info!("signal {signal}: shutting down");
            stopper.stop();
            break;
        }
    });
    let stopped = server.wait();
    signal_handle.close();
    let _ = watcher.join();
    // A supervisor restarts a server that failed; one that was asked to stop exits 0.
    match stopped.failure {
        None => ExitCode::SUCCESS,
        Some(e) => {
            eprintln!("server: stopped because of a failure: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Each client holds a socket; allow as many open files as the hard limit does.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                log::warn!("cannot raise the open-file limit");
            }
        }
    }
    log::debug!("open-file limit: {}", limit.rlim_cur);
}
