//! TLS (rustls, with the `ring` provider): the server's certificate, which
//! SIGHUP may swap ([`Certificates::reload`]), the handshake a connection's
//! own thread drives before it is admitted, and [`Link`], the socket as a
//! connection's reader sees it, plain or encrypted.
//!
//! A TLS connection's state is one `Mutex<rustls::Connection>` shared by its
//! reader and the writer thread; each takes the lock only to move bytes in or
//! out of memory, never across a `recv` or a `send` (docs/architecture.md).

use super::outbox::{Post, Session};
use log::{debug, info, warn};
use parking_lot::{Mutex, RwLock};
use rustls::crypto::ring::{default_provider, sign};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{Connection, ServerConfig, ServerConnection};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one blocking `send` of handshake bytes may wait (a fresh socket's
/// send buffer takes a whole flight at once; this only bounds a peer that
/// reads nothing at all).
const HANDSHAKE_SEND: Duration = Duration::from_secs(5);
/// Bytes asked of one `recv` of encrypted bytes.
const RECV_TLS: usize = 2048;

/// Where the certificate and its key are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFiles {
    /// The certificate chain, PEM, the server's own certificate first.
    pub cert: PathBuf,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The server's certificate, chosen afresh for each handshake: a reload
/// changes what the next handshake gets, never a connection already open.
#[derive(Debug)]
pub struct Certificates {
    files: KeyFiles,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certificates {
    /// Reads the certificate and key `files` name.
    ///
    /// # Errors
    /// A file cannot be read, holds no certificate or key, or the key is of
    /// a kind rustls cannot sign with.
    pub fn load(files: KeyFiles) -> crate::Result<Arc<Certificates>> {
        let key = read_key(&files)?;
        info!(
            "TLS certificate {} (SHA-256 {})",
            files.cert.display(),
            fingerprint(&key.cert[0])
        );
        Ok(Arc::new(Certificates {
            files,
            current: RwLock::new(Arc::new(key)),
        }))
    }

    /// Reads the files again (a renewed certificate); on a failure the
    /// certificate in use stays, and the error says why.
    ///
    /// # Errors
    /// As [`Certificates::load`]; nothing changed.
    pub fn reload(&self) -> crate::Result<()> {
        match read_key(&self.files) {
            Ok(key) => {
                info!(
                    "TLS certificate reloaded from {} (SHA-256 {})",
                    self.files.cert.display(),
                    fingerprint(&key.cert[0])
                );
                *self.current.write() = Arc::new(key);
                Ok(())
            }
            Err(e) => {
                warn!("TLS certificate not reloaded, the old one stays: {e}");
                Err(e)
            }
        }
    }

    /// SHA-256 of the certificate in use (what `client --fingerprint` pins).
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.current.read().cert[0])
    }

    /// The rustls configuration of every TLS door: these certificates, TLS
    /// 1.2 and 1.3, no client certificates.
    ///
    /// # Errors
    /// The crypto provider refuses the protocol versions (it does not).
    pub fn server_config(self: &Arc<Self>) -> crate::Result<Arc<ServerConfig>> {
        let config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.current.read()))
    }
}

/// A rustls error as the crate's.
fn tls_error(e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Tls(e.to_string())
}

/// The certificate chain and key in `files`.
fn read_key(files: &KeyFiles) -> crate::Result<CertifiedKey> {
    let named = |path: &Path, e: &dyn std::fmt::Display| {
        crate::Error::Tls(format!("{}: {e}", path.display()))
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| named(&files.cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| named(&files.cert, &e))?;
    if chain.is_empty() {
        return Err(named(&files.cert, &"no certificate in it"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| named(&files.key, &e))?;
    let signer = sign::any_supported_type(&key).map_err(|e| named(&files.key, &e))?;
    let key = CertifiedKey::new(chain, signer);
    key.keys_match().map_err(|e| named(&files.key, &e))?;
    Ok(key)
}

/// SHA-256 of a certificate, as `AB:CD:...` (what `openssl x509 -fingerprint -sha256` prints).
pub fn fingerprint(cert: &[u8]) -> String {
    let digest = Sha256::digest(cert);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

/// The certificate and key `--tls-self-signed` keeps in the data directory
/// `dir`: made for `names` on the first start, read again on later ones.
///
/// # Errors
/// The directory or the files cannot be written, or rcgen fails.
pub fn self_signed(dir: &Path, names: &[String]) -> crate::Result<KeyFiles> {
    let files = KeyFiles {
        cert: dir.join("tls-self-signed.crt"),
        key: dir.join("tls-self-signed.key"),
    };
    if files.cert.exists() && files.key.exists() {
        info!(
            "TLS: reusing the self-signed certificate in {}",
            dir.display()
        );
        return Ok(files);
    }
    fs::create_dir_all(dir)?;
    let made = rcgen::generate_simple_self_signed(names.to_vec()).map_err(tls_error)?;
    write_private(&files.key, made.signing_key.serialize_pem().as_bytes())?;
    fs::write(&files.cert, made.cert.pem())?;
    info!(
        "TLS: made a self-signed certificate for {} in {}",
        names.join(", "),
        dir.display()
    );
    Ok(files)
}

/// Writes a file only its owner may read (mode 0600 from its creation).
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

/// Runs a new server connection's handshake on `socket`, from the
/// connection's own thread, before anyone else knows the connection (so no
/// lock yet): blocking `recv`s that end by `until` (the login deadline), and
/// blocking `send`s of its answers, each bounded by [`HANDSHAKE_SEND`].
///
/// # Errors
/// The deadline passed, the peer closed, or it does not speak TLS (rustls
/// then has queued an alert, which is sent before the error is returned).
pub fn handshake(
    config: &Arc<ServerConfig>,
    (who, socket): (&str, &TcpStream),
    until: Instant,
) -> io::Result<Connection> {
    let mut conn = ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
    socket.set_write_timeout(Some(HANDSHAKE_SEND))?;
    let mut io = socket;
    while conn.is_handshaking() {
        while conn.wants_write() {
            // send(2), blocking: the server's flight (ServerHello, certificate...).
            let n = conn.write_tls(&mut io)?;
            debug!("send() {who}: {n} bytes of TLS handshake");
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "TLS handshake too slow",
            ));
        }
        // SO_RCVTIMEO: the recv(2) below returns EAGAIN at the deadline.
        socket.set_read_timeout(Some(left))?;
        // recv(2): the client's next flight; 0 bytes means it closed.
        let n = conn.read_tls(&mut io)?;
        if n == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        debug!("recv() {who}: {n} bytes of TLS handshake");
        if let Err(e) = conn.process_new_packets() {
            // The alert saying why, then the error.
            let _ = conn.write_tls(&mut io);
            return Err(io::Error::new(ErrorKind::InvalidData, e));
        }
    }
    while conn.wants_write() {
        // send(2): the last of the handshake (TLS 1.3 session tickets).
        let n = conn.write_tls(&mut io)?;
        debug!("send() {who}: {n} bytes of TLS session tickets");
    }
    socket.set_write_timeout(None)?;
    debug!(
        "{who}: TLS handshake done: {:?}, {:?}",
        conn.protocol_version(),
        conn.negotiated_cipher_suite().map(|s| s.suite())
    );
    Ok(Connection::Server(conn))
}

/// Gives the kernel back the pages of the calling thread's stack below its
/// current frame (with a 4 KiB margin), so that the depth a handshake
/// reached (key exchange and signature) costs no memory for the rest of a
/// long, idle connection; a later deeper call just touches fresh zeroed pages.
/// Called by a connection's thread right after its handshake.
pub fn shed_stack() {
    const PAGE: usize = 4096;
    const MARGIN: usize = 4 * 1024;
    // SAFETY: pthread_getattr_np fills `attr`, which we destroy after reading
    // the stack's bounds; madvise(MADV_DONTNEED) only drops pages of our own
    // stack that lie below every live frame (the stack grows down), which
    // read back as zeros if touched again.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return;
        }
        let mut base: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let found = libc::pthread_attr_getstack(&attr, &mut base, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        if !found {
            return;
        }
        let here = std::ptr::addr_of!(base) as usize;
        let low = (base as usize).div_ceil(PAGE) * PAGE;
        let high = here.saturating_sub(MARGIN) / PAGE * PAGE;
        if high > low && here < base as usize + size {
            libc::madvise(low as *mut libc::c_void, high - low, libc::MADV_DONTNEED);
        }
    }
}

/// A connection's socket as its reader thread sees it: plain, or TLS whose
/// state it shares with the writer. Reading a TLS link decrypts; writing
/// one (only before the writer knows the connection: an HTTP answer, the
/// WebSocket `101`) encrypts and sends, blocking.
#[derive(Debug, Clone)]
pub enum Link {
    /// Bytes as they come.
    Plain(Arc<TcpStream>),
    /// TLS: the socket, the shared state, what to tell the writer when
    /// reading made rustls want to send (an alert, a key update), and the
    /// plain text decrypted but not yet read.
    Tls(
        Arc<TcpStream>,
        Arc<Session>,
        Option<Wake>,
        Arc<Mutex<Inbound>>,
    ),
}

/// Plain text a TLS link has decrypted and its reader not yet taken: rustls
/// refuses more bytes while it holds 16 KiB of plain text, so each record's
/// text is taken out of it at once, into here.
#[derive(Debug, Default)]
pub struct Inbound {
    plain: Vec<u8>,
    /// The peer's close_notify came: after `plain`, the end.
    closed: bool,
}

/// How a reader tells the writer a TLS connection has bytes to send.
#[derive(Debug, Clone)]
pub struct Wake {
    pub id: crate::ids::ConnId,
    pub mail: crossbeam_channel::Sender<Post>,
}

impl Link {
    /// A TLS link over `socket` whose handshake `conn` has done. What the
    /// peer sent right behind its handshake (its first line, often in the
    /// same packet) was decrypted already: it is read first.
    pub fn secure(socket: Arc<TcpStream>, mut conn: Connection) -> Link {
        let mut inbound = Inbound::default();
        if conn.reader().read_to_end(&mut inbound.plain).is_ok() {
            inbound.closed = true;
        }
        let inbound = Arc::new(Mutex::new(inbound));
        Link::Tls(socket, Arc::new(Mutex::new(conn)), None, inbound)
    }

    /// The socket under the link (for timeouts and `shutdown`).
    pub fn socket(&self) -> &Arc<TcpStream> {
        match self {
            Link::Plain(socket) | Link::Tls(socket, ..) => socket,
        }
    }

    /// The TLS state, if the link has one.
    pub fn session(&self) -> Option<&Arc<Session>> {
        match self {
            Link::Plain(_) => None,
            Link::Tls(_, session, ..) => Some(session),
        }
    }

    /// The same link, once the writer knows connection `wake.id`.
    #[must_use]
    pub fn waking(self, wake: Wake) -> Link {
        match self {
            Link::Tls(socket, session, _, inbound) => {
                Link::Tls(socket, session, Some(wake), inbound)
            }
            plain @ Link::Plain(_) => plain,
        }
    }

    /// Sends rustls' pending bytes: through the writer once it knows the
    /// connection, else here, blocking (taken out under the lock, sent after).
    fn push_out(&self) -> io::Result<()> {
        let Link::Tls(socket, session, wake, _) = self else {
            return Ok(());
        };
        if let Some(wake) = wake {
            if session.lock().wants_write() {
                let _ = wake.mail.send(Post::Ready(wake.id));
            }
            return Ok(());
        }
        let mut out = Vec::new();
        {
            let mut conn = session.lock();
            while conn.wants_write() {
                conn.write_tls(&mut out)?;
            }
        }
        // send(2), blocking (bounded by the socket's write timeout).
        (&**socket).write_all(&out)
    }

    /// Ends a TLS link properly (close_notify) before the socket is shut.
    pub fn close_notify(&self) {
        if let Link::Tls(_, session, ..) = self {
            session.lock().send_close_notify();
            let _ = self.push_out();
        }
    }
}

impl Read for &Link {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (socket, session, inbound) = match self {
            // recv(2): blocks until the peer sends; 0 bytes means it closed its side.
            Link::Plain(socket) => return (&**socket).read(buf),
            Link::Tls(socket, session, _, inbound) => (socket, session, inbound),
        };
        let mut raw = [0u8; RECV_TLS];
        loop {
            {
                let mut inbound = inbound.lock();
                if !inbound.plain.is_empty() {
                    let n = buf.len().min(inbound.plain.len());
                    buf[..n].copy_from_slice(&inbound.plain[..n]);
                    inbound.plain.drain(..n);
                    if inbound.plain.is_empty() {
                        // An idle connection keeps no buffer.
                        inbound.plain = Vec::new();
                    }
                    return Ok(n);
                }
                if inbound.closed {
                    return Ok(0); // The peer's close_notify.
                }
            }
            // recv(2), without the lock: blocks until the peer sends; 0 bytes means it closed.
            let n = (&**socket).read(&mut raw)?;
            if n == 0 {
                return Ok(0);
            }
            let processed = {
                let mut conn = session.lock();
                let mut inbound = inbound.lock();
                let mut fresh = &raw[..n];
                let mut done = Ok(());
                while !fresh.is_empty() && done.is_ok() {
                    done = conn
                        .read_tls(&mut fresh)
                        .and_then(|_| conn.process_new_packets().map_err(io::Error::other))
                        .and_then(|_| match conn.reader().read_to_end(&mut inbound.plain) {
                            Ok(_) => {
                                inbound.closed = true;
                                Ok(())
                            }
                            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(()),
                            Err(e) => Err(e),
                        });
                }
                done
            };
            // Reading may have made rustls want to answer (or send an alert).
            self.push_out()?;
            processed?;
        }
    }
}

impl Write for &Link {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            // send(2), blocking.
            Link::Plain(socket) => (&**socket).write(buf),
            Link::Tls(_, session, ..) => {
                session.lock().writer().write_all(buf)?;
                self.push_out()?;
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Link {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for Link {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What a TLS client trusts the server's certificate by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The system's certificate authorities.
    System,
    /// The certificate authorities (or the self-signed certificate) in a PEM file.
    Ca(PathBuf),
    /// Only a certificate with this SHA-256 (64 hex digits, `:` allowed).
    Fingerprint(String),
}

/// The rustls configuration of a client that trusts as `trust` says.
///
/// # Errors
/// The CA file cannot be read or holds no certificate, the system has
/// none, or the fingerprint is not 64 hex digits.
pub fn client_config(trust: &Trust) -> crate::Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;
    let roots = |certs: Vec<CertificateDer<'static>>, from: &str| {
        let mut roots = rustls::RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(crate::Error::Tls(format!("no certificate in {from}")));
        }
        Ok(roots)
    };
    let config = match trust {
        Trust::System => {
            let found = rustls_native_certs::load_native_certs();
            builder
                .with_root_certificates(roots(found.certs, "the system's store")?)
                .with_no_client_auth()
        }
        Trust::Ca(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|e| crate::Error::Tls(format!("{}: {e}", path.display())))?;
            builder
                .with_root_certificates(roots(certs, &path.display().to_string())?)
                .with_no_client_auth()
        }
        Trust::Fingerprint(text) => {
            let pin = Pinned {
                sha256: parse_fingerprint(text)?,
                provider,
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(pin))
                .with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// A SHA-256 fingerprint as bytes: 64 hex digits, maybe in pairs split by `:`.
fn parse_fingerprint(text: &str) -> crate::Result<Vec<u8>> {
    let hex: String = text.chars().filter(|c| *c != ':').collect();
    let bad = || {
        crate::Error::Tls(format!(
            "--fingerprint {text}: expected 64 hex digits (SHA-256)"
        ))
    };
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad()))
        .collect()
}

/// Trusts exactly one certificate, by its SHA-256 (`client --fingerprint`):
/// names and dates are not checked, the handshake's signatures are.
#[derive(Debug)]
struct Pinned {
    sha256: Vec<u8>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if Sha256::digest(end_entity).as_slice() == self.sha256.as_slice() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the server's certificate has SHA-256 fingerprint {}, not the one pinned",
                fingerprint(end_entity)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Connects a TLS client on `socket` to the server called `host` (a name
/// or an address), trusting as `config` says; the handshake is done, and
/// bounded by `timeout`, before this returns.
///
/// # Errors
/// The host is not a valid name, the handshake fails (a certificate that is
/// not trusted says so) or takes longer than `timeout`.
pub fn connect(
    config: &Arc<rustls::ClientConfig>,
    host: &str,
    socket: TcpStream,
    timeout: Duration,
) -> io::Result<Link> {
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| io::Error::new(ErrorKind::InvalidInput, format!("{host}: {e}")))?;
    let mut conn =
        rustls::ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)?;
    socket.set_read_timeout(Some(timeout))?;
    socket.set_write_timeout(Some(timeout))?;
    let mut io = &socket;
    while conn.is_handshaking() {
        conn.complete_io(&mut io)?;
    }
    socket.set_read_timeout(None)?;
    socket.set_write_timeout(None)?;
    Ok(Link::secure(Arc::new(socket), Connection::Client(conn)))
}
