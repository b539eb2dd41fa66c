//! As much HTTP/1.1 as the web client needs: read one request head (bounded
//! in size and time), parse it with `httparse`, and build the answers: a page,
//! an error, or the WebSocket handshake's `101 Switching Protocols`. No I/O
//! except [`read_head`] and [`Deadline`], so the rest is unit-tested without
//! sockets.

use crate::net::tls::Link;
use std::io::{self, ErrorKind, Read};
use std::time::{Duration, Instant};

/// Largest request head read; a longer one is answered `431`.
pub const MAX_HEAD: usize = 8 * 1024;
/// Most headers in a request; more is answered `431` too.
const MAX_HEADERS: usize = 32;
/// How long a client may take to send its whole request head (and to read the answer).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// A socket whose reads must all be done by `until`, however the bytes
/// trickle in: each `recv(2)` waits at most for the time left.
#[derive(Debug)]
pub struct Deadline<'a> {
    socket: &'a Link,
    until: Instant,
}

impl<'a> Deadline<'a> {
    /// Reads of `socket` that end at `until`.
    pub fn new(socket: &'a Link, until: Instant) -> Deadline<'a> {
        Deadline { socket, until }
    }
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        // SO_RCVTIMEO: the recv(2) below returns EAGAIN after what is left.
        self.socket.socket().set_read_timeout(Some(left))?;
        let mut socket = self.socket;
        socket.read(buf)
    }
}

/// A parsed request head: only what the routes and the handshake look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path without its query string.
    pub path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    /// The value of header `name` (case-insensitive); the first if repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True when header `name` holds `token` in its comma-separated list
    /// (case-insensitive), as `Connection: keep-alive, Upgrade` does.
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

/// What reading a request head gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Head {
    /// A whole head, and the bytes that came after it (the start of WebSocket frames).
    Request(Request, Vec<u8>),
    /// More than [`MAX_HEAD`] bytes, or too many headers.
    TooLarge,
    /// Not HTTP.
    Bad,
    /// The peer closed before sending anything.
    Closed,
}

/// Reads until a whole request head has arrived (or it cannot be one).
///
/// # Errors
/// The socket failed, or the read timeout passed (`WouldBlock`/`TimedOut`).
pub fn read_head(stream: &mut impl Read) -> io::Result<Head> {
    let mut buf = vec![0u8; MAX_HEAD];
    let mut filled = 0;
    loop {
        // recv(2): 0 bytes means the peer closed its side.
        let n = match stream.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(Head::Closed),
            Ok(0) => return Ok(Head::Bad),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        filled += n;
        match parse(&buf[..filled]) {
            Parsed::Done(request, len) => {
                return Ok(Head::Request(request, buf[len..filled].to_vec()));
            }
            Parsed::Partial if filled == MAX_HEAD => return Ok(Head::TooLarge),
            Parsed::Partial => {}
            Parsed::Fail(head) => return Ok(head),
        }
    }
}

enum Parsed {
    Done(Request, usize),
    Partial,
    Fail(Head),
}

fn parse(bytes: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => {
            let method = req.method.unwrap_or_default().to_string();
            let target = req.path.unwrap_or_default();
            let path = target
                .split(['?', '#'])
                .next()
                .unwrap_or_default()
                .to_string();
            let headers = req
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_string(),
                        String::from_utf8_lossy(h.value).trim().to_string(),
                    )
                })
                .collect();
            Parsed::Done(
                Request {
                    method,
                    path,
                    headers,
                },
                len,
            )
        }
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => Parsed::Fail(Head::TooLarge),
        Err(_) => Parsed::Fail(Head::Bad),
    }
}

/// A file of the web client, embedded in the binary.
#[derive(Debug, PartialEq, Eq)]
pub struct Asset {
    pub body: &'static str,
    pub content_type: &'static str,
}

const INDEX: Asset = Asset {
    body: include_str!("index.html"),
    content_type: "text/html; charset=utf-8",
};
const SCRIPT: Asset = Asset {
    body: include_str!("app.js"),
    content_type: "text/javascript; charset=utf-8",
};
const SHARE: Asset = Asset {
    body: include_str!("share.js"),
    content_type: "text/javascript; charset=utf-8",
};
const MODERATION: Asset = Asset {
    body: include_str!("moderation.js"),
    content_type: "text/javascript; charset=utf-8",
};
const STYLE: Asset = Asset {
    body: include_str!("app.css"),
    content_type: "text/css; charset=utf-8",
};
const ICON: Asset = Asset {
    body: include_str!("icon.svg"),
    content_type: "image/svg+xml; charset=utf-8",
};

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    Page(&'static Asset),
    WebSocket,
    /// `PUT` or `POST /upload/<token>`: a file's bytes (`src/doors/web/files.rs`);
    /// `DELETE`: the upload is given up.
    Upload(String),
    /// `GET` or `HEAD /files/<id>[/<name>]`: a shared file.
    Download(String),
    NotFound,
    /// Anything but GET.
    NotAllowed,
}

/// The route of `request`.
pub fn route(request: &Request) -> Route {
    if let Some(route) = file_route(request) {
        return route;
    }
    if request.method != "GET" {
        return Route::NotAllowed;
    }
    match request.path.as_str() {
        "/" | "/index.html" => Route::Page(&INDEX),
        "/app.js" => Route::Page(&SCRIPT),
        "/share.js" => Route::Page(&SHARE),
        "/moderation.js" => Route::Page(&MODERATION),
        "/app.css" => Route::Page(&STYLE),
        "/icon.svg" | "/favicon.ico" => Route::Page(&ICON),
        "/ws" => Route::WebSocket,
        _ => Route::NotFound,
    }
}

/// The routes of shared files, if `request` is for one.
fn file_route(request: &Request) -> Option<Route> {
    let path = request.path.as_str();
    let method = request.method.as_str();
    if let Some(token) = path.strip_prefix("/upload/") {
        return Some(match method {
            "PUT" | "POST" | "DELETE" => Route::Upload(token.to_string()),
            _ => Route::NotAllowed,
        });
    }
    let id = path.strip_prefix("/files/")?.split('/').next()?;
    Some(match method {
        "GET" | "HEAD" => Route::Download(id.to_string()),
        _ => Route::NotAllowed,
    })
}

/// A refused request: status, reason phrase, a line of explanation, extra headers.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub reason: &'static str,
    pub text: &'static str,
    pub headers: &'static [(&'static str, &'static str)],
}

impl Rejection {
    const fn new(status: u16, reason: &'static str, text: &'static str) -> Rejection {
        Rejection {
            status,
            reason,
            text,
            headers: &[],
        }
    }
}

pub const NOT_FOUND: Rejection = Rejection::new(404, "Not Found", "no such page");
pub const NOT_ALLOWED: Rejection = Rejection {
    headers: &[("Allow", "GET")],
    ..Rejection::new(405, "Method Not Allowed", "only GET is served here")
};
pub const TOO_LARGE: Rejection = Rejection::new(
    431,
    "Request Header Fields Too Large",
    "the request head is limited to 8 KiB and 32 headers",
);
pub const BAD_REQUEST: Rejection = Rejection::new(400, "Bad Request", "not an HTTP/1.1 request");
pub const FULL: Rejection = Rejection::new(503, "Service Unavailable", "the server is full");
pub const TOO_MANY: Rejection = Rejection::new(
    429,
    "Too Many Requests",
    "too many connections from your address",
);
pub const TIMEOUT: Rejection = Rejection::new(
    408,
    "Request Timeout",
    "the request head did not arrive in time",
);

/// Checks a WebSocket handshake (RFC 6455, section 4.2.1) and the origin;
/// returns the `Sec-WebSocket-Accept` value to answer with.
///
/// # Errors
/// What to answer instead: 426 without `Upgrade: websocket` or with a version
/// other than 13, 400 without a proper key, 403 when the page that opens the
/// socket was not served by this host (a missing `Origin` included: browsers
/// always send it, so only a non-browser omits it).
pub fn accept_key(request: &Request) -> Result<String, Rejection> {
    if !request.has_token("Upgrade", "websocket") || !request.has_token("Connection", "upgrade") {
        return Err(Rejection {
            headers: &[("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")],
            ..Rejection::new(426, "Upgrade Required", "this is a WebSocket endpoint")
        });
    }
    if request.header("Sec-WebSocket-Version") != Some("13") {
        return Err(Rejection {
            headers: &[("Sec-WebSocket-Version", "13")],
            ..Rejection::new(426, "Upgrade Required", "WebSocket version 13 only")
        });
    }
    // The key is 16 random bytes in base64: 24 characters ending in "==".
    let key = request.header("Sec-WebSocket-Key").unwrap_or_default();
    if key.len() != 24 || !key.ends_with("==") {
        return Err(Rejection::new(
            400,
            "Bad Request",
            "missing or malformed Sec-WebSocket-Key",
        ));
    }
    if !same_origin(request.header("Origin"), request.header("Host")) {
        return Err(Rejection::new(
            403,
            "Forbidden",
            "WebSocket connections are accepted only from this server's own page",
        ));
    }
    Ok(tungstenite::handshake::derive_accept_key(key.as_bytes()))
}

/// True when `origin` (`http://host:port`) names the same host and port as `host`.
fn same_origin(origin: Option<&str>, host: Option<&str>) -> bool {
    let (Some(origin), Some(host)) = (origin, host) else {
        return false;
    };
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    rest.is_some_and(|o| !o.is_empty() && o.eq_ignore_ascii_case(host))
}

/// The host as the page was asked for it, if it is a plain `host[:port]`
/// (so it can be named in the Content-Security-Policy).
fn plain_host(request: &Request) -> Option<&str> {
    request.header("Host").filter(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    })
}

/// The headers every answer carries: no framing by others, no sniffing, no
/// caching of a page that changes with the binary, no referrer.
const COMMON: &str = "X-Content-Type-Options: nosniff\r\n\
Cache-Control: no-cache\r\n\
Referrer-Policy: no-referrer\r\n\
X-Frame-Options: DENY\r\n\
Connection: close\r\n";

/// The Content-Security-Policy of the pages: scripts and styles from this
/// server only (no inline ones), WebSockets to this host only, nothing else.
pub fn content_security_policy(request: &Request) -> String {
    let mut connect = String::from("'self'");
    if let Some(host) = plain_host(request) {
        connect.push_str(&format!(" ws://{host} wss://{host}"));
    }
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; \
         connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// `200 OK` with `asset`.
pub fn page(asset: &Asset, request: &Request) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
         Content-Security-Policy: {}\r\n{COMMON}\r\n",
        asset.content_type,
        asset.body.len(),
        content_security_policy(request),
    )
    .into_bytes();
    out.extend_from_slice(asset.body.as_bytes());
    out
}

/// The answer for a refused request, with a one-line plain-text body.
pub fn rejection(rejection: &Rejection) -> Vec<u8> {
    let body = format!(
        "{} {}: {}\n",
        rejection.status, rejection.reason, rejection.text
    );
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         Content-Security-Policy: default-src 'none'\r\n{COMMON}",
        rejection.status,
        rejection.reason,
        body.len(),
    );
    for (name, value) in rejection.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}

/// `101 Switching Protocols`: from the next byte on, the connection is a WebSocket.
pub fn switching(accept: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str) -> Request {
        match read_head(&mut text.as_bytes()).expect("reading a slice cannot fail") {
            Head::Request(r, rest) => {
                assert!(rest.is_empty());
                r
            }
            other => panic!("{other:?}"),
        }
    }

    fn handshake(origin: Option<&str>) -> Request {
        let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
        request(&format!(
            "GET /ws HTTP/1.1\r\nHost: chat.example:8080\r\nUpgrade: websocket\r\n\
             Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{origin}\r\n"
        ))
    }

    #[test]
    fn routes() {
        let get = |path: &str| route(&request(&format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\n")));
        assert_eq!(get("/"), Route::Page(&INDEX));
        assert_eq!(get("/?x=1"), Route::Page(&INDEX));
        assert_eq!(get("/app.js"), Route::Page(&SCRIPT));
        assert_eq!(get("/app.css"), Route::Page(&STYLE));
        assert_eq!(get("/ws"), Route::WebSocket);
        assert_eq!(get("/moderation.js"), Route::Page(&MODERATION));
        assert_eq!(get("/moderation.js/x"), Route::NotFound);
        assert_eq!(get("/etc/passwd"), Route::NotFound);
        assert_eq!(get("/../app.js"), Route::NotFound);
        let post = request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(route(&post), Route::NotAllowed);
        assert_eq!(get("/files/ab12/x.png"), Route::Download("ab12".into()));
        let put = request("PUT /upload/t0k HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(route(&put), Route::Upload("t0k".into()));
        assert_eq!(get("/upload/t0k"), Route::NotAllowed);
    }

    #[test]
    fn heads_that_are_not_requests() {
        assert_eq!(read_head(&mut &b""[..]).unwrap(), Head::Closed);
        assert_eq!(
            read_head(&mut &b"GET / HTTP/1.1\r\n"[..]).unwrap(),
            Head::Bad
        );
        assert_eq!(
            read_head(&mut &b"\x16\x03\x01 hello\r\n\r\n"[..]).unwrap(),
            Head::Bad
        );
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(read_head(&mut long.as_bytes()).unwrap(), Head::TooLarge);
        let many: String = (0..40).map(|i| format!("X-{i}: y\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(read_head(&mut many.as_bytes()).unwrap(), Head::TooLarge);
    }

    #[test]
    fn bytes_after_the_head_are_kept() {
        let text = b"GET /ws HTTP/1.1\r\nHost: h\r\n\r\n\x81\x85";
        match read_head(&mut &text[..]).unwrap() {
            Head::Request(_, rest) => assert_eq!(rest, b"\x81\x85"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_rfc_example_key() {
        let accept = accept_key(&handshake(Some("http://chat.example:8080")));
        assert_eq!(accept.unwrap(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let accept = accept_key(&handshake(Some("https://CHAT.example:8080")));
        assert!(accept.is_ok());
    }

    #[test]
    fn foreign_or_missing_origins_are_forbidden() {
        for origin in [
            None,
            Some("http://evil.example"),
            Some("http://chat.example:8081"),
            Some("http://chat.example:8080.evil.example"),
            Some("null"),
            Some("file://"),
        ] {
            let refused = accept_key(&handshake(origin)).unwrap_err();
            assert_eq!(refused.status, 403, "{origin:?}");
        }
    }

    #[test]
    fn incomplete_handshakes_are_refused() {
        let base = "GET /ws HTTP/1.1\r\nHost: h\r\nOrigin: http://h\r\n";
        let no_upgrade = request(&format!("{base}\r\n"));
        assert_eq!(accept_key(&no_upgrade).unwrap_err().status, 426);
        let old = request(&format!(
            "{base}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        ));
        assert_eq!(accept_key(&old).unwrap_err().status, 426);
        let no_key = request(&format!(
            "{base}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ));
        assert_eq!(accept_key(&no_key).unwrap_err().status, 400);
    }

    #[test]
    fn pages_carry_the_security_headers() {
        let req = request("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
        let text = String::from_utf8(page(&INDEX, &req)).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("Content-Type: text/html; charset=utf-8\r\n"));
        assert!(text.contains("X-Content-Type-Options: nosniff\r\n"));
        assert!(text.contains(
            "connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080; base-uri 'none'"
        ));
        assert!(text.contains("script-src 'self';"));
        assert!(text.ends_with(INDEX.body));
    }

    #[test]
    fn a_strange_host_is_not_copied_into_the_policy() {
        let req = request("GET / HTTP/1.1\r\nHost: x; script-src *\r\n\r\n");
        let csp = content_security_policy(&req);
        assert!(csp.contains("connect-src 'self';"), "{csp}");
        assert!(!csp.contains('*'));
    }

    #[test]
    fn rejections_say_why() {
        let text = String::from_utf8(rejection(&NOT_ALLOWED)).unwrap();
        assert!(text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(text.contains("Allow: GET\r\n"));
        assert!(text.ends_with("405 Method Not Allowed: only GET is served here\n"));
    }

    mod prop {
        use super::super::*;
        use proptest::prelude::*;
        use std::io;

        /// A reader that hands out its bytes in the given pieces, as recv(2) might.
        struct Pieces(Vec<Vec<u8>>);

        impl io::Read for Pieces {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some(piece) = self.0.first_mut() else {
                    return Ok(0);
                };
                let n = piece.len().min(buf.len());
                buf[..n].copy_from_slice(&piece[..n]);
                piece.drain(..n);
                if piece.is_empty() {
                    self.0.remove(0);
                }
                Ok(n)
            }
        }

        /// Every line of an answer's head ends in CRLF and holds no other CR or LF.
        fn head_lines_are_whole(answer: &[u8]) -> bool {
            let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
                return false;
            };
            answer[..end]
                .split(|&b| b == b'\n')
                .all(|line| !line.is_empty() && !line[..line.len() - 1].contains(&b'\r'))
                && answer[..end + 2]
                    .split(|&b| b == b'\n')
                    .all(|l| l.is_empty() || l.ends_with(b"\r"))
        }

        fn any_head() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..12_000),
                // Nearer to real requests: a request line, headers of any bytes.
                (
                    "(GET|POST|get) (/|/ws|/app\\.js|/x) HTTP/1\\.[01]",
                    proptest::collection::vec(
                        (
                            "[A-Za-z-]{1,20}",
                            proptest::collection::vec(any::<u8>(), 0..80)
                        ),
                        0..12
                    ),
                )
                    .prop_map(|(line, headers)| {
                        let mut out = line.into_bytes();
                        out.extend_from_slice(b"\r\n");
                        for (name, value) in headers {
                            out.extend_from_slice(name.as_bytes());
                            out.extend_from_slice(b": ");
                            out.extend_from_slice(&value);
                            out.extend_from_slice(b"\r\n");
                        }
                        out.extend_from_slice(b"\r\n");
                        out
                    }),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn no_head_panics_and_no_answer_breaks_a_line(
                head in any_head(),
                cuts in proptest::collection::vec(1usize..600, 0..20),
            ) {
                let mut pieces = Vec::new();
                let mut rest = head.as_slice();
                for cut in cuts {
                    let n = cut.min(rest.len());
                    pieces.push(rest[..n].to_vec());
                    rest = &rest[n..];
                }
                pieces.push(rest.to_vec());
                let Ok(Head::Request(request, _)) = read_head(&mut Pieces(pieces)) else {
                    return Ok(());
                };
                let answer = match route(&request) {
                    Route::Page(asset) => page(asset, &request),
                    Route::WebSocket => match accept_key(&request) {
                        Ok(key) => switching(&key),
                        Err(refused) => rejection(&refused),
                    },
                    // Files are answered by src/doors/web/files.rs, with I/O.
                    Route::NotFound | Route::Upload(_) | Route::Download(_) => rejection(&NOT_FOUND),
                    Route::NotAllowed => rejection(&NOT_ALLOWED),
                };
                prop_assert!(head_lines_are_whole(&answer), "{}", String::from_utf8_lossy(&answer));
                let policy = content_security_policy(&request);
                prop_assert!(!policy.contains(['\r', '\n']));
            }
        }
    }
}
