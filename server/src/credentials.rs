//! Passwords (Argon2id) and session tokens (random, stored as SHA-256 digests).

use std::sync::{Arc, LazyLock};

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier, password_hash::SaltString};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// Runs Argon2id off the async threads, a few at a time: each hash takes ~19 MiB and tens of
/// milliseconds, so unbounded concurrency would let a burst of log-ins exhaust memory.
pub struct PasswordHashing {
    permits: Arc<Semaphore>,
}

/// A hash to verify against when the user does not exist, so that an unknown user costs the
/// same time as a wrong password and the two cannot be told apart.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = new_salt();
    Argon2::default()
        .hash_password(b"natter-dummy-password", &salt)
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

fn new_salt() -> SaltString {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    // 16 bytes always encode into a valid salt.
    SaltString::encode_b64(&bytes).unwrap_or_else(|_| unreachable!("a 16-byte salt is valid"))
}

impl PasswordHashing {
    pub fn new() -> Self {
        let parallel = std::thread::available_parallelism().map_or(2, |count| count.get());
        PasswordHashing {
            permits: Arc::new(Semaphore::new(parallel * 2)),
        }
    }

    pub async fn hash(&self, password: &str) -> Result<String> {
        let _permit = self.permits.acquire().await.map_err(anyhow::Error::from)?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = new_salt();
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|error| anyhow::anyhow!("hashing a password failed: {error}"))
        })
        .await
        .map_err(anyhow::Error::from)?
        .map_err(Error::from)
    }

    /// Checks a password against a stored hash, or against a dummy when there is none.
    pub async fn verify(&self, password: &str, stored_hash: Option<String>) -> Result<bool> {
        let _permit = self.permits.acquire().await.map_err(anyhow::Error::from)?;
        let password = password.to_owned();
        let user_exists = stored_hash.is_some();
        let matched = tokio::task::spawn_blocking(move || {
            let stored = stored_hash.unwrap_or_else(|| DUMMY_HASH.clone());
            PasswordHash::new(&stored).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .map_err(anyhow::Error::from)?;
        Ok(user_exists && matched)
    }
}

impl Default for PasswordHashing {
    fn default() -> Self {
        Self::new()
    }
}

/// A new session token: 256 random bits, URL-safe base64, with a recognisable prefix so leaked
/// tokens are easy to spot in logs and secret scanners.
pub fn new_session_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "nat_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What the database stores instead of the token.
pub fn token_digest(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_digests_stable() {
        let (first, second) = (new_session_token(), new_session_token());
        assert_ne!(first, second);
        assert!(first.starts_with("nat_") && first.len() == 4 + 43);
        assert_eq!(token_digest(&first), token_digest(&first));
        assert_eq!(token_digest(&first).len(), 64);
    }

    #[tokio::test]
    async fn verify_accepts_only_the_right_password() {
        let hashing = PasswordHashing::new();
        let hash = hashing.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            hashing
                .verify("correct horse", Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!hashing.verify("wrong horse", Some(hash)).await.unwrap());
        assert!(!hashing.verify("correct horse", None).await.unwrap());
    }
}
