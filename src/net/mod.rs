//! The network plumbing below the dispatcher, knowing nothing of commands:
//! listening sockets, each connection's outbox, the one writer thread that
//! `send`s for everyone, flood buckets, TLS, and the orderly stop.

pub mod flood;
pub mod listen;
pub mod outbox;
pub mod shutdown;
pub mod tls;
pub mod writer;
