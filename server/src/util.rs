//! Identifiers and clock readings in the forms the database stores.

use std::time::{SystemTime, UNIX_EPOCH};

use uuid::Uuid;

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

/// A new time-ordered id.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Parses an id read from our own database; a malformed one is a corrupt row, an internal error.
pub fn parse_id(text: &str) -> Result<Uuid, crate::error::Error> {
    Uuid::parse_str(text)
        .map_err(|error| anyhow::anyhow!("malformed id {text:?} in the database: {error}").into())
}
