//! `logins`: password guessing against the server, and what it costs
//! everyone else (issue 11, finding 5). G guessers, each from its own
//! loopback address (127.1.x.y), send `NICK <victim> <guess>` over and over,
//! answer after answer; meanwhile a legitimate user logs in to another
//! account L times in a row, from 127.0.0.1, and each login is timed from
//! its `NICK` to the server's `NICK guest<N> <nick>`. A login refused because
//! the server is busy is tried again (after 20 ms) and its time keeps running.
//! With `--spray`, each guesser guesses its own account instead of one.
//!
//! Plain blocking sockets and one thread per guesser (64 KiB stacks): the
//! guessers are few and slow (the server's flood control paces them), and
//! the figure wanted is one person's wait, not the bench's throughput.

use crate::cli::LoginsArgs;
use crate::common::Ctx;
use crate::hist::Hist;
use crate::report::{Report, hist_human, thousands};
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// A password no guess is.
const PASSWORD: &str = "right-horse-battery";
/// How long any one read may wait.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections registering accounts at once during the setup.
const REGISTRARS: usize = 8;

/// A line-reading CHAT/1 connection.
struct Conn {
    reader: BufReader<TcpStream>,
    nick: String,
}

impl Conn {
    /// Connects from `from` (port 0: any) and reads the `WELCOME`.
    fn open(addr: SocketAddr, from: Option<[u8; 4]>) -> Result<Conn, String> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
            .map_err(|e| format!("socket: {e}"))?;
        if let Some(ip) = from {
            // bind(2) before connect(2): the server sees this source address.
            socket
                .bind(&SocketAddr::from((ip, 0)).into())
                .map_err(|e| format!("bind {ip:?}: {e}"))?;
        }
        socket
            .connect(&addr.into())
            .map_err(|e| format!("connect: {e}"))?;
        let stream: TcpStream = socket.into();
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let mut conn = Conn {
            reader: BufReader::new(stream),
            nick: String::new(),
        };
        let welcome = conn.line()?;
        conn.nick = welcome
            .strip_prefix("WELCOME ")
            .and_then(|rest| rest.split(' ').next())
            .ok_or_else(|| format!("expected WELCOME, got {welcome:?}"))?
            .to_string();
        Ok(conn)
    }

    fn send(&mut self, line: &str) -> Result<(), String> {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.reader
            .get_mut()
            .write_all(&bytes)
            .map_err(|e| format!("send: {e}"))
    }

    fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err("the server closed the connection".into()),
            Ok(_) => Ok(line.trim_end_matches('\n').to_string()),
            Err(e) => Err(format!("recv: {e}")),
        }
    }

    /// Reads until a line starting with one of `prefixes`; returns it.
    fn until(&mut self, prefixes: &[&str]) -> Result<String, String> {
        loop {
            let line = self.line()?;
            if prefixes.iter().any(|p| line.starts_with(p)) {
                return Ok(line);
            }
        }
    }

    /// Takes `nick` and registers it with [`PASSWORD`].
    fn register(&mut self, nick: &str) -> Result<(), String> {
        self.send(&format!("NICK {nick}"))?;
        self.until(&["NICK ", "ERR "])?;
        self.send(&format!("REGISTER {PASSWORD}"))?;
        let answer = self.until(&["OK REGISTER", "ERR "])?;
        if answer.starts_with("ERR ") && !answer.starts_with("ERR ALREADY_REGISTERED") {
            return Err(format!("REGISTER {nick}: {answer}"));
        }
        Ok(())
    }
}

/// The source address of guesser `i`: 127.1.0.1, 127.1.0.2, ...
fn guesser_ip(i: usize) -> [u8; 4] {
    let n = i + 1;
    [127, 1, (n / 250) as u8, (n % 250) as u8 + 1]
}

/// What the guessers saw, counted by all of them.
#[derive(Default)]
struct Tally {
    /// Guesses checked and found wrong.
    checked: AtomicU64,
    /// Guesses refused unchecked: a wait is on.
    waited: AtomicU64,
    /// Guesses refused unchecked: the workers were busy.
    busy: AtomicU64,
    /// Guessers that failed (connect, read).
    failed: AtomicU64,
}

/// One guesser: guesses `victim`'s password until `stop`, one answer at a time.
fn guess(addr: SocketAddr, from: [u8; 4], victim: &str, stop: &AtomicBool, tally: &Tally) {
    let run = || -> Result<(), String> {
        let mut conn = Conn::open(addr, Some(from))?;
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            conn.send(&format!("NICK {victim} guess{n}"))?;
            n += 1;
            let answer = conn.until(&["ERR ", "NICK "])?;
            let counter = if answer.contains("too many wrong passwords") {
                &tally.waited
            } else if answer.contains("busy") {
                &tally.busy
            } else {
                &tally.checked
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let _ = conn.send("QUIT");
        Ok(())
    };
    if run().is_err() {
        tally.failed.fetch_add(1, Ordering::Relaxed);
    }
}

/// One timed login to `nick`: µs from `NICK` to the `NICK` event, and how
/// many times it was refused as busy first.
fn timed_login(addr: SocketAddr, nick: &str) -> Result<(u64, u32), String> {
    let mut conn = Conn::open(addr, None)?;
    let guest = conn.nick.clone();
    let want = format!("NICK {guest} {nick}");
    let t0 = Instant::now();
    let mut busy = 0;
    loop {
        conn.send(&format!("NICK {nick} {PASSWORD}"))?;
        let answer = conn.until(&["NICK ", "ERR "])?;
        if answer == want {
            break;
        }
        if answer.contains("busy") && busy < 10_000 {
            busy += 1;
            thread::sleep(Duration::from_millis(20));
            continue;
        }
        return Err(format!("login {nick}: {answer}"));
    }
    let took = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
    conn.until(&["END OFFLINE"])?;
    // The nick is free again once the server said goodbye: the next login may take it.
    conn.send("QUIT")?;
    conn.until(&["BYE "])?;
    Ok((took, busy))
}

/// Registers every nick of `nicks`, on a few connections at once.
fn register_all(addr: SocketAddr, nicks: &[String]) -> Result<(), String> {
    let chunk = nicks.len().div_ceil(REGISTRARS).max(1);
    thread::scope(|s| {
        let workers: Vec<_> = nicks
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || -> Result<(), String> {
                    for nick in part {
                        Conn::open(addr, None)?.register(nick)?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().map_err(|_| "a registrar panicked".to_string())?)
    })
}

pub fn run(a: &LoginsArgs, ctx: &Ctx, r: &mut Report) -> Result<(), String> {
    if a.guessers == 0 || a.logins == 0 {
        return Err("logins needs --guessers >= 1 and --logins >= 1".into());
    }
    let user = format!("{}ok", ctx.nick_prefix);
    let victims: Vec<String> = if a.spray {
        (0..a.guessers)
            .map(|i| format!("{}v{i}", ctx.nick_prefix))
            .collect()
    } else {
        vec![format!("{}v", ctx.nick_prefix)]
    };
    let mut accounts = victims.clone();
    accounts.push(user.clone());
    let t0 = Instant::now();
    register_all(ctx.addr, &accounts)?;
    r.f("register_s", t0.elapsed().as_secs_f64());
    r.row(
        "scenario",
        format!(
            "{} guessers (127.1.x.y) guessing {}; {} timed logins to {user} from 127.0.0.1",
            a.guessers,
            if a.spray {
                format!("{} accounts, one each", victims.len())
            } else {
                format!("one account, {}", victims[0])
            },
            a.logins
        ),
    );
    r.u("guessers", a.guessers as u64)
        .b("spray", a.spray)
        .u("logins", a.logins as u64);
    // Before the attack: what a login costs on a quiet server.
    let (quiet, _) = timed_login(ctx.addr, &user)?;
    let stop = AtomicBool::new(false);
    let tally = Tally::default();
    let mut hist = Hist::default();
    let mut busy_retries = 0u64;
    let mut failed_logins = 0u64;
    let attack_s = thread::scope(|s| -> Result<f64, String> {
        for i in 0..a.guessers {
            let victim = victims[i % victims.len()].as_str();
            let (stop, tally, addr) = (&stop, &tally, ctx.addr);
            thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn_scoped(s, move || guess(addr, guesser_ip(i), victim, stop, tally))
                .map_err(|e| format!("spawn a guesser: {e}"))?;
        }
        // Let the attack get going before the first timed login.
        thread::sleep(Duration::from_millis(a.warmup_ms));
        let attack = Instant::now();
        let checked_before = tally.checked.load(Ordering::Relaxed);
        for _ in 0..a.logins {
            match timed_login(ctx.addr, &user) {
                Ok((us, busy)) => {
                    hist.record(us);
                    busy_retries += u64::from(busy);
                }
                Err(e) => {
                    eprintln!("bench: {e}");
                    failed_logins += 1;
                }
            }
        }
        let secs = attack.elapsed().as_secs_f64();
        let checked = tally.checked.load(Ordering::Relaxed) - checked_before;
        r.f("checked_per_s", checked as f64 / secs.max(1e-9));
        stop.store(true, Ordering::Relaxed);
        Ok(secs)
    })?;
    let (checked, waited, busy, failed) = (
        tally.checked.load(Ordering::Relaxed),
        tally.waited.load(Ordering::Relaxed),
        tally.busy.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
    );
    r.f("quiet_login_ms", quiet as f64 / 1000.0)
        .hist("login_", &hist)
        .u("login_busy_retries", busy_retries)
        .u("logins_failed", failed_logins)
        .f("attack_s", attack_s)
        .u("guesses_checked", checked)
        .u("guesses_waited", waited)
        .u("guesses_busy", busy)
        .u("guessers_failed", failed)
        .b("complete", failed_logins == 0 && failed == 0);
    r.row(
        "login, quiet server",
        format!("{:.3} ms", quiet as f64 / 1000.0),
    );
    r.row("login during the attack", hist_human(&hist));
    r.row(
        "",
        format!("{busy_retries} refusals as busy retried, {failed_logins} logins failed"),
    );
    r.row(
        "guesses answered",
        format!(
            "{} checked ({}/s), {} told to wait, {} refused as busy, in {attack_s:.1} s; {failed} guessers failed",
            thousands(checked as f64),
            thousands(checked as f64 / attack_s.max(1e-9)),
            thousands(waited as f64),
            thousands(busy as f64),
        ),
    );
    Ok(())
}
