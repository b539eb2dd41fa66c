//! The CHAT/1 door: plain CHAT/1 lines over TCP (`--listen`, port 44765).
//! Each admitted connection gets a reader thread ([`reader`]) whose lines
//! are parsed as CHAT/1 commands.

use super::admit::{Admission, Door, Handshakes, Refused};
use super::reader::{self, Quiet, Speech};
use crate::ids::Protocol;
use crate::net::flood::FloodLimit;
use crate::proto::chat1;
use crate::proto::command::Command;
use crate::proto::lines::Frame;
use crate::proto::refusal::Refusal;
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

/// CHAT/1 speech: each line is one command.
#[derive(Debug, Default)]
pub struct Chat1Speech {
    /// A line came: the client has logged in (CHAT/1 has no registration).
    spoke: bool,
}

impl Speech for Chat1Speech {
    fn commands(&mut self, frame: Frame, out: &mut Vec<Result<Command, Refusal>>) {
        self.spoke = true;
        out.push(frame.command());
    }

    fn logged_in(&self) -> bool {
        self.spoke
    }

    fn late(&mut self, limit: Duration) -> Quiet {
        Quiet::Drop(login_timeout(limit))
    }
}

/// Why a CHAT/1 client that sent no command in time is dropped (its `BYE` text).
pub fn login_timeout(limit: Duration) -> String {
    format!("login timeout: no command within {limit:?}")
}

/// The CHAT/1 door's acceptor state.
#[derive(Debug, Clone)]
pub struct Chat1Door {
    /// Per-connection flood control.
    pub flood: FloodLimit,
    /// TLS: each connection's handshake comes first (the door's TLS port).
    pub tls: Option<Handshakes>,
}

impl Door for Chat1Door {
    fn arrive(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        admission: &Admission,
    ) -> Option<JoinHandle<()>> {
        let limits = admission.limits;
        let refusal = |why| match why {
            Refused::Full => chat1::server_full(limits.max_clients),
            Refused::TooManyFromHost => chat1::too_many_connections(limits.max_per_ip),
        };
        reader::arrive(
            stream,
            peer,
            admission,
            (Protocol::Chat, refusal),
            (Chat1Speech::default(), self.flood, self.tls.as_ref()),
        )
    }

    fn close(&mut self) {
        if let Some(tls) = &self.tls {
            tls.close();
        }
    }
}
