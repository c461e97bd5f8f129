//! The session token in the OS credential store (Keychain, Windows Credential Manager, Secret
//! Service on Linux), one entry per server address. Never in a plain file: when no store is
//! available the caller is told, keeps the token in memory for this run only, and asks for the
//! password at the next start.

use natter_protocol::UserId;
use serde::{Deserialize, Serialize};

/// What is kept in the credential store for one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSession {
    pub user_id: UserId,
    pub username: String,
    pub token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// There is no usable credential store (no Secret Service running, keyring locked, …).
    #[error("the system credential store is not available: {0}")]
    Unavailable(String),
    /// The stored entry is not one this app wrote.
    #[error("the stored credentials are unreadable: {0}")]
    Unreadable(String),
}

/// The credential store, under one service name (the app's identifier).
#[derive(Debug, Clone)]
pub struct CredentialStore {
    service: String,
}

impl CredentialStore {
    pub fn new(service: impl Into<String>) -> CredentialStore {
        CredentialStore {
            service: service.into(),
        }
    }

    fn entry(&self, server_url: &str) -> Result<keyring::Entry, CredentialError> {
        keyring::Entry::new(&self.service, server_url).map_err(unavailable)
    }

    /// The session stored for this server, if any. Blocking (D-Bus, Keychain): call from a
    /// blocking thread in async code.
    pub fn load(&self, server_url: &str) -> Result<Option<StoredSession>, CredentialError> {
        match self.entry(server_url)?.get_password() {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|error| CredentialError::Unreadable(error.to_string())),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }

    pub fn save(&self, server_url: &str, session: &StoredSession) -> Result<(), CredentialError> {
        let text = serde_json::to_string(session)
            .map_err(|error| CredentialError::Unreadable(error.to_string()))?;
        self.entry(server_url)?
            .set_password(&text)
            .map_err(unavailable)
    }

    pub fn delete(&self, server_url: &str) -> Result<(), CredentialError> {
        match self.entry(server_url)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(unavailable(error)),
        }
    }
}

fn unavailable(error: keyring::Error) -> CredentialError {
    CredentialError::Unavailable(error.to_string())
}
