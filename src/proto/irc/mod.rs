//! The IRC wire format (RFC 1459/2812 as clients use it), and nothing else:
//! parse a client line into [`Message`], turn it into the same [`Command`](crate::proto::command::Command)s a
//! CHAT/1 client sends (or an IRC-only [`Query`]), and render [`Event`](crate::proto::chat1::Event)s and
//! replies as IRC lines. No I/O here; every rule is unit-tested in this file.
//!
//! A room `lobby` is the channel `#lobby`; a whisper is a `PRIVMSG` to a nick;
//! a broadcast is a `NOTICE $*` (and `PRIVMSG $*`/`NOTICE $*` sends one). The
//! mapping table is in `docs/irc.md`.
//!
//! - [`parse`](mod@parse): a client line into a [`Message`];
//! - [`caps`]: the IRCv3 capabilities offered, and a client's enabled set;
//! - [`session`]: registration, and IRC commands into [`Command`](crate::proto::command::Command)s;
//! - [`render`]: events, numerics and refusals as IRC lines;
//! - [`sasl`]: the `AUTHENTICATE PLAIN` exchange;
//! - [`modes`]: `MODE #chan` requests split into changes, and changes as mode strings;
//! - [`replies`]: the answers to IRC-only requests (`WHO`, `WHOIS`, `MODE`, `LIST`...);
//! - [`tags`], [`batch`], [`history`], [`v3`]: IRCv3 message tags, batches and
//!   labeled responses, `CHATHISTORY`, and the other IRCv3 commands and lines.
//!
//! Every IRC string lives in this folder.

pub mod batch;
pub mod caps;
pub mod history;
pub mod modes;
pub mod parse;
pub mod render;
pub mod replies;
pub mod sasl;
pub mod session;
pub mod tags;
pub mod v3;

pub use crate::proto::command::Query;
pub use caps::{Cap, Caps};
pub use parse::{Message, channel, glob, is_valid_server_name, parse, room_of};
pub use render::*;
pub use session::{Identity, Session, Step};

/// Most targets of one `PRIVMSG`/`NOTICE`/`JOIN`/`PART` (ISUPPORT `TARGMAX`).
pub const MAX_TARGETS: usize = 4;
