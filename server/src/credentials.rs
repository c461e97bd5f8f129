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

/// Letters of the codes people type (invites, password resets, recovery codes): Crockford's
/// base32, without I, L, O and U, which read as 1, 1, 0 and V.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A random code of `groups` groups of four characters (20 random bits each), dashed:
/// `7KQ2-M9XD-…`. Four groups are 80 bits: unguessable behind the rate limits.
pub fn new_code(groups: usize) -> String {
    let mut rng = rand::rng();
    let mut code = String::with_capacity(groups * 5);
    for group in 0..groups {
        if group > 0 {
            code.push('-');
        }
        for _ in 0..4 {
            let index = (rng.next_u32() % 32) as usize;
            code.push(char::from(CODE_ALPHABET[index]));
        }
    }
    code
}

/// A typed code as the server compares it: upper case, dashes and spaces dropped, and the
/// letters people confuse read as the digits they look like.
pub fn normalise_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|character| !matches!(character, '-' | ' ' | '\t'))
        .map(|character| match character.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

/// What the database keeps of a code: the digest of its normalised form.
pub fn code_digest(typed: &str) -> String {
    token_digest(&normalise_code(typed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_random_and_read_back_however_typed() {
        let code = new_code(4);
        assert_eq!(code.len(), 19, "{code}");
        assert_ne!(code, new_code(4));
        assert!(
            code.chars()
                .all(|character| character == '-' || CODE_ALPHABET.contains(&(character as u8)))
        );
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(code_digest(&typed), code_digest(&code));
        assert_eq!(normalise_code("o1il-ab"), "0111AB");
        assert_ne!(code_digest("AAAA-AAAA"), code_digest("AAAA-AAAB"));
    }

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
