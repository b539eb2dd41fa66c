//! `client`: a line client for Sala. One thread reads the socket and prints,
//! the main thread reads the keyboard (or a pipe) and sends.

use clap::Parser;
use parking_lot::Mutex;
use sala::client::{Action, Style, View, check_password, printable, upload_line};
use sala::net::tls::{self, Link, Trust};
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Sala line client: chat in rooms, whisper, broadcast. Type /help once connected.
///
/// Plain lines go to the current room; at the end of piped input the client
/// says QUIT, waits for the server's BYE and exits 0.
#[derive(Debug, Parser)]
#[command(version)]
struct Flags {
    /// Server address. [default: 127.0.0.1:44765; with --tls 127.0.0.1:44766]
    addr: Option<String>,
    /// Nickname to take after connecting.
    #[arg(long)]
    nick: Option<String>,
    /// Password of the nickname, if it is registered (one word, as the protocol wants).
    #[arg(long, requires = "nick")]
    password: Option<String>,
    /// Room to join after connecting.
    #[arg(long)]
    room: Option<String>,
    /// Connect with TLS (the server's --tls-listen port, 44766), verifying
    /// the server's certificate against the system's certificate authorities,
    /// or --ca, or --fingerprint. A certificate that does not verify ends
    /// the client with an error; it never falls back to plain text.
    #[arg(long)]
    tls: bool,
    /// With --tls: trust the certificate authorities (or the self-signed
    /// certificate) in this PEM file instead of the system's.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls",
        conflicts_with = "fingerprint"
    )]
    ca: Option<PathBuf>,
    /// With --tls: trust only the certificate with this SHA-256 fingerprint
    /// (what the server prints at start with --tls-self-signed).
    #[arg(long, value_name = "SHA256", requires = "tls")]
    fingerprint: Option<String>,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    // Checked before connecting, and not with clap, whose error would print the password.
    if let Some(Err(e)) = flags.password.as_deref().map(check_password) {
        eprintln!("client: --password: {e}");
        return ExitCode::from(2);
    }
    let addr = flags.addr.clone().unwrap_or_else(|| {
        let port = if flags.tls { 44766 } else { 44765 };
        format!("127.0.0.1:{port}")
    });
    let stream = match TcpStream::connect(&addr) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("client: cannot connect to {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Each line is one write already; Nagle's delay would only hold it back.
    let _ = stream.set_nodelay(true);
    let link = if flags.tls {
        match secure(&flags, &addr, stream) {
            Ok(link) => link,
            Err(e) => {
                eprintln!("client: TLS with {addr}: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        Link::Plain(Arc::new(stream))
    };
    let view = Arc::new(Mutex::new(View::default()));
    let quitting = Arc::new(AtomicBool::new(false));
    let files = Arc::new(Files {
        next: Mutex::new(None),
        trust: trust(&flags),
    });
    let reader = link.clone();
    let style = if std::io::stdout().is_terminal() {
        Style::Colour
    } else {
        Style::Plain
    };
    let printer = {
        let (view, quitting) = (Arc::clone(&view), Arc::clone(&quitting));
        let files = Arc::clone(&files);
        std::thread::spawn(move || print_server_lines(reader, (&view, &files), &quitting, style))
    };
    let out = link;
    // send(2) of one protocol line.
    let send = |line: &str| -> bool { (&out).write_all(format!("{line}\n").as_bytes()).is_ok() };
    // The flags are typed commands too, so that the answers are explained alike.
    let nick = flags.nick.as_ref().map(|nick| match &flags.password {
        Some(password) => format!("/nick {nick} {password}"),
        None => format!("/nick {nick}"),
    });
    let room = flags.room.as_ref().map(|room| format!("/join {room}"));
    for typed in [nick, room].into_iter().flatten() {
        let action = view.lock().translate(&typed);
        match action {
            Action::Send(line) => {
                send(&line);
            }
            Action::Show(text) => println!("{}", shown(&text)),
            Action::Quit(_) | Action::SendFile { .. } => {}
        }
    }
    let mut quit_line = "QUIT".to_string();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let action = view.lock().translate(&line);
        match action {
            Action::Send(l) => {
                if !send(&l) {
                    break;
                }
            }
            Action::Quit(l) => {
                quit_line = l;
                break;
            }
            Action::Show(text) if !text.is_empty() => println!("{}", shown(&text)),
            Action::Show(_) => {}
            Action::SendFile { target, path } => match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => {
                    *files.next.lock() = Some(PathBuf::from(&path));
                    if !send(&upload_line(&target, meta.len(), &path)) {
                        break;
                    }
                }
                Ok(_) => println!("{}", shown(&format!("/send: {path} is not a file"))),
                Err(e) => println!("{}", shown(&format!("/send: cannot read {path}: {e}"))),
            },
        }
    }
    // End of input or /quit: say QUIT and let the printer see BYE and the close.
    quitting.store(true, Ordering::Release);
    let _ = out.socket().set_read_timeout(Some(Duration::from_secs(10)));
    if !send(&quit_line) {
        let _ = out.socket().shutdown(Shutdown::Both);
    }
    match printer.join() {
        Ok(true) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

/// What the certificates are trusted by, as the flags say.
fn trust(flags: &Flags) -> Trust {
    match (&flags.ca, &flags.fingerprint) {
        (Some(ca), _) => Trust::Ca(ca.clone()),
        (None, Some(pin)) => Trust::Fingerprint(pin.clone()),
        (None, None) => Trust::System,
    }
}

/// The TLS link over `stream`, verified as the flags say.
fn secure(flags: &Flags, addr: &str, stream: TcpStream) -> Result<Link, String> {
    let trust = trust(flags);
    let config = tls::client_config(&trust).map_err(|e| e.to_string())?;
    // The host part of HOST:PORT is the name the certificate must carry.
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    tls::connect(&config, host, stream, Duration::from_secs(10)).map_err(|e| {
        let hint = match trust {
            Trust::System => " (not trusted by the system: try --ca FILE or --fingerprint SHA256)",
            Trust::Ca(_) => " (not trusted by --ca)",
            Trust::Fingerprint(_) => "",
        };
        format!("{e}{hint}")
    })
}

/// Prints every server line until the connection ends; true if it ended with
/// the `BYE` to our own `QUIT`. When the server goes away first, exits the process.
fn print_server_lines(
    stream: Link,
    (view, files): (&Mutex<View>, &Arc<Files>),
    quitting: &AtomicBool,
    style: Style,
) -> bool {
    let mut said_bye = false;
    let mut reader = BufReader::new(stream);
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        // recv(2), through the buffer: 0 bytes means the server closed.
        match reader.read_until(b'\n', &mut bytes) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        // A server that is not Sala may send anything: not UTF-8 is shown, not fatal.
        let text = String::from_utf8_lossy(&bytes);
        let line = text.strip_suffix('\n').unwrap_or(&text);
        let line = line.strip_suffix('\r').unwrap_or(line);
        said_bye |= line.starts_with("BYE");
        if let Some(url) = line.strip_prefix("OK UPLOAD ") {
            // The address of the file /send asked for: upload it meanwhile.
            if let Some(path) = files.next.lock().take() {
                let (files, url) = (Arc::clone(files), url.to_string());
                std::thread::spawn(move || files.upload(&url, &path));
            }
            continue;
        }
        let shown = view.lock().show(line, style, &clock);
        if let Some(text) = shown {
            println!("{text}");
        }
    }
    if quitting.load(Ordering::Acquire) {
        return said_bye;
    }
    eprintln!("client: the server closed the connection");
    std::process::exit(1);
}

/// A text of the client's own, line by line, with any control character in
/// it (one the user typed, echoed back) made visible.
fn shown(text: &str) -> String {
    text.split('\n')
        .map(|line| printable(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A unix-ms stamp (or now) as local HH:MM:SS.
fn clock(at: Option<u64>) -> String {
    let ms = at.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
    });
    let secs = libc::time_t::try_from(ms / 1000).unwrap_or(0);
    // SAFETY: localtime_r writes only into the tm we own; a zeroed tm is valid.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return "--:--:--".into();
        }
        tm
    };
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}

/// The file `/send` is waiting to upload, and how to trust an HTTPS server.
struct Files {
    next: Mutex<Option<PathBuf>>,
    trust: Trust,
}

impl Files {
    /// Uploads `path` to `url` (`http://` or `https://host:port/upload/...`),
    /// showing the progress on stderr and the server's answer.
    fn upload(&self, url: &str, path: &Path) {
        match self.put(url, path) {
            Ok(answer) => println!("{}", shown(&answer)),
            Err(e) => println!("{}", shown(&format!("/send {}: {e}", path.display()))),
        }
    }

    fn put(&self, url: &str, path: &Path) -> Result<String, String> {
        let (secure, rest) = match url.split_once("://") {
            Some(("https", rest)) => (true, rest),
            Some(("http", rest)) => (false, rest),
            _ => return Err(format!("not an address to upload to: {url}")),
        };
        let (host, target) = rest.split_once('/').unwrap_or((rest, ""));
        let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let size = file.metadata().map_err(|e| e.to_string())?.len();
        let stream =
            TcpStream::connect(host).map_err(|e| format!("cannot connect to {host}: {e}"))?;
        let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
        let link = if secure {
            let config = tls::client_config(&self.trust).map_err(|e| e.to_string())?;
            let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
            let name = name.trim_start_matches('[').trim_end_matches(']');
            tls::connect(&config, name, stream, Duration::from_secs(10))
                .map_err(|e| e.to_string())?
        } else {
            Link::Plain(Arc::new(stream))
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let kind = sala::proto::files::media_type(None, &name);
        let head = format!(
            "PUT /{target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {kind}\r\n\
             Content-Length: {size}\r\nConnection: close\r\n\r\n"
        );
        let mut out = &link;
        // send(2): the head, then the file a buffer at a time.
        out.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 64 * 1024];
        let (mut sent, mut shown_pct) = (0u64, None);
        loop {
            let n = file.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            if out.write_all(&buf[..n]).is_err() {
                // The server answered early (a refusal) and closed: read why.
                break;
            }
            sent += n as u64;
            let pct = sent * 100 / size.max(1);
            if shown_pct != Some(pct / 10) {
                shown_pct = Some(pct / 10);
                eprint!("\rsending {name}: {pct}% ({sent} of {size} bytes)");
            }
        }
        eprintln!();
        let mut answer = Vec::new();
        let mut reader = &link;
        let _ = reader.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head.lines().next().unwrap_or_default();
        if status.split(' ').nth(1) == Some("201") {
            Ok(format!("sent {name} ({size} bytes): {}", body.trim()))
        } else {
            Err(format!("not sent: {}", body.trim()))
        }
    }
}
