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
//! The folders are the architecture picture: each layer uses only the ones
//! below it (`tests/layout.rs` fails on an import cycle).
//!
//! ```text
//!   server.rs   Config (every default), Server, the supervisor that joins every thread
//!      │
//!   doors/      the front doors: admit.rs (ONE accept loop and admission path),
//!      │        reader.rs (line readers), chat1.rs, irc.rs, web/ (HTTP, WebSocket, page)
//!      │
//!   dispatch/   the dispatcher: mod.rs (Input, run loop, the one match), verbs.rs,
//!      │        accounts.rs (password workers), logins.rs (login waits), keys.rs,
//!      │        tokens.rs (login tokens), delivery.rs, voice.rs, irc_queries.rs,
//!      │        ircv3.rs, chathistory.rs, whispers.rs
//!      │
//!   chat/  store/  net/      chat state as plain data · history and accounts ·
//!      │                     listen, outboxes, the writer thread, flood, shutdown
//!   proto/                   wire formats, pure: lines, refusal, text, command, chat1, irc/
//!   ids.rs  error.rs  secret.rs          leaves
//! ```
//!
//! - [`ids`]: `ConnId`, `RoomId`, `Protocol`; [`error`]: the crate's [`Error`].
//! - [`proto`]: the wire formats, pure: bytes to lines, lines to commands,
//!   events to CHAT/1 or IRC lines. No I/O, unit-tested and fuzzed.
//! - [`chat`]: chat state as plain data: users, rooms, members, owners, keys.
//! - [`store`]: history, accounts, account rooms, offline whispers, behind a
//!   trait; [`store::sqlite`] is the durable one (WAL, one commit per batch).
//! - [`secret`]: password and room key hashes (Argon2id).
//! - [`net`]: the plumbing below the dispatcher, knowing nothing of commands:
//!   `socket`/`bind`/`listen`, outboxes, the writer thread, flood buckets, the stop.
//! - [`dispatch`]: the one thread that changes chat state and routes events,
//!   and the password workers it hands Argon2 to (a pool, a bounded queue).
//! - [`doors`]: one acceptor thread per listening socket, all through one
//!   accept loop and one admission path; a reader thread per connection.
//! - [`server`]: starts and stops all of the above.
//! - [`client`]: what the line client shows people.
//!
//! # Threads
//! ```text
//!                 ┌─────────────── acceptor thread per door (doors/admit.rs) ───────────────┐
//!                 │ accept(2) → Admission: limit, tune, id, Post::Open ▸ writer, Connect ▸ dispatcher
//!                 └─────────────────────────────────────────────────────────────────────────┘
//!  client A ─TCP─▶ [reader A] ─┐                               ┌▶ outbox A ─┐
//!  client B ─TCP─▶ [reader B] ─┼▶ inputs ─▶ [dispatcher] ──────┼▶ outbox B ─┼─▶ [writer] ─TCP─▶ A, B, C
//!  browser C ─WS─▶ [reader C] ─┘ (bounded)   │    ▲  routes:   └▶ outbox C ─┘  send(MSG_DONTWAIT),
//!                                            ▼    │  room → outboxes           poll(2) when stalled
//!                              [password workers] (Argon2; a pool, a bounded queue)
//!
//!  TLS (--tls-cert): a connection's own thread does its handshake before admission; then its
//!  reader decrypts and the writer encrypts, sharing its rustls state (docs/architecture.md).
//!
//!  [supervisor] = the CHAT/1 acceptor: once stopped, joins the other acceptors,
//!  sends Shutdown to the dispatcher (BYE to all), joins it, then the writer, then every reader.
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
pub use server::{Config, Server, Stopped};
