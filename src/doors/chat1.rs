//! The CHAT/1 door: plain CHAT/1 lines over TCP (`--listen`, port 44765).
//! Each admitted connection gets a reader thread ([`reader`]) whose lines
//! are parsed as CHAT/1 commands.

use super::admit::{Admission, Door, Refused};
use super::reader::{self, Speech};
use crate::ids::Protocol;
use crate::net::flood::FloodLimit;
use crate::proto::chat1;
use crate::proto::command::Command;
use crate::proto::lines::Frame;
use crate::proto::refusal::Refusal;
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;

/// CHAT/1 speech: each line is one command.
#[derive(Debug, Default)]
pub struct Chat1Speech;

impl Speech for Chat1Speech {
    fn commands(&mut self, frame: Frame, out: &mut Vec<Result<Command, Refusal>>) {
        out.push(frame.command());
    }
}

/// The CHAT/1 door's acceptor state.
#[derive(Debug, Clone, Copy)]
pub struct Chat1Door {
    /// Per-connection flood control.
    pub flood: FloodLimit,
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
            (Chat1Speech, self.flood),
        )
    }
}
