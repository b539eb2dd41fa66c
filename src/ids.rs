//! The names every part shares: which connection, which room, which protocol.
//! A leaf module: it uses nothing else of the crate.

/// A connection's unique id; users are keyed by it, never by nickname.
pub type ConnId = u64;

/// A room's key in maps: its name folded to lower case (names are ASCII).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(String);

impl RoomId {
    /// The id of the room called `name`, in any case.
    pub fn of(name: &str) -> RoomId {
        RoomId(name.to_ascii_lowercase())
    }

    /// The folded name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The protocol a connection speaks, so the dispatcher renders its events right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// CHAT/1 lines (over TCP or a WebSocket).
    #[default]
    Chat,
    /// IRC lines ([`crate::proto::irc`]).
    Irc,
}
