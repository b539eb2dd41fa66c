//! SASL PLAIN, pure: the `AUTHENTICATE` exchange of one connection (its
//! base64 chunks of at most 400 bytes), and the PLAIN message it carries
//! (`authzid \0 authcid \0 password`). The password is checked against
//! Sala's accounts by the dispatcher's password worker.

/// Longest `AUTHENTICATE` parameter (IRCv3 SASL: responses come in 400-byte chunks).
pub const CHUNK: usize = 400;
/// Most chunks of one response: a PLAIN message is small.
const MAX_CHUNKS: usize = 8;

/// Where one connection's `AUTHENTICATE` exchange stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Sasl {
    /// No exchange under way.
    #[default]
    Idle,
    /// `AUTHENTICATE PLAIN` was answered with `+`; the base64 chunks so far.
    Plain(String),
}

/// What one `AUTHENTICATE` line calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// `AUTHENTICATE +`: send the response.
    Go,
    /// A full chunk came: more follow.
    More,
    /// The whole response: check this password for this account.
    Check { account: String, password: String },
    /// 904: the exchange failed (a bad message, or an unknown mechanism
    /// with 908 listing the known ones first, `mechanisms`).
    Fail { mechanisms: bool },
    /// 905: a chunk longer than [`CHUNK`].
    TooLong,
    /// 906: the client aborted (`AUTHENTICATE *`).
    Aborted,
}

impl Sasl {
    /// Takes the parameter of one `AUTHENTICATE` line.
    pub fn take(&mut self, data: &str) -> Turn {
        if data == "*" {
            *self = Sasl::Idle;
            return Turn::Aborted;
        }
        if data.len() > CHUNK {
            *self = Sasl::Idle;
            return Turn::TooLong;
        }
        let Sasl::Plain(chunks) = self else {
            if data.eq_ignore_ascii_case("PLAIN") {
                *self = Sasl::Plain(String::new());
                return Turn::Go;
            }
            return Turn::Fail { mechanisms: true };
        };
        if data != "+" {
            chunks.push_str(data);
        }
        if data.len() == CHUNK {
            if chunks.len() >= CHUNK * MAX_CHUNKS {
                *self = Sasl::Idle;
                return Turn::Fail { mechanisms: false };
            }
            return Turn::More;
        }
        let whole = std::mem::take(chunks);
        *self = Sasl::Idle;
        match decode(&whole).as_deref().and_then(plain) {
            Some((account, password)) => Turn::Check { account, password },
            None => Turn::Fail { mechanisms: false },
        }
    }
}

/// The account and password of a PLAIN message; the authorization
/// identity, if given, must be the account itself.
fn plain(message: &[u8]) -> Option<(String, String)> {
    let mut parts = message.split(|&b| b == 0);
    let (authz, authc, password) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || authc.is_empty() || (!authz.is_empty() && authz != authc) {
        return None;
    }
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
    Some((text(authc)?, text(password)?))
}

/// Decodes standard base64 (RFC 4648, with padding).
fn decode(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, quad) in bytes.chunks(4).enumerate() {
        let last = i + 1 == bytes.len() / 4;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = n << 6 | digit(c)?;
        }
        n <<= 6 * pad as u32;
        let three = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&three[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(
            decode("amlsbGVzAGppbGxlcwBzZXNhbWU=").unwrap(),
            b"jilles\0jilles\0sesame"
        );
        assert_eq!(decode("YQ==").unwrap(), b"a");
        assert_eq!(decode("YWI=").unwrap(), b"ab");
        assert_eq!(decode("").unwrap(), b"");
        assert_eq!(decode("YQ="), None);
        assert_eq!(decode("Y!==").map(|_| ()), None);
    }

    #[test]
    fn plain_takes_chunks_and_gives_the_account_and_password() {
        let mut s = Sasl::default();
        assert_eq!(s.take("FOO"), Turn::Fail { mechanisms: true });
        assert_eq!(s.take("PLAIN"), Turn::Go);
        assert_eq!(
            s.take("amlsbGVzAGppbGxlcwBzZXNhbWU="),
            Turn::Check {
                account: "jilles".into(),
                password: "sesame".into()
            }
        );
        assert_eq!(s, Sasl::Idle);
        // No authorization identity is fine; another one is not.
        s.take("PLAIN");
        assert!(matches!(s.take("AGppbGxlcwBzZXNhbWU="), Turn::Check { .. }));
        s.take("PLAIN");
        assert_eq!(
            s.take("Zm9vAGppbGxlcwBzZXNhbWU="),
            Turn::Fail { mechanisms: false }
        );
        s.take("PLAIN");
        assert_eq!(s.take(&"A".repeat(500)), Turn::TooLong);
        s.take("PLAIN");
        assert_eq!(s.take(&"A".repeat(400)), Turn::More);
        assert_eq!(s.take("*"), Turn::Aborted);
    }
}
