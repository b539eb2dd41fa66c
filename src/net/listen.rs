//! The three system calls before a server can accept: `socket`, `bind`,
//! `listen`. Every door's listening socket is made here.

use log::debug;
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{SocketAddr, TcpListener};

/// The three steps before a server can accept, each its own system call.
///
/// # Errors
/// The address is taken or not ours, or the OS refused a socket.
pub fn listen(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    // socket(2): a new TCP endpoint, not yet tied to any address.
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    debug!("socket() -> TCP socket for {addr}");
    // A restarted server may bind while old connections linger in TIME_WAIT.
    socket.set_reuse_address(true)?;
    // bind(2): claim the address and port.
    socket.bind(&addr.into())?;
    debug!("bind({addr})");
    // listen(2): the kernel completes handshakes and queues up to `backlog` for accept.
    socket.listen(backlog)?;
    debug!("listen(backlog = {backlog})");
    Ok(socket.into())
}
