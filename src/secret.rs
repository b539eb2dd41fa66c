//! Secrets at rest: account passwords as Argon2id hashes (slow on purpose, so
//! they are computed off the dispatcher, see [`crate::dispatch::accounts`]), room keys as
//! salted SHA-256 (fast enough to check on every `JOIN`).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

/// An Argon2id hash of `password` in PHC form, with a random salt.
///
/// # Errors
/// The hasher failed (no randomness from the OS).
pub fn hash_password(password: &str) -> crate::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| crate::Error::Secret(format!("cannot hash password: {e}")))
}

/// True if `password` matches the PHC `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key_digest(salt: &str, key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(b"$");
    hasher.update(key.as_bytes());
    hex(&hasher.finalize())
}

/// A room key as `sha256$<salt>$<digest>`.
pub fn hash_key(key: &str) -> String {
    let mut salt = [0u8; 12];
    // Without OS randomness the salt is time-based: still unique per room.
    if getrandom::fill(&mut salt).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        salt.copy_from_slice(&t.to_le_bytes()[..12]);
    }
    let salt = hex(&salt);
    let digest = key_digest(&salt, key);
    format!("sha256${salt}${digest}")
}

/// True if `key` is the one `stored` was made from.
pub fn key_matches(key: &str, stored: &str) -> bool {
    let mut parts = stored.splitn(3, '$');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("sha256"), Some(salt), Some(digest)) => key_digest(salt, key) == digest,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("s3creT", &h));
        assert!(!verify_password("s3cret", "garbage"));
        assert_ne!(h, hash_password("s3cret").unwrap(), "salted");
    }

    #[test]
    fn keys_verify_only_themselves() {
        let k = hash_key("door");
        assert!(key_matches("door", &k));
        assert!(!key_matches("Door", &k));
        assert!(!key_matches("door", "plain"));
        assert_ne!(k, hash_key("door"), "salted");
    }
}
