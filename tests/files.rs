//! Shared files (docs/protocol.md, "Files"): `UPLOAD` over CHAT/1, the
//! upload and the download over HTTP on the web door, the file message in
//! rooms and whispers (CHAT/1 and IRC), every limit, hostile names, files
//! going with their room, and `kill -9` in the middle of an upload.

mod common;

use common::chat1::Client;
use common::irc::Irc;
use common::{READ_TIMEOUT, ServerProcess, kill, start, web_addr};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// An HTTP answer: status, head lines, body.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Sends `head` (request line and headers, without the blank line) and
/// `body`, reads the whole answer (the server closes after each).
fn http(addr: SocketAddr, head: &str, body: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).expect("connect to the web door");
    s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
    s.write_all(format!("{head}\r\nHost: {addr}\r\n\r\n").as_bytes())
        .unwrap();
    // The server may answer (413) and close before the whole body is sent.
    let _ = s.write_all(body);
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    parse_answer(&all)
}

fn parse_answer(all: &[u8]) -> Answer {
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head in {:?}", String::from_utf8_lossy(all)));
    let head = String::from_utf8_lossy(&all[..end]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Answer {
        status,
        head,
        body: all[end + 4..].to_vec(),
    }
}

/// The path of a URL the server gave (`http://host:port/path`).
fn path_of(url: &str) -> String {
    let rest = url.split("://").nth(1).expect("a URL");
    format!("/{}", rest.split_once('/').expect("a path").1)
}

/// `UPLOAD` by `c`, answered by `OK UPLOAD <url>`: the upload path.
fn ask(c: &mut Client, target: &str, size: usize, name: &str) -> String {
    c.send(&format!("UPLOAD {target} {size} {name}"));
    let line = c.expect_prefix("OK UPLOAD ");
    path_of(line.strip_prefix("OK UPLOAD ").unwrap())
}

fn put(addr: SocketAddr, path: &str, kind: &str, bytes: &[u8]) -> Answer {
    http(
        addr,
        &format!(
            "PUT {path} HTTP/1.1\r\nContent-Type: {kind}\r\nContent-Length: {}",
            bytes.len()
        ),
        bytes,
    )
}

fn sha(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

fn bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// A server with a web door on a free port, keeping shared files in `files`.
fn storing_in(files: &Path) -> sala::Server {
    start(|c| {
        c.web_listen = Some("127.0.0.1:0".parse().unwrap());
        c.files_dir = Some(files.to_path_buf());
    })
}

fn pair(addr: SocketAddr, room: &str) -> (Client, Client) {
    let mut ana = Client::login(addr, "ana");
    let mut bob = Client::login(addr, "bob");
    ana.join(room);
    bob.join(room);
    ana.wait_line(&format!("JOIN {room} bob"));
    (ana, bob)
}

#[test]
fn a_file_sent_to_a_room_downloads_byte_for_byte_with_ranges() {
    let server = start(|c| c.web_listen = Some("127.0.0.1:0".parse().unwrap()));
    let web = web_addr(&server);
    let (mut ana, mut bob) = pair(server.local_addr(), "lab");
    let data = bytes(300_000);
    let path = ask(&mut ana, "lab", data.len(), "handout v2.bin");
    let answer = put(web, &path, "application/x-whatever", &data);
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let url = String::from_utf8(answer.body).unwrap().trim().to_string();
    let want = format!(
        "MSG lab ana [file] handout v2.bin ({} bytes, application/octet-stream) {url}",
        data.len()
    );
    ana.expect(&want);
    bob.expect(&want);
    // The upload address was for one upload only.
    assert_eq!(put(web, &path, "text/plain", b"again").status, 404);

    let got = http(web, &format!("GET {} HTTP/1.1", path_of(&url)), b"");
    assert_eq!(got.status, 200);
    assert_eq!(sha(&got.body), sha(&data), "the same bytes");
    assert_eq!(
        got.header("X-Content-Type-Options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(
        got.header("Content-Security-Policy").as_deref(),
        Some("sandbox")
    );
    let disposition = got.header("Content-Disposition").unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''handout%20v2.bin"),
        "{disposition}"
    );
    assert_eq!(got.header("Accept-Ranges").as_deref(), Some("bytes"));

    let part = http(
        web,
        &format!("GET {} HTTP/1.1\r\nRange: bytes=1000-1999", path_of(&url)),
        b"",
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &data[1000..2000]);
    assert_eq!(
        part.header("Content-Range").as_deref(),
        Some(format!("bytes 1000-1999/{}", data.len()).as_str())
    );
    let tail = http(
        web,
        &format!("GET {} HTTP/1.1\r\nRange: bytes=-10", path_of(&url)),
        b"",
    );
    assert_eq!(tail.body, &data[data.len() - 10..]);
    let beyond = http(
        web,
        &format!("GET {} HTTP/1.1\r\nRange: bytes=999999-", path_of(&url)),
        b"",
    );
    assert_eq!(beyond.status, 416);
    let head = http(web, &format!("HEAD {} HTTP/1.1", path_of(&url)), b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    // A guessed id finds nothing.
    let guess = http(
        web,
        "GET /files/0123456789abcdef0123456789abcdef/x HTTP/1.1",
        b"",
    );
    assert_eq!(guess.status, 404);
}

#[test]
fn images_and_audio_show_inline_and_a_chunked_upload_works() {
    let server = start(|c| c.web_listen = Some("127.0.0.1:0".parse().unwrap()));
    let web = web_addr(&server);
    let (mut ana, mut bob) = pair(server.local_addr(), "lab");
    for (name, kind) in [("cat.png", "image/png"), ("note.weba", "audio/webm")] {
        let data = bytes(5000);
        let path = ask(&mut ana, "lab", data.len(), name);
        // Chunked, in three chunks, with the type the browser gives.
        let mut body = Vec::new();
        for chunk in data.chunks(2000) {
            body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            body.extend_from_slice(chunk);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"0\r\n\r\n");
        let answer = http(
            web,
            &format!("POST {path} HTTP/1.1\r\nContent-Type: {kind}\r\nTransfer-Encoding: chunked"),
            &body,
        );
        assert_eq!(
            answer.status,
            201,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let line = bob.wait_prefix("MSG lab ana [file] ");
        assert!(line.contains(&format!("(5000 bytes, {kind})")), "{line}");
        ana.wait_prefix("MSG lab ana [file] ");
        let url = line.rsplit(' ').next().unwrap();
        let got = http(web, &format!("GET {} HTTP/1.1", path_of(url)), b"");
        assert_eq!(got.body, data);
        assert_eq!(got.header("Content-Type").as_deref(), Some(kind));
        assert!(
            got.header("Content-Disposition")
                .unwrap()
                .starts_with("inline;")
        );
    }
}

#[test]
fn a_whispered_file_reaches_its_recipient_and_irc_gets_a_privmsg_with_the_url() {
    let server = start(|c| {
        c.web_listen = Some("127.0.0.1:0".parse().unwrap());
        c.irc_listen = Some("127.0.0.1:0".parse().unwrap());
    });
    let web = web_addr(&server);
    let mut ana = Client::login(server.local_addr(), "ana");
    let mut bob = Client::login(server.local_addr(), "bob");
    let mut ivy = Irc::register(server.irc_addr().unwrap(), "ivy");
    ivy.send("JOIN #lab");
    ivy.wait_for("the join", |l| l.contains(" 366 "));
    ana.join("lab");
    let path = ask(&mut ana, "@bob", 3, "hi.txt");
    assert_eq!(put(web, &path, "text/plain", b"hi\n").status, 201);
    let line = bob.wait_prefix("WHISPER ana bob [file] hi.txt (3 bytes, text/plain) ");
    ana.expect(&line);
    let path = ask(&mut ana, "lab", 2, "x.txt");
    assert_eq!(put(web, &path, "text/plain", b"x\n").status, 201);
    let privmsg = ivy.wait_for("the file", |l| l.contains("PRIVMSG #lab"));
    assert!(
        privmsg.contains(":[file] x.txt (2 bytes, text/plain) http://"),
        "{privmsg}"
    );
}

#[test]
fn every_limit_is_refused_before_or_during_the_upload_and_frees_its_reservation() {
    let server = start(|c| {
        c.web_listen = Some("127.0.0.1:0".parse().unwrap());
        c.max_file_size = 1000;
        c.user_files_quota = 1500;
        c.files_quota = 2400;
    });
    let web = web_addr(&server);
    let (mut ana, mut bob) = pair(server.local_addr(), "lab");
    ana.refused("UPLOAD lab 1001 big.bin", "FILE_TOO_LARGE");
    ana.refused("UPLOAD elsewhere 10 a.bin", "NO_SUCH_ROOM");
    ana.refused("UPLOAD @nobody 10 a.bin", "NO_SUCH_USER");
    ana.refused("UPLOAD lab ten a.bin", "MISSING_ARGUMENT");
    ana.refused("UPLOAD lab 10", "MISSING_ARGUMENT");
    ana.refused("UPLOAD lab 10 a\u{1b}b", "BAD_TEXT");
    // A body longer than announced: by its Content-Length, before a byte is read...
    let path = ask(&mut ana, "lab", 800, "a.bin");
    let answer = put(web, &path, "text/plain", &bytes(801));
    assert_eq!(answer.status, 413);
    assert!(String::from_utf8_lossy(&answer.body).contains("FILE_TOO_LARGE"));
    // ...and chunked, as it streams past it.
    let path = ask(&mut ana, "lab", 800, "a.bin");
    let mut body = Vec::new();
    for _ in 0..3 {
        body.extend_from_slice(b"190\r\n");
        body.extend_from_slice(&[b'x'; 0x190]);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let answer = http(
        web,
        &format!("PUT {path} HTTP/1.1\r\nTransfer-Encoding: chunked"),
        &body,
    );
    assert_eq!(answer.status, 413);
    // Neither refused upload took anything: ana's quota is whole.
    let path = ask(&mut ana, "lab", 1000, "one.bin");
    assert_eq!(put(web, &path, "x/y", &bytes(1000)).status, 201);
    ana.wait_prefix("MSG lab ana [file] one.bin");
    bob.wait_prefix("MSG lab ana [file] one.bin");
    // Her quota is 1500: 600 more is too much, 500 is not.
    ana.refused("UPLOAD lab 600 two.bin", "QUOTA_FULL");
    let held = ask(&mut ana, "lab", 500, "two.bin");
    // The server's 2400 in all: 1000 kept, 500 promised; bob may not have 1000.
    bob.refused("UPLOAD lab 1000 b.bin", "QUOTA_FULL");
    let path = ask(&mut bob, "lab", 900, "b.bin");
    assert_eq!(put(web, &path, "x/y", &bytes(900)).status, 201);
    assert_eq!(put(web, &held, "x/y", &[b'z'; 500]).status, 201);
    bob.wait_prefix("MSG lab ana [file] two.bin");
    bob.refused("UPLOAD lab 1 c.bin", "QUOTA_FULL");
    // An address nobody was given.
    assert_eq!(put(web, "/upload/nothing", "x/y", b"x").status, 404);
    // A download that is no file, an upload with GET.
    assert_eq!(http(web, "GET /upload/x HTTP/1.1", b"").status, 405);
}

#[test]
fn without_a_web_door_there_are_no_files() {
    let server = start(|_| {});
    let mut ana = Client::login(server.local_addr(), "ana");
    ana.join("lab");
    ana.refused("UPLOAD lab 10 a.txt", "NO_FILES");
}

#[test]
fn hostile_names_are_text_and_cannot_leave_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    let server = storing_in(&files);
    let web = web_addr(&server);
    let (mut ana, mut bob) = pair(server.local_addr(), "lab");
    let name = "../../<img src=x onerror=alert(1)>\u{2}bold\\x.png";
    let path = ask(&mut ana, "lab", 4, name);
    assert_eq!(put(web, &path, "image/png", b"\x89PNG").status, 201);
    let line = bob.wait_prefix("MSG lab ana [file] ");
    assert!(
        line.starts_with("MSG lab ana [file] .._.._<img src=x onerror=alert(1)>_bold_x.png (4 bytes, image/png) http://"),
        "{line}"
    );
    let url = line.rsplit(' ').next().unwrap();
    let got = http(web, &format!("GET {} HTTP/1.1", path_of(url)), b"");
    assert_eq!(got.body, b"\x89PNG");
    let disposition = got.header("Content-Disposition").unwrap();
    assert!(
        !disposition.contains('<') && !disposition.contains('/'),
        "{disposition}"
    );
    // Only digests and the temporary folder are in the store; nothing above it.
    let mut names: Vec<String> = std::fs::read_dir(&files)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[1], "tmp");
    let blobs: Vec<_> = std::fs::read_dir(files.join(&names[0])).unwrap().collect();
    assert_eq!(blobs.len(), 1);
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1, "nothing written beside the store");
}

#[test]
fn a_deleted_room_takes_its_files_and_their_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    let server = storing_in(&files);
    let web = web_addr(&server);
    let (mut ana, mut bob) = pair(server.local_addr(), "lab");
    let path = ask(&mut ana, "lab", 5, "a.txt");
    assert_eq!(put(web, &path, "text/plain", b"hello").status, 201);
    let line = bob.wait_prefix("MSG lab ana [file] ");
    // The same bytes again, under another name: kept once.
    let path = ask(&mut bob, "lab", 5, "b.txt");
    assert_eq!(put(web, &path, "text/plain", b"hello").status, 201);
    ana.wait_prefix("MSG lab bob [file] b.txt");
    let blobs = |files: &Path| -> usize {
        std::fs::read_dir(files)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.ends_with("tmp"))
            .map(|p| std::fs::read_dir(p).unwrap().count())
            .sum()
    };
    assert_eq!(blobs(&files), 1, "one copy of the same bytes");
    let url = line.rsplit(' ').next().unwrap().to_string();
    assert_eq!(
        http(web, &format!("GET {} HTTP/1.1", path_of(&url)), b"").status,
        200
    );
    ana.send("DELETE lab");
    ana.wait_prefix("CLOSED lab");
    bob.wait_prefix("CLOSED lab");
    ana.assert_silent();
    assert_eq!(
        http(web, &format!("GET {} HTTP/1.1", path_of(&url)), b"").status,
        404
    );
    assert_eq!(blobs(&files), 0, "the bytes went too");
}

#[test]
fn kill_9_in_the_middle_of_an_upload_leaves_no_file_and_no_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path());
    let (chat, web) = (server.addr, server.web);
    let mut ana = Client::login(chat, "ana");
    ana.join("lab");
    let path = ask(&mut ana, "lab", 1_000_000, "half.bin");
    let mut s = TcpStream::connect(web).unwrap();
    s.write_all(
        format!("PUT {path} HTTP/1.1\r\nHost: {web}\r\nContent-Length: 1000000\r\n\r\n").as_bytes(),
    )
    .unwrap();
    s.write_all(&bytes(500_000)).unwrap();
    // The half is on disk, under the temporary folder only.
    let tmp = dir.path().join("files").join("tmp");
    common::eventually("the half upload on disk", || {
        std::fs::read_dir(&tmp).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.metadata().is_ok_and(|m| m.len() >= 400_000))
        })
    });
    server.kill_9();
    drop(s);
    let server = ServerProcess::start(dir.path());
    let chat = server.addr;
    // A login proves the server is up: its store was opened and swept before.
    let mut ana = Client::login(chat, "ana");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "the half file is gone"
    );
    let stored: usize = std::fs::read_dir(dir.path().join("files"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("tmp"))
        .map(|p| std::fs::read_dir(p).unwrap().count())
        .sum();
    assert_eq!(stored, 0, "no file under a digest");
    let joined = ana.join("lab");
    assert!(
        joined.iter().all(|l| !l.contains("[file]")),
        "no message points at nothing: {joined:?}"
    );
    drop(server);
}

/// The line client's `/send` reaches a web user (CHAT/1 over the WebSocket)
/// with the same bytes, and the file that user sends back is shown to the
/// line client with an address that fetches it.
#[test]
fn the_line_client_sends_a_file_to_a_web_user_and_gets_one_back() {
    let server = start(|c| c.web_listen = Some("127.0.0.1:0".parse().unwrap()));
    let web = web_addr(&server);
    let mut wes = common::ws::Ws::login(web, "wes");
    wes.join("lab");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes <v1>.txt");
    let data = bytes(200_000);
    std::fs::write(&file, &data).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_client"))
        .arg(server.local_addr().to_string())
        .args(["--nick", "cli", "--room", "lab"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the client binary");
    let mut stdin = child.stdin.take().unwrap();
    wes.wait_line("JOIN lab cli");
    writeln!(stdin, "/send {}", file.display()).unwrap();
    let line =
        wes.wait_prefix("MSG lab cli [file] notes <v1>.txt (200000 bytes, text/plain) http://");
    let url = line.rsplit(' ').next().unwrap();
    let got = http(web, &format!("GET {} HTTP/1.1", path_of(url)), b"");
    assert_eq!(sha(&got.body), sha(&data));
    // And back: the web user's file, shown by the line client with its address.
    wes.send("UPLOAD lab 5 back.txt");
    let path = path_of(
        wes.expect_prefix("OK UPLOAD ")
            .strip_prefix("OK UPLOAD ")
            .unwrap(),
    );
    assert_eq!(put(web, &path, "text/plain", b"back\n").status, 201);
    let back = wes.wait_prefix("MSG lab wes [file] back.txt");
    let url = back.rsplit(' ').next().unwrap().to_string();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let shown = loop {
        let line = rx
            .recv_timeout(READ_TIMEOUT)
            .unwrap_or_else(|_| panic!("the client did not show the file; it showed {seen:#?}"));
        if line.contains("back.txt") && line.contains(&url) {
            break line;
        }
        seen.push(line);
    };
    assert!(shown.contains("wes"), "{shown}");
    assert!(
        seen.iter()
            .any(|l| l.contains("sent notes <v1>.txt (200000 bytes)")),
        "{seen:#?}"
    );
    let fetched = http(web, &format!("GET {} HTTP/1.1", path_of(&url)), b"");
    assert_eq!(fetched.body, b"back\n");
    drop(stdin);
    let _ = common::wait_exit(&mut child, Duration::from_secs(20));
    kill(&mut child);
}

/// A file in an account room outlives a clean restart (its record is in the
/// database, its bytes in the store), and goes once `--file-retention` has passed.
#[test]
fn files_of_account_rooms_survive_a_restart_until_their_retention_ends() {
    let dir = tempfile::tempdir().unwrap();
    let start_in = |retention: Duration| {
        let data = dir.path().to_path_buf();
        start(move |c| {
            c.web_listen = Some("127.0.0.1:0".parse().unwrap());
            c.data_dir = Some(data);
            c.file_retention = retention;
        })
    };
    let server = start_in(Duration::from_secs(86_400));
    let web = web_addr(&server);
    let mut ana = Client::login(server.local_addr(), "ana");
    ana.send("REGISTER secret1");
    ana.expect("OK REGISTER ana");
    ana.join("den");
    let path = ask(&mut ana, "den", 6, "kept.txt");
    assert_eq!(put(web, &path, "text/plain", b"kept!\n").status, 201);
    let line = ana.wait_prefix("MSG den ana [file] kept.txt");
    let url = line.rsplit(' ').next().unwrap().to_string();
    drop(ana);
    server.shutdown();

    let server = start_in(Duration::from_secs(86_400));
    let web = web_addr(&server);
    let got = http(web, &format!("GET {} HTTP/1.1", path_of(&url)), b"");
    assert_eq!((got.status, got.body.as_slice()), (200, &b"kept!\n"[..]));
    server.shutdown();

    // Started again with a retention it is older than: gone, bytes and all.
    let server = start_in(Duration::from_millis(1));
    let web = web_addr(&server);
    assert_eq!(
        http(web, &format!("GET {} HTTP/1.1", path_of(&url)), b"").status,
        404
    );
    let stored: usize = std::fs::read_dir(dir.path().join("files"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("tmp"))
        .map(|p| std::fs::read_dir(p).unwrap().count())
        .sum();
    assert_eq!(stored, 0);
    server.shutdown();
}

/// Whoever may not speak in a room (here: muted) is refused at `UPLOAD`,
/// before a byte is sent.
#[test]
fn a_muted_member_is_refused_before_the_upload() {
    let server = start(|c| c.web_listen = Some("127.0.0.1:0".parse().unwrap()));
    let (mut ana, mut bob) = pair(server.local_addr(), "lab");
    ana.send("MUTE lab bob");
    bob.wait_prefix("MUTED lab ");
    bob.refused("UPLOAD lab 10 a.txt", "MUTED");
    ana.send("UNMUTE lab bob");
    bob.wait_prefix("UNMUTED lab ");
    ask(&mut bob, "lab", 10, "a.txt");
}

/// An upload address given back unused (`DELETE`) frees its quota at once,
/// and cannot be used after.
#[test]
fn an_address_given_back_frees_its_quota() {
    let server = start(|c| {
        c.web_listen = Some("127.0.0.1:0".parse().unwrap());
        c.user_files_quota = 100;
    });
    let web = web_addr(&server);
    let mut ana = Client::login(server.local_addr(), "ana");
    ana.join("lab");
    let path = ask(&mut ana, "lab", 100, "a.bin");
    ana.refused("UPLOAD lab 1 b.bin", "QUOTA_FULL");
    assert_eq!(
        http(web, &format!("DELETE {path} HTTP/1.1"), b"").status,
        200
    );
    assert_eq!(put(web, &path, "x/y", b"late").status, 404);
    ask(&mut ana, "lab", 100, "b.bin");
}
