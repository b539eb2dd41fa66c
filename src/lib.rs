//! # Sala
//!
//! A small chat server and client speaking CHAT/1, a protocol of plain text
//! lines (see `docs/protocol.md`), over TCP or, for the built-in web client,
//! over a WebSocket. One OS thread reads each connection, a
//! single dispatcher thread applies every command in order, and a single
//! writer thread sends the results without ever blocking on a slow peer.
//! It doubles as a classroom demo of the socket calls: `socket`, `bind`,
//! `listen`, `accept`, `recv`, `send`, `shutdown` each appear once, commented,
//! and are logged with `RUST_LOG=debug`.
//!
//! ```text
//! $ nc 127.0.0.1 44765
//! WELCOME guest1 Welcome to Sala (CHAT/1). Type NICK <name>, then JOIN <room>.
//! NICK ana
//! NICK guest1 ana
//! JOIN lobby
//! JOIN lobby ana
//! MEMBERS lobby ana
//! END MEMBERS lobby
//! END HISTORY lobby
//! SAY lobby hello
//! MSG lobby ana hello
//! ```
//!
//! # Layout
//! - [`codec`]: the wire format, pure: lines to commands, events to lines.
//! - [`room`]: chat state as plain data: users, rooms, members, owners.
//! - [`store`]: history, accounts, account rooms, offline whispers, behind a trait.
//! - [`sqlite`]: the durable store (SQLite, WAL, one commit per batch).
//! - [`secret`]: password hashes (Argon2id) and room key hashes.
//! - [`auth`]: the worker thread that hashes and checks passwords.
//! - [`dispatcher`]: the one thread that changes state and routes events.
//! - [`outbox`]: a connection's bounded queue of encoded events.
//! - [`connection`]: a connection's reader thread (CHAT/1 or IRC).
//! - [`irc`]: the IRC wire format, pure: IRC lines to commands, events to IRC lines.
//! - [`writer`]: the one thread that `send`s for every connection.
//! - [`flood`]: the per-connection token bucket.
//! - [`server`]: `socket`/`bind`/`listen`, the accept loop, shutdown.
//! - [`web`]: the web client: HTTP listener, embedded page, CHAT/1 over WebSocket.
//! - [`client`]: what the line client shows people.
//!
//! # Threads
//! ```text
//!  client A ─TCP─▶ [reader A] ─┐                            ┌▶ outbox A ─┐
//!  client B ─TCP─▶ [reader B] ─┼▶ inputs ─▶ [dispatcher] ───┼▶ outbox B ─┼─▶ [writer] ─TCP─▶ A, B, C
//!  client C ─TCP─▶ [reader C] ─┘ (bounded)   │ routes:      └▶ outbox C ─┘  (send, MSG_DONTWAIT;
//!                  [acceptor] ── Connect ──▶ │ room → outboxes  (bounded)    poll when stalled)
//! ```

pub mod chat;
pub mod client;
pub mod dispatch;
pub mod doors;
pub mod error;
pub mod ids;
pub mod net;
pub mod proto;
pub mod secret;
pub mod server;
pub mod store;

pub use error::{Error, Result};
pub use net::flood::FloodLimit;
pub use net::shutdown::Stopper;
pub use server::{Config, Server};
