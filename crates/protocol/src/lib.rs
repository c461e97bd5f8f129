//! The Natter wire protocol: every REST body, WebSocket frame and error code that crosses
//! between a Natter server and its clients.
//!
//! This crate is the contract. The server and the first-party clients both compile against it,
//! and third-party clients can be written from its documentation (and from `docs/protocol.md`,
//! whose examples are checked against these types by the test suite).
//!
//! Conventions:
//! - Identifiers are UUIDs (version 7, so they sort by creation time) written as strings.
//! - Times are Unix time in milliseconds (`*_at` fields).
//! - Every durable change in a conversation carries a per-conversation sequence number `seq`,
//!   starting at 1 and increasing by one with no gaps. Clients keep the highest `seq` they have
//!   seen per conversation (their cursor) and resume from it.

pub mod account;
pub mod admin;
pub mod auth;
pub mod calls;
pub mod conversations;
pub mod error;
pub mod files;
pub mod limits;
pub mod messages;
pub mod realtime;
pub mod users;

pub use account::*;
pub use admin::*;
pub use auth::*;
pub use calls::*;
pub use conversations::*;
pub use error::*;
pub use files::*;
pub use messages::*;
pub use realtime::*;
pub use users::*;

/// Identifier of a user account.
pub type UserId = uuid::Uuid;
/// Identifier of one signed-in device session.
pub type SessionId = uuid::Uuid;
/// Identifier of a direct or group conversation.
pub type ConversationId = uuid::Uuid;
/// Identifier of a message, assigned by the server.
pub type MessageId = uuid::Uuid;
/// Identifier a client generates for a message before sending it; resending with the same
/// `client_id` never creates a second message.
pub type ClientMessageId = uuid::Uuid;
/// Unix time in milliseconds.
pub type Timestamp = i64;
/// Position of a durable change within one conversation (1, 2, 3, …).
pub type Seq = i64;
