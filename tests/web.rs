//! The web front door from the outside: the page and its headers over plain
//! HTTP, CHAT/1 over a WebSocket (tungstenite's blocking client) talking with
//! a TCP client, and the requests it must refuse. Every socket has a read
//! timeout; every wait is for the line or answer that proves the state.

mod common;

use common::chat1::Client;
use common::ws::Ws;
use common::{connect, start_web, web_addr};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tungstenite::Message;

/// Sends `request` as it is and reads the whole answer (the server closes).
fn http(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = connect(addr);
    s.write_all(request).expect("send the request");
    let mut answer = Vec::new();
    match s.read_to_end(&mut answer) {
        Ok(_) => {}
        // A reset after the answer still leaves the answer read.
        Err(e) if e.kind() == ErrorKind::ConnectionReset && !answer.is_empty() => {}
        Err(e) => panic!("reading the answer failed: {e}; got {answer:?}"),
    }
    String::from_utf8(answer).expect("a text answer")
}

fn get(addr: SocketAddr, path: &str) -> String {
    http(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes(),
    )
}

/// The status line and the headers (lower-case names) of an answer, and its body.
fn split(answer: &str) -> (String, Vec<(String, String)>, String) {
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.split("\r\n");
    let status = lines.next().expect("a status line").to_string();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(": ").expect("a header line");
            (n.to_ascii_lowercase(), v.to_string())
        })
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map_or_else(|| panic!("no {name} header in {headers:?}"), |(_, v)| v)
}

#[test]
fn the_page_and_its_files_are_served_with_safe_headers() {
    let server = start_web(|_| {});
    let web = web_addr(&server);
    for (path, kind, marker) in [
        ("/", "text/html; charset=utf-8", "<script src=\"/app.js\""),
        (
            "/app.js",
            "text/javascript; charset=utf-8",
            "new WebSocket(",
        ),
        ("/app.css", "text/css; charset=utf-8", ".composer"),
        (
            "/moderation.js",
            "text/javascript; charset=utf-8",
            "SETTINGS ",
        ),
    ] {
        let (status, headers, body) = split(&get(web, path));
        assert_eq!(status, "HTTP/1.1 200 OK", "{path}");
        assert_eq!(header(&headers, "content-type"), kind, "{path}");
        assert_eq!(
            header(&headers, "content-length"),
            body.len().to_string(),
            "{path}"
        );
        assert!(body.contains(marker), "{path}: {marker:?} missing");
        let csp = header(&headers, "content-security-policy");
        for part in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            &format!("connect-src 'self' ws://{web}"),
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{path}: {part:?} not in {csp:?}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(&headers, "cache-control"), "no-cache");
        assert_eq!(header(&headers, "referrer-policy"), "no-referrer");
    }
    // The page has no inline script or style for the policy to forbid.
    let page = get(web, "/");
    assert!(!page.contains("<script>") && !page.contains("<style") && !page.contains("style="));
}

#[test]
fn a_websocket_user_and_a_tcp_user_chat() {
    let server = start_web(|_| {});
    let web = web_addr(&server);
    let mut wanda = Ws::login(web, "wanda");
    let mut tom = Client::login(server.local_addr(), "tom");
    wanda.send("JOIN lobby");
    // Several lines of one event arrive as several frames.
    wanda.expect("JOIN lobby wanda");
    wanda.expect("MEMBERS lobby wanda");
    wanda.expect("END MEMBERS lobby");
    wanda.expect("END HISTORY lobby");
    tom.join("lobby");
    wanda.expect("JOIN lobby tom");
    wanda.send("SAY lobby hello <b>tom</b>, from a browser");
    wanda.expect("MSG lobby wanda hello <b>tom</b>, from a browser");
    tom.expect("MSG lobby wanda hello <b>tom</b>, from a browser");
    tom.send("SAY lobby hi wanda");
    wanda.expect("MSG lobby tom hi wanda");
    tom.expect("MSG lobby tom hi wanda");
    tom.send("WHISPER wanda psst");
    wanda.expect("WHISPER tom wanda psst");
    tom.expect("WHISPER tom wanda psst");
    // A frame may end with \r\n or carry several lines, like a TCP read.
    wanda.send("PING a\r\nPING b");
    wanda.expect("PONG a");
    wanda.expect("PONG b");
    // Messages tungstenite answers itself still go out through the writer.
    wanda
        .socket()
        .send(Message::Ping(b"are you there".to_vec().into()))
        .expect("send a ping");
    match wanda.message() {
        Message::Pong(p) => assert_eq!(&p[..], b"are you there"),
        other => panic!("expected a pong, got {other:?}"),
    }
    wanda.send("QUIT off to lunch");
    wanda.expect("BYE goodbye");
    wanda.expect_close();
    tom.expect("QUIT wanda off to lunch");
}

#[test]
fn an_owner_kicking_themselves_is_refused_over_websockets_too() {
    let server = start_web(|_| {});
    let mut wanda = Ws::login(web_addr(&server), "wanda");
    wanda.join("lobby");
    wanda.refused("KICK lobby wanda", "MISSING_ARGUMENT");
    wanda.send("SAY lobby still mine");
    wanda.expect("MSG lobby wanda still mine");
}

#[test]
fn line_limits_apply_to_frames() {
    let server = start_web(|_| {});
    let web = web_addr(&server);
    let mut ws = Ws::login(web, "wanda");
    // 2047 bytes of text is the longest line (2048 with the `\n` it stands for).
    ws.send(&format!("PING {}", "x".repeat(2042)));
    let pong = ws.next();
    assert_eq!(pong.len(), 5 + 2042);
    ws.send(&format!("PING {}", "x".repeat(2043)));
    let err = ws.next();
    assert!(err.starts_with("ERR LINE_TOO_LONG "), "{err}");
    // Bytes that are not UTF-8 (only a binary frame can carry them).
    ws.socket()
        .send(Message::Binary(b"PING \xff\xfe".to_vec().into()))
        .expect("send a binary frame");
    let err = ws.next();
    assert!(err.starts_with("ERR BAD_UTF8 "), "{err}");
    ws.send("PING still here");
    ws.expect("PONG still here");
}

#[test]
fn a_client_that_closes_leaves_like_a_tcp_one() {
    let server = start_web(|_| {});
    let web = web_addr(&server);
    let mut tom = Client::login(server.local_addr(), "tom");
    tom.join("lobby");
    let mut wanda = Ws::login(web, "wanda");
    wanda.send("JOIN lobby");
    wanda.wait_line("END HISTORY lobby");
    tom.expect("JOIN lobby wanda");
    wanda.socket().close(None).expect("send a close frame");
    tom.expect("QUIT wanda connection closed");
    common::eventually("the connection to be gone", || server.clients() == 1);
}

#[test]
fn handshakes_the_server_refuses() {
    let server = start_web(|_| {});
    let web = web_addr(&server);
    let handshake = |extra: &str| {
        format!(
            "GET /ws HTTP/1.1\r\nHost: {web}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
    };
    let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let status = |request: &str| {
        let answer = http(web, request.as_bytes());
        split(&answer).0
    };
    // The same request with the right Origin is accepted: the others differ by one thing.
    // The connection stays open after a 101: read its head only.
    let mut s = connect(web);
    s.write_all(handshake(&format!("{key}Origin: http://{web}\r\n")).as_bytes())
        .expect("send the handshake");
    let mut good = Vec::new();
    let mut byte = [0u8; 1];
    while !good.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("the 101 head");
        good.push(byte[0]);
    }
    let good = String::from_utf8(good).expect("a text head");
    assert!(
        good.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{good}"
    );
    assert!(good.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert_eq!(
        status(&handshake(&format!("{key}Origin: http://evil.example\r\n"))),
        "HTTP/1.1 403 Forbidden"
    );
    assert_eq!(status(&handshake(key)), "HTTP/1.1 403 Forbidden");
    assert_eq!(
        status(&handshake(&format!("Origin: http://{web}\r\n"))),
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(
        status(&format!("GET /ws HTTP/1.1\r\nHost: {web}\r\n\r\n")),
        "HTTP/1.1 426 Upgrade Required"
    );
    let post = format!("POST /ws HTTP/1.1\r\nHost: {web}\r\nContent-Length: 2\r\n\r\nhi");
    let answer = http(web, post.as_bytes());
    let (status_line, headers, _) = split(&answer);
    assert_eq!(status_line, "HTTP/1.1 405 Method Not Allowed");
    assert_eq!(header(&headers, "allow"), "GET");
    assert_eq!(
        split(&get(web, "/nothing-here")).0,
        "HTTP/1.1 404 Not Found"
    );
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: {web}\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(9000)
    );
    assert_eq!(
        status(&huge),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    assert_eq!(
        status("NOT HTTP AT ALL\r\n\r\n"),
        "HTTP/1.1 400 Bad Request"
    );
}

#[test]
fn a_full_server_refuses_websockets_too() {
    let server = start_web(|c| c.max_clients = 1);
    let web = web_addr(&server);
    let mut tom = Client::login(server.local_addr(), "tom");
    let mut ws = Ws::raw(web);
    ws.expect("ERR SERVER_FULL the server holds at most 1 clients; try again later");
    ws.expect("BYE server full");
    ws.expect_close();
    tom.assert_silent();
    assert_eq!(server.clients(), 1);
}

#[test]
fn shutdown_says_bye_over_websockets_and_does_not_wait_for_idle_http() {
    let server = start_web(|_| {});
    let web = web_addr(&server);
    let mut ws = Ws::login(web, "wanda");
    // A client that sent half a request head and waits.
    let idle = connect(web);
    (&idle)
        .write_all(b"GET / HTTP/1.1\r\n")
        .expect("send half a head");
    // Connections are accepted in order: once a later one is answered, the
    // idle one has its own thread, waiting in its read.
    assert!(get(web, "/").starts_with("HTTP/1.1 200 OK"));
    let started = Instant::now();
    let joined = server.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(joined >= 3, "joined {joined}");
    ws.expect("BYE server shutting down");
    ws.expect_close();
    let mut buf = [0u8; 16];
    assert_eq!((&idle).read(&mut buf).expect("EOF, not a timeout"), 0);
}
