//! A WebSocket connection's reader: tungstenite decodes the client's frames
//! (masking, fragments, pings, close) and each text message becomes a CHAT/1
//! line, handled exactly as a TCP reader handles one.
//!
//! tungstenite never writes to the socket itself: what it would send (a pong,
//! say) is pushed, already framed, into the connection's outbox, so that the
//! one writer thread keeps sending everything, in order.

use crate::dispatch::Input;
use crate::doors::chat1::{self, Chat1Speech};
use crate::doors::reader::LineReader;
use crate::ids::ConnId;
use crate::net::flood::FloodLimit;
use crate::net::outbox::Outbox;
use crate::net::tls::Link;
use crossbeam_channel::Sender;
use log::debug;
use std::io::{self, ErrorKind, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tungstenite::error::{Error, ProtocolError};
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Message, WebSocket};

/// Largest message or frame a client may send. A CHAT/1 line is at most 2048
/// bytes; anything much larger is not chat and ends the connection.
pub const MAX_MESSAGE: usize = 16 * 1024;

/// The socket as tungstenite sees it: reads come from the socket, writes go
/// to the outbox as framed bytes.
struct Duplex {
    id: ConnId,
    link: Link,
    outbox: Outbox,
}

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // recv(2): blocks until the peer sends; 0 bytes means it closed its side.
        let n = (&self.link).read(buf)?;
        if n == 0 {
            debug!("recv() conn {}: 0 bytes: the peer closed its side", self.id);
        } else {
            debug!("recv() conn {}: {n} bytes", self.id);
        }
        Ok(n)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outbox
            .push_framed(Arc::from(buf))
            .map_err(|_| io::Error::other("send queue full"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads messages until the peer goes away (returns why) or sends `QUIT`
/// (`None`). `rest` holds bytes that arrived with the HTTP request head. The
/// first message must come by `login.0` (`login.1` after `accept`).
pub fn read_loop(
    id: ConnId,
    link: &Link,
    outbox: Outbox,
    inputs: &Sender<Input>,
    (rest, flood): (Vec<u8>, FloodLimit),
    (login_by, limit): (Instant, Duration),
) -> Option<String> {
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let debt = outbox.debt().clone();
    let socket = link.socket();
    let duplex = Duplex {
        id,
        link: link.clone(),
        outbox,
    };
    let mut ws = WebSocket::from_partially_read(duplex, rest, Role::Server, Some(config));
    let mut lines = LineReader::new(id, flood, Chat1Speech::default()).owing(debt);
    let mut waiting = true;
    loop {
        if waiting {
            let left = login_by.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Some(chat1::login_timeout(limit));
            }
            // SO_RCVTIMEO: recv(2) returns EAGAIN when the login deadline comes.
            let _ = socket.set_read_timeout(Some(left));
        }
        let data = match ws.read() {
            Ok(Message::Text(text)) => text.into(),
            // Bytes as the client sent them: not UTF-8 gets ERR BAD_UTF8, as on TCP.
            Ok(Message::Binary(bytes)) => bytes,
            Ok(Message::Close(_)) => return Some("connection closed".to_string()),
            // Pings are answered by tungstenite (through the outbox); pongs need nothing.
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
            Err(
                Error::ConnectionClosed
                | Error::AlreadyClosed
                | Error::Protocol(ProtocolError::ResetWithoutClosingHandshake),
            ) => return Some("connection closed".to_string()),
            Err(Error::Io(e)) if e.kind() == ErrorKind::Interrupted => continue,
            // The login deadline: checked at the top of the loop.
            Err(Error::Io(e))
                if waiting && matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                continue;
            }
            Err(Error::Io(e)) => return Some(format!("connection lost: {e}")),
            Err(e) => return Some(format!("connection lost: {e}")),
        };
        if waiting {
            // The first message: logged in; no more deadline.
            waiting = false;
            let _ = socket.set_read_timeout(None);
        }
        // One message is one line: its bytes and the `\n` the frame stands for.
        if !lines.feed(&data, inputs) || !lines.feed(b"\n", inputs) {
            return None;
        }
    }
}
