//! Secrets at rest: account passwords and room keys, both as Argon2id hashes
//! (slow on purpose, so they are computed off the dispatcher, by the password
//! workers of [`crate::dispatch::accounts`]). Room keys of older servers are
//! salted SHA-256; they still open their room, and are replaced by an
//! Argon2id hash the next time they do.

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

/// A room key as an Argon2id hash in PHC form, like a password.
///
/// # Errors
/// The hasher failed (no randomness from the OS).
pub fn hash_key(key: &str) -> crate::Result<String> {
    hash_password(key).map_err(|_| crate::Error::Secret("cannot hash a room key".into()))
}

/// True if `key` is the one `stored` was made from: an Argon2id hash, or the
/// salted SHA-256 (`sha256$<salt>$<digest>`) of an older server.
pub fn key_matches(key: &str, stored: &str) -> bool {
    if !is_old_key(stored) {
        return verify_password(key, stored);
    }
    let mut parts = stored.splitn(3, '$');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("sha256"), Some(salt), Some(digest)) => old_key_digest(salt, key) == digest,
        _ => false,
    }
}

/// True for a key hash of the older, fast kind (salted SHA-256), which is
/// replaced by an Argon2id hash when its key is next given.
pub fn is_old_key(stored: &str) -> bool {
    stored.starts_with("sha256$")
}

fn old_key_digest(salt: &str, key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(b"$");
    hasher.update(key.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new login token: 32 random bytes from the OS, in hex.
///
/// # Errors
/// The OS gave no randomness.
pub fn new_token() -> crate::Result<String> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw)
        .map_err(|e| crate::Error::Secret(format!("no randomness for a token: {e}")))?;
    Ok(hex(&raw))
}

/// What is kept of a login token: its SHA-256, in hex. A token is random
/// and long, so a plain hash is enough (no salt, no slow hash): it cannot be
/// guessed, and a copy of the store does not log anyone in.
pub fn token_digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A room key hashed as older servers did (for tests of the migration).
#[cfg(test)]
pub(crate) fn old_hash_key(key: &str) -> String {
    let salt = "0011223344556677";
    format!("sha256${salt}${}", old_key_digest(salt, key))
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
        let k = hash_key("door").unwrap();
        assert!(k.starts_with("$argon2id$"), "{k}");
        assert!(key_matches("door", &k));
        assert!(!key_matches("Door", &k));
        assert!(!key_matches("door", "plain"));
        assert_ne!(k, hash_key("door").unwrap(), "salted");
        assert!(!is_old_key(&k));
    }

    #[test]
    fn tokens_are_random_and_kept_only_as_digests() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_digest(&a), token_digest(&a));
        assert_ne!(token_digest(&a), a);
        assert_ne!(token_digest(&a), token_digest(&b));
    }

    #[test]
    fn keys_of_older_servers_still_open_their_room() {
        let old = old_hash_key("door");
        assert!(is_old_key(&old));
        assert!(key_matches("door", &old));
        assert!(!key_matches("Door", &old));
        assert!(!key_matches("door", "sha256$salt"));
    }
}
