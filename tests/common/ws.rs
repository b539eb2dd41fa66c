//! CHAT/1 over the web door's WebSocket (tungstenite's blocking client):
//! [`Ws`] is the CHAT/1 client of [`super::chat1`] over [`Frames`], one line
//! per text frame.

use super::chat1::Chat1;
use super::{Dial, Transport};
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpStream};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

/// A CHAT/1 client over a WebSocket.
pub type Ws = Chat1<Frames>;

/// A WebSocket on a socket whose reads time out; one line per text frame.
pub struct Frames {
    ws: WebSocket<TcpStream>,
}

/// A tungstenite error as an I/O error, keeping the kind of an I/O one (a timeout).
fn io_error(e: tungstenite::Error) -> io::Error {
    match e {
        tungstenite::Error::Io(e) => e,
        other => io::Error::other(other),
    }
}

impl Transport for Frames {
    fn send_line(&mut self, line: &str) -> io::Result<()> {
        self.ws.send(Message::text(line)).map_err(io_error)
    }

    /// The next text frame; it must hold exactly one line, without `\n`.
    fn recv_line(&mut self) -> io::Result<Option<String>> {
        match self.ws.read().map_err(io_error)? {
            Message::Text(t) => {
                let line = t.as_str().to_string();
                if line.contains('\n') {
                    return Err(io::Error::new(
                        ErrorKind::InvalidData,
                        format!("one line per frame: {line:?}"),
                    ));
                }
                Ok(Some(line))
            }
            other => Err(io::Error::new(
                ErrorKind::InvalidData,
                format!("expected a text frame, got {other:?}"),
            )),
        }
    }
}

impl Dial for Frames {
    /// Connects with an `Origin` that matches the server (as a browser would).
    fn dial(addr: SocketAddr) -> Frames {
        Frames::over(super::connect(addr))
    }
}

impl Frames {
    /// The WebSocket handshake on a connected socket, with an `Origin` that
    /// matches the server (as a browser would).
    pub fn over(stream: TcpStream) -> Frames {
        let addr = stream.peer_addr().expect("a connected socket");
        let mut request = format!("ws://{addr}/ws")
            .into_client_request()
            .expect("a request");
        request.headers_mut().insert(
            "Origin",
            HeaderValue::from_str(&format!("http://{addr}")).expect("a header value"),
        );
        let (ws, response) =
            tungstenite::client::client(request, stream).expect("the handshake succeeds");
        assert_eq!(response.status(), 101);
        Frames { ws }
    }
}

impl Ws {
    /// The WebSocket, for frames that are not lines (pings, binary, close).
    pub fn socket(&mut self) -> &mut WebSocket<TcpStream> {
        &mut self.io().ws
    }

    /// The next message, whatever it is; panics on a timeout.
    pub fn message(&mut self) -> Message {
        match self.io().ws.read() {
            Ok(m) => m,
            Err(e) => {
                let e = io_error(e);
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
                    panic!("{}: nothing within {:?}", self.nick, super::READ_TIMEOUT)
                }
                panic!("{}: read failed: {e}", self.nick)
            }
        }
    }

    /// The server's close frame must come next (after its BYE).
    pub fn expect_close(&mut self) {
        match self.message() {
            Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Normal),
            other => panic!("{}: expected a close frame, got {other:?}", self.nick),
        }
    }
}
