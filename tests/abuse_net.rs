//! Issue 11, the network findings, each reproduced on loopback and shown
//! fixed: silent connections are told goodbye at the login timeout and one
//! address cannot take every place (finding 1); HTTP requests hold places,
//! cost no threads beyond them and must arrive whole in time (finding 6); a
//! steady reader is never dropped by the send timeout and a reader that is
//! cut off gets its goodbye (finding 9); a listener that cannot bind is named
//! (finding 8).
//!
//! Several hosts are played by client sockets bound to 127.0.0.2, 127.0.0.3, ...

mod common;

use common::chat1::Client;
use common::irc::Irc;
use common::ws::{Frames, Ws};
use common::{connect, connect_from, eventually, irc_addr, start, web_addr};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// A loopback address that plays host `n` (127.0.0.n).
fn host(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, n)
}

/// The server with every door open, on free ports of 127.0.0.1.
fn start_all_doors(tweak: impl FnOnce(&mut sala::Config)) -> sala::Server {
    start(|c| {
        c.web_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        c.irc_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        tweak(c);
    })
}

/// Sends a whole `GET /` on `stream` and returns the status line of the answer.
fn get_status(mut stream: TcpStream) -> String {
    let addr = stream.peer_addr().expect("connected");
    stream
        .write_all(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .expect("send a request");
    status_line(&mut stream)
}

/// The first line of what the server sends on `stream` (its HTTP status line).
fn status_line(stream: &mut TcpStream) -> String {
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .expect("an answer, not a timeout");
    line.trim_end().to_string()
}

/// Half a request head, as a slowloris client sends it, then nothing.
fn half_head(stream: &mut TcpStream) {
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .expect("send half a head");
}

/// Threads of this process whose name starts with `prefix` (the server
/// runs in the test process; thread names are in /proc).
fn threads_named(prefix: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|n| n.starts_with(prefix))
        })
        .count()
}

/// An IRC client that never completes its registration but answers every
/// `PING`, in its own thread, until the server ends it; returns how many
/// PINGs it answered and the server's last line.
fn irc_squatter(mut irc: Irc, lines: &[&str]) -> thread::JoinHandle<(usize, String)> {
    for line in lines {
        irc.send(line);
    }
    thread::spawn(move || {
        let mut pongs = 0;
        let last = irc.wait_answering("ERROR", |line| {
            if line == "PING :sala" {
                pongs += 1;
            }
            line.starts_with("ERROR ")
        });
        irc.expect_closed();
        (pongs, last)
    })
}

/// Proves an IRC client is still connected: a PING of its own is answered
/// (the server's PINGs to it on the way are answered too).
fn alive(irc: &mut Irc) {
    irc.send("PING alive");
    irc.wait_answering("PONG alive", |l| l == ":sala PONG sala :alive");
}

/// A registered IRC client that answers the server's PINGs in its own
/// thread (the test's short `--irc-ping` would drop it otherwise), until
/// [`Answering::join`] sends `PING done` and the answer to it arrives.
struct Answering {
    out: TcpStream,
    thread: thread::JoinHandle<Irc>,
}

impl Answering {
    /// Stops answering; returns the client.
    fn join(self) -> thread::Result<Irc> {
        (&self.out).write_all(b"PING done\r\n").expect("send PING");
        self.thread.join()
    }
}

/// Starts answering the PINGs of `irc` (registered) in a thread.
fn registered_answering_pings(mut irc: Irc) -> Answering {
    let out = irc.stream().try_clone().expect("clone the socket");
    let thread = thread::spawn(move || {
        irc.wait_answering("PONG done", |l| l == ":sala PONG sala :done");
        irc
    });
    Answering { out, thread }
}

// ------------------------------------------------------------ finding 1: login timeout

/// Finding 1: nothing timed out a silent CHAT/1 or WebSocket connection, and
/// an unregistered IRC socket that answered `PING` stayed forever. Now each
/// is told goodbye in its door's words at `--login-timeout` and closed;
/// clients that logged in stay.
#[test]
fn connections_that_do_not_log_in_are_told_goodbye_at_the_login_timeout() {
    let server = start_all_doors(|c| {
        c.login_timeout = Duration::from_secs(1);
        c.irc_ping = Duration::from_millis(200);
    });
    let (chat, irc, web) = (server.local_addr(), irc_addr(&server), web_addr(&server));
    // Logged in: a command, a registration, a first message.
    let mut ana = Client::login(chat, "ana");
    let carol = registered_answering_pings(Irc::register(irc, "carol"));
    let mut wanda = Ws::login(web, "wanda");
    // Not logged in: silence; NICK without USER; a NICK that is taken.
    let mut silent = Client::connect(chat);
    let mut silent_ws = Ws::connect(web);
    let half = irc_squatter(Irc::connect(irc), &["NICK squatter"]);
    let taken = irc_squatter(Irc::connect(irc), &["NICK ana", "USER ana 0 * :ana"]);
    silent.expect("BYE login timeout: no command within 1s");
    silent.expect_eof();
    silent_ws.expect("BYE login timeout: no command within 1s");
    silent_ws.expect_close();
    for squatter in [half, taken] {
        let (pongs, last) = squatter.join().expect("the IRC squatter");
        assert_eq!(
            last,
            "ERROR :Closing link: login timeout: registration not completed within 1s"
        );
        assert!(pongs > 0, "it answered PING, and was dropped all the same");
    }
    ana.assert_silent();
    wanda.assert_silent();
    let mut carol = carol.join().expect("carol's thread");
    alive(&mut carol);
    assert_eq!(server.clients(), 3);
    server.shutdown();
}

/// Finding 1, the lock-out: silent sockets on all three doors filled
/// `--max-clients` and every real user got `SERVER_FULL`, for good. Now the
/// squatters are gone at the login timeout and real users get in.
#[test]
fn squatters_that_fill_the_server_leave_at_the_login_timeout() {
    let server = start_all_doors(|c| {
        c.max_clients = 7;
        c.login_timeout = Duration::from_secs(2);
        c.irc_ping = Duration::from_millis(300);
    });
    let (chat, irc, web) = (server.local_addr(), irc_addr(&server), web_addr(&server));
    let mut ana = Client::login(chat, "ana");
    let mut squatters: Vec<Client> = (0..2).map(|_| Client::connect(chat)).collect();
    let mut ws_squatters: Vec<Ws> = (0..2).map(|_| Ws::connect(web)).collect();
    let irc_squatters: Vec<_> = (0..2)
        .map(|_| irc_squatter(Irc::connect(irc), &["CAP LS"]))
        .collect();
    eventually("seven connections", || server.clients() == 7);
    let mut bob = Client::raw(chat);
    bob.expect("ERR SERVER_FULL the server holds at most 7 clients; try again later");
    bob.expect_bye();
    for s in &mut squatters {
        assert!(s.expect_bye().starts_with("login timeout"));
    }
    for s in &mut ws_squatters {
        s.wait_prefix("BYE login timeout");
        s.expect_close();
    }
    for s in irc_squatters {
        let (_, last) = s.join().expect("the IRC squatter");
        assert!(
            last.starts_with("ERROR :Closing link: login timeout"),
            "{last}"
        );
    }
    eventually("the squatters' places", || server.clients() == 1);
    let mut bob = Client::login(chat, "bob");
    let mut carol = Irc::register(irc, "carol");
    let mut wanda = Ws::login(web, "wanda");
    ana.assert_silent();
    bob.assert_silent();
    alive(&mut carol);
    wanda.assert_silent();
    server.shutdown();
}

// ------------------------------------------------------------ finding 6: slowloris

/// Finding 6: 2,000 half-sent request heads cost 2,000 threads, beyond
/// `--max-clients`. Now (200 here) they hold at most `--max-clients` places
/// and threads, plus at most [`MAX_REFUSING`] short-lived refusing threads;
/// the others are answered `503` at once, the ones with a place `408` at
/// their deadline; then a real user gets in.
///
/// [`MAX_REFUSING`]: sala::doors::web::MAX_REFUSING
#[test]
fn half_sent_request_heads_cost_no_threads_beyond_max_clients() {
    const HEADS: usize = 200;
    let server = start(|c| {
        c.web_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        c.max_clients = 20;
        c.max_per_ip = 0;
        c.login_timeout = Duration::from_secs(1);
    });
    let web = web_addr(&server);
    let mut heads: Vec<TcpStream> = (0..HEADS).map(|_| connect_from(host(8), web)).collect();
    for h in &mut heads {
        half_head(h);
    }
    // Other tests of this file run alongside, with a few web threads of their own.
    let bound = 20 + sala::doors::web::MAX_REFUSING + 8;
    let mut most = threads_named("web");
    let mut statuses = std::collections::BTreeMap::new();
    for h in &mut heads {
        most = most.max(threads_named("web"));
        *statuses.entry(status_line(h)).or_insert(0) += 1;
    }
    assert!(
        most <= bound,
        "{most} web threads for {HEADS} half-sent heads"
    );
    assert_eq!(
        statuses.get("HTTP/1.1 408 Request Timeout"),
        Some(&20),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.get("HTTP/1.1 503 Service Unavailable"),
        Some(&(HEADS - 20)),
        "{statuses:?}"
    );
    drop(heads);
    eventually("every place to be given back", || server.clients() == 0);
    let mut wanda = Ws::login(web, "wanda");
    wanda.assert_silent();
    server.shutdown();
}

/// Finding 6, second half: the head timeout started again with every byte,
/// so a byte every few seconds kept a connection forever. Now the whole head
/// must arrive in time (10 s, or the login timeout if shorter; 2 s here).
#[test]
fn a_request_head_trickling_in_is_cut_at_its_deadline() {
    let server = start(|c| {
        c.web_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        c.login_timeout = Duration::from_secs(2);
    });
    let started = Instant::now();
    let mut stream = connect(web_addr(&server));
    let mut trickle = stream.try_clone().expect("clone the socket");
    let trickler = thread::spawn(move || {
        let _ = trickle.write_all(b"GET / HTTP/1.1\r\nX-Slow: ");
        // One byte every 200 ms, for at most 8 s, as a slowloris client sends.
        for _ in 0..40 {
            if trickle.write_all(b"a").is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(200));
        }
    });
    assert_eq!(status_line(&mut stream), "HTTP/1.1 408 Request Timeout");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "answered after {took:?}");
    trickler.join().expect("the trickler");
    server.shutdown();
}

// ------------------------------------------------------------ findings 1, 6: places

/// Finding 1: nothing limited how many connections one address held. Now
/// `--max-per-ip` counts them across every door, HTTP included; the next one
/// is told so in its door's words and closed; other addresses are not
/// affected, and a place given back can be taken again.
#[test]
fn one_address_holds_at_most_max_per_ip_connections_across_the_doors() {
    let server = start_all_doors(|c| c.max_per_ip = 3);
    let (chat, irc, web) = (server.local_addr(), irc_addr(&server), web_addr(&server));
    let me = host(2);
    let mut ana = Client::from_stream(connect_from(me, chat));
    ana.welcome();
    let _irc = Irc::register_over(connect_from(me, irc), "ircana");
    let mut ws = Ws::new(Frames::over(connect_from(me, web)));
    ws.welcome();
    // A fourth connection, on any door, is refused.
    let mut fourth = Client::from_stream(connect_from(me, chat));
    fourth.expect(
        "ERR TOO_MANY_CONNECTIONS at most 3 connections from one address; close one and try again",
    );
    fourth.expect_bye();
    let mut irc4 = Irc::over(connect_from(me, irc));
    irc4.expect("ERROR :Too many connections from your host");
    irc4.expect_closed();
    assert_eq!(
        get_status(connect_from(me, web)),
        "HTTP/1.1 429 Too Many Requests"
    );
    // Another host is welcome.
    let mut bob = Client::from_stream(connect_from(host(3), chat));
    bob.welcome();
    assert_eq!(server.clients(), 4);
    // A place given back is free again.
    ana.quit();
    eventually("ana's place to be given back", || server.clients() == 3);
    let mut again = Client::from_stream(connect_from(me, chat));
    again.welcome();
    again.assert_silent();
    ws.assert_silent();
    bob.assert_silent();
    server.shutdown();
}

/// `--max-per-ip 0` is no limit (a lab behind one NAT).
#[test]
fn max_per_ip_zero_is_no_limit() {
    let server = start(|c| c.max_per_ip = 0);
    let clients: Vec<Client> = (0..8)
        .map(|_| {
            let mut c = Client::from_stream(connect_from(host(4), server.local_addr()));
            c.welcome();
            c
        })
        .collect();
    assert_eq!(server.clients(), clients.len());
    server.shutdown();
}

/// Finding 6, first half: connections still in their HTTP request took no
/// place, so any number of them cost a thread each. Now they hold a place
/// from `accept` on, under `--max-clients` and `--max-per-ip` alike.
#[test]
fn http_connections_in_their_request_count_against_the_limits() {
    let server = start_all_doors(|c| {
        c.max_clients = 5;
        c.max_per_ip = 3;
    });
    let (chat, web) = (server.local_addr(), web_addr(&server));
    // Three half-sent heads from one host take all its places...
    let mut heads: Vec<TcpStream> = (0..3).map(|_| connect_from(host(5), web)).collect();
    for h in &mut heads {
        half_head(h);
    }
    eventually("the three heads to be counted", || server.clients() == 3);
    let mut refused = Client::from_stream(connect_from(host(5), chat));
    refused.expect_prefix("ERR TOO_MANY_CONNECTIONS ");
    refused.expect_bye();
    // ... and count against --max-clients.
    let mut heads2: Vec<TcpStream> = (0..2).map(|_| connect_from(host(6), web)).collect();
    for h in &mut heads2 {
        half_head(h);
    }
    eventually("five heads to be counted", || server.clients() == 5);
    let mut full = Client::from_stream(connect_from(host(7), chat));
    full.expect("ERR SERVER_FULL the server holds at most 5 clients; try again later");
    full.expect_bye();
    assert_eq!(
        get_status(connect_from(host(7), web)),
        "HTTP/1.1 503 Service Unavailable"
    );
    server.shutdown();
}

// ------------------------------------------------------------ finding 9

/// A reader that takes at most `rate` bytes a second, as a client on a slow
/// link does.
struct Throttled<R> {
    inner: R,
    rate: f64,
    started: Instant,
    taken: usize,
}

impl<R: Read> Read for Throttled<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Being slow is the point of this reader: it waits until its rate
        // allows the next read (it does not wait for any state).
        let due = Duration::from_secs_f64(self.taken as f64 / self.rate);
        if let Some(early) = due.checked_sub(self.started.elapsed()) {
            thread::sleep(early);
        }
        let want = buf.len().min(16 * 1024);
        let n = self.inner.read(&mut buf[..want])?;
        self.taken += n;
        Ok(n)
    }
}

/// `count` lines of `SAY lobby <n> <text>`, as one write.
fn burst(count: usize, text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for n in 0..count {
        out.extend_from_slice(format!("SAY lobby {n} {text}\n").as_bytes());
    }
    out
}

/// Sends `bytes` from `client`'s socket in another thread while the same
/// thread reads its lines up to `last`; returns the client when both are done.
fn send_reading_echoes(client: Client, bytes: Vec<u8>, last: String) -> thread::JoinHandle<Client> {
    let mut client = client;
    let out = client.stream().try_clone().expect("clone the socket");
    thread::spawn(move || {
        let sender = thread::spawn(move || (&out).write_all(&bytes).expect("send the burst"));
        client.wait_line(&last);
        sender.join().expect("the sender");
        client
    })
}

/// Finding 9: a client reading steadily (here 2 MB/s, with a send timeout
/// of 300 ms) through a burst larger than the kernel's buffers was dropped,
/// because the writer measured the time since it last handed bytes to the
/// kernel, and `poll(2)` calls a full socket writable only once a third of
/// its buffer (megabytes on loopback) is free. It now gets every line.
#[test]
fn a_steady_reader_is_not_dropped_by_the_send_timeout() {
    const LINES: usize = 7000;
    let server = start(|c| {
        c.send_queue = 1_000_000;
        c.send_timeout = Duration::from_millis(300);
    });
    let addr = server.local_addr();
    let mut ana = Client::login(addr, "ana");
    ana.join("lobby");
    let mut steady = Client::login(addr, "steady");
    steady.join("lobby");
    ana.expect("JOIN lobby steady");
    let text = "y".repeat(1000);
    let last = format!("MSG lobby ana {} {text}", LINES - 1);
    let ana = send_reading_echoes(ana, burst(LINES, &text), last);
    let stream = steady.into_stream();
    let control = stream.try_clone().expect("clone the socket");
    let mut slow = BufReader::new(Throttled {
        inner: stream,
        rate: 2_000_000.0,
        started: Instant::now(),
        taken: 0,
    });
    for n in 0..LINES {
        let mut line = String::new();
        slow.read_line(&mut line).expect("a line, not a timeout");
        assert!(
            line == format!("MSG lobby ana {n} {text}\n"),
            "line {n} of {LINES} is {} bytes, {:?}...: dropped by the send timeout?",
            line.len(),
            &line[..line.len().min(24)]
        );
    }
    // Still connected: a PING is answered.
    (&control).write_all(b"PING still-here\n").expect("send");
    let mut line = String::new();
    slow.read_line(&mut line).expect("the PONG");
    assert_eq!(line, "PONG still-here\n");
    let mut ana = ana.join().expect("ana's thread");
    ana.assert_silent();
    server.shutdown();
}

/// Finding 9, second half: a client that stops reading altogether is cut
/// off after the send timeout, and if it reads within 2 s of that it finds
/// whole lines, then `BYE`, then the end of the stream (it used to find
/// only the end).
#[test]
fn a_reader_cut_off_by_the_send_timeout_gets_its_bye() {
    const LINES: usize = 6000;
    let server = start(|c| {
        c.send_queue = 1_000_000;
        // Long enough that ana, reading on a loaded 2-core machine, is not
        // cut off too (a 300 ms timeout was, now and then).
        c.send_timeout = Duration::from_secs(2);
    });
    let addr = server.local_addr();
    let mut ana = Client::login(addr, "ana");
    ana.join("lobby");
    let stuck = common::chat1::stuck_in_lobby(addr, &mut ana);
    let stuck_nick = stuck.nick.clone();
    let text = "z".repeat(1000);
    let last = format!("MSG lobby ana {} {text}", LINES - 1);
    let mut ana = send_reading_echoes(ana, burst(LINES, &text), last)
        .join()
        .expect("ana's thread");
    // The cut-off stops the reader at once, so room-mates hear of it at once.
    ana.wait_line(&format!("QUIT {stuck_nick} connection closed"));
    let mut stuck = stuck;
    let n = stuck.burst_then_bye(&text, "send timeout: you took nothing for 2s");
    stuck.expect_eof();
    assert!(n < LINES, "got all {n} lines: it was never cut off");
    ana.assert_silent();
    server.shutdown();
}

// ------------------------------------------------------------ finding 8: which listener

/// A port of 127.0.0.1 that is taken (by the listener returned, kept open).
fn busy_port() -> (std::net::TcpListener, SocketAddr) {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let addr = taken.local_addr().expect("its address");
    (taken, addr)
}

/// Finding 8: a busy web or IRC port was reported as the `--listen`
/// address. Now the error names the listener's flag and address, and the
/// server binary exits with a failure status.
#[test]
fn a_listener_that_cannot_bind_is_named() {
    let (_taken, busy) = busy_port();
    for flag in ["--listen", "--web-listen", "--irc-listen"] {
        let mut config = common::config();
        match flag {
            "--listen" => config.listen = busy,
            "--web-listen" => config.web_listen = Some(busy),
            _ => config.irc_listen = Some(busy),
        }
        let e = sala::Server::start(config).expect_err("the port is taken");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("cannot listen on {busy} ({flag}): ")),
            "{text}"
        );
        // The binary says the same and fails.
        let busy_text = busy.to_string();
        let args = match flag {
            "--listen" => vec!["--web-listen", "off", "--listen", &busy_text],
            "--web-listen" => vec!["--listen", "127.0.0.1:0", "--web-listen", &busy_text],
            _ => vec![
                "--listen",
                "127.0.0.1:0",
                "--web-listen",
                "off",
                "--irc-listen",
                &busy_text,
            ],
        };
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .arg("--no-persist")
            .args(&args)
            .env("RUST_LOG", "off")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the server binary");
        let status = common::wait_exit(&mut child, Duration::from_secs(20));
        common::kill(&mut child);
        let status = status.unwrap_or_else(|| panic!("{args:?}: the server did not stop"));
        assert!(!status.success(), "{args:?}: exit status {status}");
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("read stderr");
        assert!(
            stderr.contains(&format!(
                "server: cannot start: cannot listen on {busy} ({flag}): "
            )),
            "{args:?}: {stderr}"
        );
    }
}
