//! The crate's one error type. Expected failures of a command are not
//! errors but [`Refusal`](crate::proto::refusal::Refusal)s sent back as `ERR`
//! lines; these are the failures of the server itself and of parsing what
//! the server sent (the line client).

use std::fmt;
use std::io;
use std::net::SocketAddr;

/// What can go wrong outside a command's own refusals.
#[derive(Debug)]
pub enum Error {
    /// A socket, file or thread operation failed.
    Io(io::Error),
    /// The store cannot be opened, read or written.
    Store(String),
    /// A password could not be hashed.
    Secret(String),
    /// TLS cannot be set up: a certificate or key file, or rustls, says why.
    Tls(String),
    /// A line is not what the protocol allows.
    Protocol(String),
    /// A listening socket cannot be made: which one (its flag), its address, why.
    Listen {
        flag: &'static str,
        addr: SocketAddr,
        source: io::Error,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "{e}"),
            Error::Store(text) | Error::Secret(text) | Error::Protocol(text) | Error::Tls(text) => {
                f.write_str(text)
            }
            Error::Listen { flag, addr, source } => {
                write!(f, "cannot listen on {addr} ({flag}): {source}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) | Error::Listen { source: e, .. } => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl Error {
    /// A store failure, with what it was doing.
    pub fn store(text: impl Into<String>) -> Error {
        Error::Store(text.into())
    }
}
