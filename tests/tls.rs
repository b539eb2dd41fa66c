//! TLS on every door (issue 12): CHAT/1 over TLS with a raw rustls socket
//! and with the client binary, IRC over TLS, HTTPS and WSS, the certificate
//! reloaded while a client stays, the self-signed certificate, and each
//! wrong-protocol case. Certificates are made here (rcgen); every socket
//! has a read timeout.

mod common;

use common::chat1::{Chat1, Client};
use common::{Ending, Lines, READ_TIMEOUT, Transport, connect, eventually, start, wait_exit};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConnection, StreamOwned};
use sala::Server;
use sala::net::tls::{self, Trust};
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tungstenite::Message;
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;

/// A certificate for `localhost` and 127.0.0.1, written as PEM into `dir`;
/// returns (certificate path, key path, its DER).
fn certificate(dir: &Path, stem: &str) -> (PathBuf, PathBuf, Vec<u8>) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("rcgen makes a certificate");
    let cert = dir.join(format!("{stem}.crt"));
    let key = dir.join(format!("{stem}.key"));
    std::fs::write(&cert, made.cert.pem()).expect("write the certificate");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("write the key");
    (cert, key, made.cert.der().to_vec())
}

/// A server with TLS on (a certificate made in `dir`), its CHAT/1 TLS port,
/// IRC (plain and TLS) and web (HTTPS) doors on free ports of loopback.
fn start_tls(dir: &Path, tweak: impl FnOnce(&mut sala::Config)) -> (Server, Vec<u8>) {
    let (cert, key, der) = certificate(dir, "server");
    let free: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let server = start(|c| {
        c.tls_cert = Some(cert);
        c.tls_key = Some(key);
        c.tls_listen = Some(free);
        c.irc_listen = Some(free);
        c.irc_tls_listen = Some(free);
        c.web_listen = Some(free);
        tweak(c);
    });
    (server, der)
}

/// A rustls client that trusts exactly `cert`.
fn trusting(cert: &[u8]) -> Arc<rustls::ClientConfig> {
    tls::client_config(&Trust::Fingerprint(tls::fingerprint(cert))).expect("a client config")
}

/// A rustls client of "localhost" that trusts exactly `cert`, not yet connected.
fn client_of(cert: &[u8]) -> ClientConnection {
    let name = ServerName::try_from("localhost").expect("a name");
    ClientConnection::new(trusting(cert), name).expect("a client connection")
}

/// `conn` over `socket`, its handshake done.
fn handshake(
    conn: ClientConnection,
    socket: TcpStream,
) -> StreamOwned<ClientConnection, TcpStream> {
    let mut stream = StreamOwned::new(conn, socket);
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .expect("the TLS handshake succeeds");
    }
    stream
}

/// A TLS connection to `addr`, handshake done, reads and writes timing out.
fn dial_tls(addr: SocketAddr, cert: &[u8]) -> StreamOwned<ClientConnection, TcpStream> {
    handshake(client_of(cert), connect(addr))
}

/// CHAT/1 lines over an established TLS stream.
fn chat_over(stream: StreamOwned<ClientConnection, TcpStream>) -> Chat1<Tls> {
    Chat1::new(Tls {
        reader: BufReader::new(stream),
        ending: Ending::Lf,
    })
}

/// Lines over TLS, as [`common::Tcp`] over TCP.
struct Tls {
    reader: BufReader<StreamOwned<ClientConnection, TcpStream>>,
    ending: Ending,
}

impl Transport for Tls {
    fn send_line(&mut self, line: &str) -> io::Result<()> {
        let end = if self.ending == Ending::Lf {
            "\n"
        } else {
            "\r\n"
        };
        let stream = self.reader.get_mut();
        stream.write_all(format!("{line}{end}").as_bytes())?;
        stream.flush()
    }

    fn recv_line(&mut self) -> io::Result<Option<String>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches('\n').trim_end_matches('\r');
        Ok(Some(line.to_string()))
    }
}

/// A CHAT/1 client over TLS, its WELCOME read.
fn chat_tls(addr: SocketAddr, cert: &[u8]) -> Chat1<Tls> {
    let mut c = chat_over(dial_tls(addr, cert));
    c.welcome();
    c
}

/// True when the server closes `stream` (EOF or a reset) before `limit`,
/// whatever it sends first.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        stream.set_read_timeout(Some(left)).expect("a read timeout");
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// The first bytes of a real TLS ClientHello.
fn client_hello() -> Vec<u8> {
    let mut conn = client_of(b"none");
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).expect("write into a Vec");
    hello
}

#[test]
fn chat1_over_tls_meets_plain_chat1_in_the_same_room() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, cert) = start_tls(dir.path(), |_| {});
    let tls_addr = server.tls_addr().expect("the TLS port is open");
    let mut ana = chat_tls(tls_addr, &cert);
    ana.rename("ana");
    ana.join("lobby");
    let mut bob = Client::login(server.local_addr(), "bob");
    bob.join("lobby");
    ana.wait_line("JOIN lobby bob");
    ana.send("SAY lobby over tls");
    bob.wait_line("MSG lobby ana over tls");
    bob.send("SAY lobby in plain text");
    ana.wait_line("MSG lobby bob in plain text");
    // Much at once: several TLS records, in order.
    let long = "x".repeat(1500);
    for n in 0..40 {
        bob.send(&format!("SAY lobby {n} {long}"));
    }
    for n in 0..40 {
        ana.wait_line(&format!("MSG lobby bob {n} {long}"));
    }
    // And the other way: 100 KiB at once from a TLS client, so that whole
    // 16 KiB records arrive in one recv (rustls holds at most 16 KiB of text).
    let mut burst = String::new();
    for n in 0..64 {
        burst.push_str(&format!("SAY lobby back {n} {long}\n"));
    }
    let stream = ana.io().reader.get_mut();
    stream.write_all(burst.as_bytes()).expect("send a burst");
    stream.flush().expect("flush the burst");
    for n in 0..64 {
        bob.wait_line(&format!("MSG lobby ana back {n} {long}"));
    }
    ana.send("QUIT");
    ana.wait_prefix("BYE");
    server.shutdown();
}

#[test]
fn the_client_binary_pins_the_fingerprint_or_trusts_a_ca_and_refuses_a_wrong_one() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, cert) = start_tls(dir.path(), |_| {});
    let port = server.tls_addr().expect("the TLS port").port();
    let run = |args: &[&str], addr: String| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_client"))
            .arg(addr)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the client");
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(b"hello over tls\n")
            .expect("write to the client");
        let status = wait_exit(&mut child, Duration::from_secs(20));
        if status.is_none() {
            common::kill(&mut child);
        }
        let mut out = String::new();
        let mut err = String::new();
        let _ = child.stdout.take().expect("piped").read_to_string(&mut out);
        let _ = child.stderr.take().expect("piped").read_to_string(&mut err);
        (status.is_some_and(|s| s.success()), out, err)
    };
    let pin = tls::fingerprint(&cert);
    let (ok, out, err) = run(
        &[
            "--tls",
            "--fingerprint",
            &pin,
            "--nick",
            "ana",
            "--room",
            "lobby",
        ],
        format!("127.0.0.1:{port}"),
    );
    assert!(ok, "pinned: {out}\n{err}");
    assert!(out.contains("[lobby] ana: hello over tls"), "{out}");
    let ca = dir.path().join("server.crt");
    let ca = ca.to_str().expect("a UTF-8 path");
    let (ok, out, err) = run(
        &["--tls", "--ca", ca, "--nick", "bob", "--room", "lobby"],
        format!("localhost:{port}"),
    );
    assert!(ok, "--ca: {out}\n{err}");
    assert!(out.contains("[lobby] bob: hello over tls"), "{out}");
    let wrong = format!("00{}", &pin[2..]);
    let (ok, out, err) = run(
        &["--tls", "--fingerprint", &wrong],
        format!("127.0.0.1:{port}"),
    );
    assert!(!ok, "a wrong pin must fail: {out}");
    assert!(err.contains("not the one pinned"), "{err}");
    assert!(!out.contains("connected"), "{out}");
    // The system's authorities do not know a test certificate.
    let (ok, _, err) = run(&["--tls"], format!("127.0.0.1:{port}"));
    assert!(!ok);
    assert!(err.contains("try --ca FILE or --fingerprint"), "{err}");
    server.shutdown();
}

#[test]
fn irc_over_tls_registers_and_meets_chat1_users() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, cert) = start_tls(dir.path(), |_| {});
    let addr = server.irc_tls_addr().expect("the IRC TLS port");
    let mut irc = Lines::new(
        Tls {
            reader: BufReader::new(dial_tls(addr, &cert)),
            ending: Ending::Crlf,
        },
        "ircana",
    );
    irc.send("NICK ircana");
    irc.send("USER ircana 0 * :Ana");
    irc.wait_for("001", |l| l.split(' ').nth(1) == Some("001"));
    irc.send("JOIN #lobby");
    irc.wait_for("366", |l| l.split(' ').nth(1) == Some("366"));
    let mut bob = Client::login(server.local_addr(), "bob");
    bob.join("lobby");
    irc.send("PRIVMSG #lobby :hi from irc over tls");
    bob.wait_line("MSG lobby ircana hi from irc over tls");
    server.shutdown();
}

#[test]
fn https_serves_the_page_and_wss_carries_chat1() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, cert) = start_tls(dir.path(), |_| {});
    let web = server.web_addr().expect("the web door");
    let mut page = dial_tls(web, &cert);
    page.write_all(format!("GET / HTTP/1.1\r\nHost: {web}\r\n\r\n").as_bytes())
        .expect("send a request");
    let mut answer = Vec::new();
    let _ = page.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("<!doctype html>"), "{answer}");

    let stream = dial_tls(web, &cert);
    let mut request = format!("wss://{web}/ws")
        .into_client_request()
        .expect("a request");
    request.headers_mut().insert(
        "Origin",
        HeaderValue::from_str(&format!("https://{web}")).expect("a header"),
    );
    let (mut ws, response) = tungstenite::client::client(request, stream).expect("WSS handshake");
    assert_eq!(response.status(), 101);
    let mut text = || match ws.read().expect("a message") {
        Message::Text(t) => t.as_str().to_string(),
        other => panic!("expected text, got {other:?}"),
    };
    assert!(text().starts_with("WELCOME "));
    ws.send(Message::text("NICK webana")).expect("send");
    let mut bob = Client::login(server.local_addr(), "bob");
    bob.join("lobby");
    let mut read = || match ws.read().expect("a message") {
        Message::Text(t) => t.as_str().to_string(),
        other => panic!("expected text, got {other:?}"),
    };
    assert!(read().ends_with(" webana"));
    ws.send(Message::text("JOIN lobby")).expect("send");
    ws.send(Message::text("SAY lobby over wss")).expect("send");
    bob.wait_line("MSG lobby webana over wss");

    // Plain HTTP on the HTTPS port: no page, the connection just ends.
    let mut plain = connect(web);
    plain
        .write_all(format!("GET / HTTP/1.1\r\nHost: {web}\r\n\r\n").as_bytes())
        .expect("send");
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(!String::from_utf8_lossy(&got).contains("HTTP/1.1 200"));
    server.shutdown();
}

#[test]
fn a_reload_changes_the_certificate_of_new_handshakes_only_and_a_bad_file_changes_nothing() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, old) = start_tls(dir.path(), |_| {});
    let addr = server.tls_addr().expect("the TLS port");
    let mut ana = chat_tls(addr, &old);
    ana.rename("ana");
    ana.join("lobby");
    // Renewal: a new certificate in the same files.
    let (new_cert, new_key, new) = certificate(dir.path(), "renewed");
    std::fs::copy(&new_cert, dir.path().join("server.crt")).expect("replace the certificate");
    std::fs::copy(&new_key, dir.path().join("server.key")).expect("replace the key");
    server.reload_tls().expect("the new files are good");
    assert_eq!(server.tls_fingerprint(), Some(tls::fingerprint(&new)));
    let mut bob = chat_tls(addr, &new);
    bob.rename("bob");
    bob.join("lobby");
    // The connection made before the reload is still there and still talks.
    ana.wait_line("JOIN lobby bob");
    ana.send("SAY lobby still here");
    bob.wait_line("MSG lobby ana still here");
    // A bad file: refused with a reason, the certificate in use stays.
    std::fs::write(dir.path().join("server.key"), "not a key").expect("spoil the key");
    let err = server.reload_tls().expect_err("a bad key is refused");
    assert!(err.to_string().contains("server.key"), "{err}");
    assert_eq!(server.tls_fingerprint(), Some(tls::fingerprint(&new)));
    let mut carol = chat_tls(addr, &new);
    carol.rename("carol");
    ana.send("SAY lobby and still");
    bob.wait_line("MSG lobby ana and still");
    server.shutdown();
}

#[test]
fn a_self_signed_certificate_is_made_once_kept_private_and_reused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().to_path_buf();
    let free: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let run = || {
        start(|c| {
            c.data_dir = Some(data.clone());
            c.tls_self_signed = true;
            c.tls_listen = Some(free);
        })
    };
    let server = run();
    let first = server.tls_fingerprint().expect("TLS is on");
    let key = std::fs::metadata(data.join("tls-self-signed.key")).expect("the key is kept");
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
    let pem = std::fs::read(data.join("tls-self-signed.crt")).expect("the certificate is kept");
    let der = CertificateDer::from_pem_slice(&pem)
        .expect("a PEM certificate")
        .to_vec();
    let mut ana = chat_tls(server.tls_addr().expect("the TLS port"), &der);
    ana.rename("ana");
    server.shutdown();
    let again = run();
    assert_eq!(
        again.tls_fingerprint(),
        Some(first),
        "the same certificate again"
    );
    again.shutdown();
    // Memory only (--no-persist): the certificate is still kept, where told.
    let kept = dir.path().join("kept");
    let memory = start(|c| {
        c.data_dir = None;
        c.tls_dir = Some(kept.clone());
        c.tls_self_signed = true;
        c.tls_listen = Some(free);
    });
    assert!(kept.join("tls-self-signed.key").is_file());
    memory.shutdown();
}

#[test]
fn the_wrong_protocol_on_either_port_is_closed_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, _cert) = start_tls(dir.path(), |c| c.login_timeout = Duration::from_secs(2));
    let tls_addr = server.tls_addr().expect("the TLS port");
    let irc_addr = server.irc_addr().expect("the IRC port");
    // A TLS hello on the plain CHAT/1 and IRC ports: closed at once.
    for plain in [server.local_addr(), irc_addr] {
        let mut s = connect(plain);
        s.write_all(&client_hello()).expect("send a ClientHello");
        assert!(closed_within(&mut s, Duration::from_secs(1)), "{plain}");
    }
    // Plain text on the TLS ports: closed at once (after an alert).
    for secure in [tls_addr, server.irc_tls_addr().expect("the IRC TLS port")] {
        let mut s = connect(secure);
        s.write_all(b"NICK ana\nJOIN lobby\n")
            .expect("send plain text");
        assert!(closed_within(&mut s, Duration::from_secs(1)), "{secure}");
    }
    // Silence on the TLS port: closed by the login timeout.
    let mut quiet = connect(tls_addr);
    let start = Instant::now();
    assert!(closed_within(&mut quiet, READ_TIMEOUT));
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    // Nothing lasting: every place under the limits is given back.
    eventually("every connection to be gone", || server.clients() == 0);
    server.shutdown();
}

#[test]
fn a_handshake_holds_a_place_under_the_limits() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, cert) = start_tls(dir.path(), |c| c.max_clients = 1);
    let tls_addr = server.tls_addr().expect("the TLS port");
    // A connection that never says hello holds the one place...
    let _silent = connect(tls_addr);
    eventually("the silent one to hold its place", || server.clients() == 1);
    let mut refused = Client::raw(server.local_addr());
    refused.expect("ERR SERVER_FULL the server holds at most 1 clients; try again later");
    refused.expect_prefix("BYE");
    drop(refused);
    // On the TLS ports a refusal is no plain text a TLS client would choke on: a close.
    for secure in [tls_addr, server.web_addr().expect("the web door")] {
        let mut s = connect(secure);
        s.write_all(&client_hello()).expect("send a ClientHello");
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        assert!(
            got.is_empty(),
            "{secure}: {:?}",
            String::from_utf8_lossy(&got)
        );
    }
    drop(_silent);
    eventually("its place to come back", || server.clients() == 0);
    let mut ana = chat_tls(tls_addr, &cert);
    ana.rename("ana");
    server.shutdown();
}

#[test]
fn listen_off_serves_chat1_over_tls_only_and_needs_tls() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, cert) = start_tls(dir.path(), |c| c.plain_chat = false);
    assert_eq!(Some(server.local_addr()), server.tls_addr());
    let mut ana = chat_tls(server.local_addr(), &cert);
    ana.rename("ana");
    server.shutdown();
    let refused = sala::Server::start(sala::Config {
        plain_chat: false,
        ..common::config()
    });
    let err = refused.expect_err("no CHAT/1 door at all");
    assert!(err.to_string().contains("--listen off"), "{err}");
}

/// The server binary's log (stderr), line by line, read by a thread.
fn log_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    let err = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (bounded) for a log line containing `want`; returns it.
fn log_line(log: &std::sync::mpsc::Receiver<String>, want: &str) -> String {
    let until = Instant::now() + READ_TIMEOUT;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let line = log
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no log line with {want:?}"));
        if line.contains(want) {
            return line;
        }
    }
}

#[test]
fn sighup_reloads_the_binarys_certificate_while_a_client_stays() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (cert, key, old) = certificate(dir.path(), "server");
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--web-listen",
            "off",
            "--no-persist",
        ])
        .args(["--tls-listen", "127.0.0.1:0", "--flood-rate", "0"])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let log = log_lines(&mut child);
    let line = log_line(&log, "CHAT/1 over TLS on ");
    let addr: SocketAddr = line
        .rsplit(' ')
        .next()
        .and_then(|a| a.parse().ok())
        .expect("the TLS address in the log");
    let mut ana = chat_tls(addr, &old);
    ana.rename("ana");
    ana.join("lobby");
    let (new_cert, new_key, new) = certificate(dir.path(), "renewed");
    std::fs::copy(&new_cert, &cert).expect("replace the certificate");
    std::fs::copy(&new_key, &key).expect("replace the key");
    // SAFETY: kill(2) with the pid of our own child.
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    log_line(
        &log,
        &format!(
            "reloaded from {} (SHA-256 {})",
            cert.display(),
            tls::fingerprint(&new)
        ),
    );
    let mut bob = chat_tls(addr, &new);
    bob.rename("bob");
    bob.join("lobby");
    ana.wait_line("JOIN lobby bob");
    ana.send("SAY lobby through the renewal");
    bob.wait_line("MSG lobby ana through the renewal");
    // SAFETY: as above; SIGTERM stops it.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = wait_exit(&mut child, Duration::from_secs(20));
    if status.is_none() {
        common::kill(&mut child);
    }
    assert!(status.is_some_and(|s| s.success()));
}

#[test]
fn a_first_line_in_the_same_packet_as_the_handshakes_end_is_read() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, cert) = start_tls(dir.path(), |_| {});
    let addr = server.tls_addr().expect("the TLS port");
    let mut conn = client_of(&cert);
    // Written before the handshake: rustls sends it right behind its Finished.
    conn.writer()
        .write_all(b"NICK early\n")
        .expect("buffer a line");
    let mut early = chat_over(handshake(conn, connect(addr)));
    early.welcome();
    early.wait_prefix("NICK guest");
    server.shutdown();
}

#[test]
fn a_tls_reader_cut_off_by_the_send_timeout_gets_whole_lines_then_its_bye() {
    use socket2::{Domain, Protocol, Socket, Type};
    const LINES: usize = 6000;
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, cert) = start_tls(dir.path(), |c| {
        c.send_queue = 1_000_000;
        c.send_timeout = Duration::from_millis(300);
    });
    let mut ana = Client::login(server.local_addr(), "ana");
    ana.join("lobby");
    // A TLS member that reads nothing, with a small receive buffer.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
    socket.set_recv_buffer_size(4096).expect("a small buffer");
    let addr = server.tls_addr().expect("the TLS port");
    socket.connect(&addr.into()).expect("connect");
    let socket = common::with_timeouts(socket.into());
    let mut stuck = chat_over(handshake(client_of(&cert), socket));
    stuck.welcome();
    stuck.send("JOIN lobby");
    ana.expect(&format!("JOIN lobby {}", stuck.nick));
    let text = "z".repeat(1000);
    let out = ana.stream().try_clone().expect("clone the socket");
    let mut burst = Vec::new();
    for n in 0..LINES {
        burst.extend_from_slice(format!("SAY lobby {n} {text}\n").as_bytes());
    }
    let sender = std::thread::spawn(move || (&out).write_all(&burst).expect("send the burst"));
    ana.wait_line(&format!("QUIT {} connection closed", stuck.nick));
    sender.join().expect("the sender");
    // Whatever was encrypted stays, in order; the BYE comes after it.
    let n = stuck.burst_then_bye(&text, "send timeout: you took nothing for 300ms");
    assert!(n < LINES, "got all {n} lines: it was never cut off");
    eventually("the cut-off one to be gone", || server.clients() == 1);
    server.shutdown();
}

#[test]
fn a_handshake_in_progress_does_not_hold_up_the_stop() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, _cert) = start_tls(dir.path(), |_| {});
    let mut silent = connect(server.tls_addr().expect("the TLS port"));
    eventually("the silent one to be accepted", || server.clients() == 1);
    let start = Instant::now();
    server.shutdown();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(closed_within(&mut silent, Duration::from_secs(1)));
}

#[test]
fn the_binary_refuses_tls_ports_without_a_certificate() {
    for args in [
        &["--irc-tls-listen", "127.0.0.1:0"][..],
        &["--tls-listen", "127.0.0.1:0"][..],
        &["--listen", "off"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["--web-listen", "off", "--no-persist"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run the server");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--tls-self-signed"), "{args:?}: {err}");
    }
}

#[test]
fn junk_and_cut_handshakes_on_the_tls_ports_cost_nothing_lasting() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, cert) = start_tls(dir.path(), |_| {});
    let ports = [
        server.tls_addr().expect("the TLS port"),
        server.irc_tls_addr().expect("the IRC TLS port"),
        server.web_addr().expect("the web door"),
    ];
    let hello = client_hello();
    // A fixed xorshift: the same junk every run.
    let mut seed: u64 = 0x5a1a_7e57;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..30 {
        let addr = ports[round % ports.len()];
        let mut s = connect(addr);
        let bytes: Vec<u8> = match round % 3 {
            // Random bytes.
            0 => (0..(next() % 600)).map(|_| next() as u8).collect(),
            // A real ClientHello cut short.
            1 => hello[..(next() as usize % hello.len())].to_vec(),
            // A real ClientHello, then junk where the next flight should be.
            _ => {
                let mut b = hello.clone();
                b.extend((0..64).map(|_| next() as u8));
                b
            }
        };
        let _ = s.write_all(&bytes);
        // Half of them hang up at once, half leave it to the server.
        if round % 2 == 0 {
            drop(s);
        } else {
            let _ = s.shutdown(std::net::Shutdown::Write);
            assert!(closed_within(&mut s, READ_TIMEOUT), "round {round}");
        }
    }
    eventually("every junk connection to be gone", || server.clients() == 0);
    let mut ana = chat_tls(ports[0], &cert);
    ana.rename("ana");
    server.shutdown();
}
