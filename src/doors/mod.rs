//! The front doors: what is particular to each protocol a client may speak
//! on its own listening socket, above the dispatcher they all feed. CHAT/1
//! over TCP, IRC, and the web page with CHAT/1 over a WebSocket share one
//! accept loop and one admission path ([`admit`]), and the line doors one
//! reader thread ([`reader`]).

pub mod admit;
pub mod chat1;
pub mod irc;
pub mod reader;
pub mod web;
