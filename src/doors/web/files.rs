//! Shared files over HTTP: the upload (`PUT` or `POST /upload/<token>`,
//! with the one-time token an `UPLOAD` gave; `DELETE` gives it up) streamed to disk a buffer at a
//! time, never whole in memory; and the download (`GET` or `HEAD
//! /files/<id>/<name>`), with `Range` so that audio and video can seek.
//!
//! An upload is checked against its ticket before a byte is read (its
//! `Content-Length`) and while it streams (a chunked body), stored in the
//! content-addressed [`Blobs`](crate::store::files::Blobs), then handed to
//! the dispatcher, which posts the file and answers once its record is
//! committed. A download is served with `nosniff` and
//! `Content-Security-Policy: sandbox`, inline only for images, audio and video.

use super::http::Request;
use crate::dispatch::Input;
use crate::dispatch::files::{Outcome, Shelf, Ticket};
use crate::net::tls::Link;
use crate::proto::files as wire;
use crossbeam_channel::Sender;
use log::{info, warn};
use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::time::Duration;

/// How long an upload or a download may stall (no byte either way) before it is cut.
const STALL: Duration = Duration::from_secs(30);
/// How long the dispatcher may take to post a stored file.
const POSTING: Duration = Duration::from_secs(30);
/// Bytes read or written at a time.
const BUFFER: usize = 64 * 1024;

/// An answer: status, reason phrase, extra headers, body.
struct Answer {
    status: u16,
    reason: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Answer {
    fn text(status: u16, reason: &'static str, text: impl Into<String>) -> Answer {
        Answer {
            status,
            reason,
            headers: Vec::new(),
            body: format!("{status} {reason}: {}\n", text.into()),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
             X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\
             Content-Security-Policy: default-src 'none'\r\nConnection: close\r\n",
            self.status,
            self.reason,
            self.body.len()
        );
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&self.body);
        out.into_bytes()
    }
}

/// Tells the dispatcher an upload failed, unless it was handed over.
struct Pending<'a> {
    ticket: Option<Ticket>,
    inputs: &'a Sender<Input>,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            let _ = self
                .inputs
                .send(Input::Upload(Box::new(Outcome::Failed { ticket })));
        }
    }
}

/// Serves an upload; returns its status, for the log.
pub(super) fn upload(
    link: &Link,
    request: &Request,
    rest: Vec<u8>,
    token: &str,
    (shelf, inputs): (&Shelf, &Sender<Input>),
) -> u16 {
    let answer = receive(link, request, rest, token, (shelf, inputs));
    // send(2): the answer; then the connection closes.
    let _ = link.socket().set_write_timeout(Some(STALL));
    let _ = (&*link).write_all(&answer.bytes());
    answer.status
}

fn receive(
    link: &Link,
    request: &Request,
    rest: Vec<u8>,
    token: &str,
    (shelf, inputs): (&Shelf, &Sender<Input>),
) -> Answer {
    let Some(ticket) = shelf.take_ticket(token) else {
        return Answer::text(
            404,
            "Not Found",
            "no such upload: its address is unknown, used or expired (ask with UPLOAD)",
        );
    };
    let mut pending = Pending {
        ticket: Some(ticket.clone()),
        inputs,
    };
    if request.method == "DELETE" {
        // Given up before a byte was sent: the reservation ends with `pending`.
        return Answer::text(200, "OK", "the upload was given up");
    }
    let chunked = request
        .header("Transfer-Encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    let length = match request.header("Content-Length").map(str::parse::<u64>) {
        _ if chunked => None,
        Some(Ok(n)) => Some(n),
        None => {
            return Answer::text(
                411,
                "Length Required",
                "send a Content-Length or a chunked body",
            );
        }
        Some(Err(_)) => return Answer::text(400, "Bad Request", "a bad Content-Length"),
    };
    if let Some(n) = length
        && n > ticket.size
    {
        return too_large(n, ticket.size);
    }
    if request
        .header("Expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        // send(2): go on; the body follows.
        if (&*link)
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .is_err()
        {
            return Answer::text(400, "Bad Request", "gone");
        }
    }
    let _ = link.socket().set_read_timeout(Some(STALL));
    let mut incoming = match shelf.blobs.incoming() {
        Ok(i) => i,
        Err(e) => {
            warn!("cannot create an upload's file: {e}");
            return Answer::text(
                507,
                "Insufficient Storage",
                "the server cannot store files now",
            );
        }
    };
    let mut body = Body {
        reader: link,
        pending: rest,
        left: length.unwrap_or(0),
        chunked,
        done: length == Some(0),
    };
    let mut buf = vec![0u8; BUFFER];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::InvalidData => {
                return Answer::text(400, "Bad Request", e.to_string());
            }
            Err(e) => {
                info!("an upload of {} was cut: {e}", ticket.name);
                return Answer::text(400, "Bad Request", "the body was cut short");
            }
        };
        if incoming.len() + n as u64 > ticket.size {
            return too_large(incoming.len() + n as u64, ticket.size);
        }
        if let Err(e) = incoming.write(&buf[..n]) {
            warn!("cannot write an upload: {e}");
            return Answer::text(
                507,
                "Insufficient Storage",
                "the server cannot store files now",
            );
        }
    }
    let (sha, size) = match incoming.keep(&shelf.blobs) {
        Ok(kept) => kept,
        Err(e) => {
            warn!("cannot keep an upload: {e}");
            return Answer::text(
                507,
                "Insufficient Storage",
                "the server cannot store files now",
            );
        }
    };
    let kind = wire::media_type(request.header("Content-Type"), &ticket.name).to_string();
    let (answer, answered) = crossbeam_channel::bounded(1);
    let stored = Outcome::Stored {
        ticket: pending.ticket.take().unwrap_or(ticket),
        sha,
        size,
        kind,
        answer,
    };
    if inputs.send(Input::Upload(Box::new(stored))).is_err() {
        return Answer::text(503, "Service Unavailable", "the server is stopping");
    }
    match answered.recv_timeout(POSTING) {
        Ok(Ok(url)) => Answer {
            headers: vec![("Location", url.clone())],
            body: format!("{url}\n"),
            ..Answer::text(201, "Created", "")
        },
        Ok(Err(refusal)) => Answer::text(409, "Conflict", refusal.to_string()),
        Err(_) => Answer::text(
            503,
            "Service Unavailable",
            "the server did not post the file",
        ),
    }
}

fn too_large(got: u64, allowed: u64) -> Answer {
    Answer::text(
        413,
        "Payload Too Large",
        format!("FILE_TOO_LARGE the body has {got} bytes or more; UPLOAD asked for {allowed}"),
    )
}

/// A request body: the bytes after the head, then the socket; by
/// `Content-Length`, or chunked (RFC 9112, section 7.1).
struct Body<R> {
    reader: R,
    /// Bytes read but not yet used.
    pending: Vec<u8>,
    /// Bytes left of the body (`Content-Length`) or of the current chunk.
    left: u64,
    chunked: bool,
    done: bool,
}

impl<R: Read> Body<R> {
    /// More bytes into `pending`; false when the peer closed.
    fn fill(&mut self) -> io::Result<bool> {
        let mut buf = [0u8; 8192];
        loop {
            // recv(2): 0 bytes means the peer closed its side.
            match self.reader.read(&mut buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.pending.extend_from_slice(&buf[..n]);
                    return Ok(true);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// One CRLF-ended line of the chunked framing.
    fn line(&mut self) -> io::Result<String> {
        loop {
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.pending[..end]).into_owned();
                self.pending.drain(..end + 2);
                return Ok(line);
            }
            if self.pending.len() > 4096 {
                return Err(bad("a chunk line is too long"));
            }
            if !self.fill()? {
                return Err(ErrorKind::UnexpectedEof.into());
            }
        }
    }

    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        if self.chunked && self.left == 0 {
            let line = self.line()?;
            let size = line.split(';').next().unwrap_or_default().trim();
            self.left = u64::from_str_radix(size, 16).map_err(|_| bad("a bad chunk size"))?;
            if self.left == 0 {
                // The last chunk: trailers, if any, up to an empty line.
                while !self.line()?.is_empty() {}
                self.done = true;
                return Ok(0);
            }
        }
        let want = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(out.len());
        let n = if self.pending.is_empty() {
            // recv(2) straight into the caller's buffer: a whole 64 KiB when
            // the kernel has it, no copy; 0 bytes means the peer closed.
            loop {
                match self.reader.read(&mut out[..want]) {
                    Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                    Ok(n) => break n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        } else {
            let n = want.min(self.pending.len());
            out[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            n
        };
        self.left -= n as u64;
        if self.left == 0 {
            if self.chunked {
                // Each chunk's data ends with CRLF.
                if !self.line()?.is_empty() {
                    return Err(bad("a chunk longer than its size"));
                }
            } else {
                self.done = true;
            }
        }
        Ok(n)
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, what.to_string())
}

/// Serves a download; returns its status, for the log.
pub(super) fn download(link: &Link, request: &Request, id: &str, shelf: &Shelf) -> u16 {
    let _ = link.socket().set_write_timeout(Some(STALL));
    let found = shelf
        .file(id)
        .and_then(|f| shelf.blobs.open_file(&f.sha).ok().map(|file| (f, file)));
    let Some((record, mut file)) = found else {
        let answer = Answer::text(404, "Not Found", "no such file (it may have been removed)");
        let _ = (&*link).write_all(&answer.bytes());
        return 404;
    };
    let size = record.size;
    let (status, start, len) = match request.header("Range").map(|r| range(r, size)) {
        None => (200, 0, size),
        Some(Some((start, end))) => (206, start, end - start + 1),
        Some(None) => {
            let answer = Answer {
                headers: vec![("Content-Range", format!("bytes */{size}"))],
                ..Answer::text(416, "Range Not Satisfiable", "no such range")
            };
            let _ = (&*link).write_all(&answer.bytes());
            return 416;
        }
    };
    let disposition = if wire::shown_inline(&record.kind) {
        "inline"
    } else {
        "attachment"
    };
    let ascii: String = record
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " .-_()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {}\r\nContent-Length: {len}\r\n\
         Accept-Ranges: bytes\r\n\
         Content-Disposition: {disposition}; filename=\"{ascii}\"; filename*=UTF-8''{}\r\n\
         Content-Security-Policy: sandbox\r\nX-Content-Type-Options: nosniff\r\n\
         Cache-Control: private, max-age=86400\r\nReferrer-Policy: no-referrer\r\n\
         Connection: close\r\n",
        if status == 206 {
            "Partial Content"
        } else {
            "OK"
        },
        record.kind,
        wire::percent_encode(&record.name),
    );
    if status == 206 {
        head.push_str(&format!(
            "Content-Range: bytes {start}-{}/{size}\r\n",
            start + len - 1
        ));
    }
    head.push_str("\r\n");
    // send(2): the head, then the file a buffer at a time.
    if (&*link).write_all(head.as_bytes()).is_err() || request.method == "HEAD" {
        return status;
    }
    if file.seek(SeekFrom::Start(start)).is_err() {
        return status;
    }
    let mut writer = link;
    let _ = io::copy(&mut file.take(len), &mut writer);
    status
}

/// The one range of a `Range: bytes=...` header within `size` bytes, as
/// first and last byte; `None` if it cannot be served (several ranges
/// are served as the first).
fn range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    let first = spec.split(',').next()?.trim();
    let (a, b) = first.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (size.checked_sub(n.min(size))?, size.checked_sub(1)?)
        }
        (a, "") => (a.parse().ok()?, size.checked_sub(1)?),
        (a, b) => (
            a.parse().ok()?,
            b.parse::<u64>().ok()?.min(size.checked_sub(1)?),
        ),
    };
    (start <= end && start < size).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::{Body, range};
    use proptest::prelude::*;

    /// The whole body `wire` (after a head that said `chunked` or not) decodes to.
    fn decode(wire: &[u8], chunked: bool, length: u64) -> Result<Vec<u8>, std::io::Error> {
        let mut body = Body {
            reader: wire,
            pending: Vec::new(),
            left: length,
            chunked,
            done: !chunked && length == 0,
        };
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            match body.read(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[test]
    fn bodies_by_length_and_chunked() {
        assert_eq!(decode(b"hello world", false, 5).unwrap(), b"hello");
        let wire = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
        assert_eq!(decode(wire, true, 0).unwrap(), b"hello world");
        assert!(
            decode(b"5\r\nhello!!\r\n", true, 0).is_err(),
            "longer than its size"
        );
        assert!(decode(b"zz\r\n", true, 0).is_err(), "not hex");
        assert!(decode(b"5\r\nhel", true, 0).is_err(), "cut short");
        assert!(decode(b"abc", false, 10).is_err(), "cut short");
    }

    proptest! {
        #[test]
        fn no_body_panics_or_gives_more_than_it_got(
            wire in proptest::collection::vec(any::<u8>(), 0..300),
            chunked in any::<bool>(),
            length in 0u64..400,
        ) {
            if let Ok(out) = decode(&wire, chunked, length) {
                prop_assert!(out.len() <= wire.len());
            }
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(range("bytes=100-", 100), None);
        assert_eq!(range("bytes=9-3", 100), None);
        assert_eq!(range("items=0-1", 100), None);
        assert_eq!(range("bytes=0-0", 0), None);
        assert_eq!(range("bytes=0-1, 5-6", 100), Some((0, 1)));
    }
}
