//! The wire formats, pure: no sockets, no threads, no chat state. Every byte a
//! client sends is parsed here and every byte it receives is rendered here.
//!
//! - [`lines`]: the line splitter and its limits, shared by every door;
//! - [`refusal`]: the contract's error codes and refusals;
//! - [`command`]: CHAT/1 client lines into [`Command`](command::Command)s, and the name rules;
//! - [`chat1`]: CHAT/1 events into lines (and back, for the line client);
//! - [`irc`]: the IRC door's parse, registration session and rendering;
//! - [`text`]: the one rule for text a client sends (`ERR BAD_TEXT`);
//! - [`files`]: the text of a file message, file names and media types.

pub mod chat1;
pub mod command;
pub mod files;
pub mod irc;
pub mod lines;
pub mod refusal;
pub mod text;

use crate::ids::Protocol;

/// The last line a connection gets, `BYE <text>`, in `protocol`'s words
/// (IRC says `ERROR :Closing link: <text>`).
pub fn bye(protocol: Protocol, text: &str) -> Vec<u8> {
    let event = chat1::Event::Bye { text };
    match protocol {
        Protocol::Chat => chat1::encode(&event),
        Protocol::Irc => {
            // ERROR lines have no prefix: whose they are does not matter.
            let nobody = irc::Source { user: "", host: "" };
            irc::render_shared(&event, &nobody).unwrap_or_default()
        }
    }
}
