//! What domain code may ask of the live connections, without knowing how they are held: hand
//! them frames to fan out (an event after its commit, a live-only frame, a vital one), close
//! the connections of revoked sessions and ended accounts, and ask who is online.
//!
//! Domain modules take a `&dyn Live`; the hub (`hub::Hub`) implements it, and only
//! the shells know the hub. Nothing here is HTTP or WebSocket: a frame is JSON text
//! ([`FrameText`]) that the socket layer sends as a WebSocket text message.

use std::sync::Arc;

use natter_protocol::{ConversationId, Seq, SessionId, UserId};
use tokio_util::bytes::Bytes;

/// A frame serialised once as JSON text and shared by every connection it goes to: cloning it
/// copies no bytes. Always UTF-8 (it is made from a `String` or a `&'static str`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameText(Bytes);

impl FrameText {
    pub const fn from_static(text: &'static str) -> Self {
        FrameText(Bytes::from_static(text.as_bytes()))
    }

    /// The UTF-8 bytes of the text.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl From<String> for FrameText {
    fn from(text: String) -> Self {
        FrameText(Bytes::from(text))
    }
}

/// A durable event, serialised once and shared by every recipient.
#[derive(Debug)]
pub struct LiveEvent {
    pub conversation_id: ConversationId,
    pub seq: Seq,
    pub json: FrameText,
}

/// What is queued for a connection.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A durable event: the connection checks its cursor before sending it.
    Event(Arc<LiveEvent>),
    /// A live-only frame (typing, presence), sent as is; dropped when the queue is full.
    Frame(FrameText),
    /// A live frame that must not be dropped (call signaling): a full queue kicks the
    /// connection instead.
    Vital(FrameText),
}

/// The live connections as domain code sees them. None of these waits: publishing never
/// blocks on a slow connection (see `hub`).
pub trait Live: Send + Sync {
    /// Queues a frame for every connection of these users.
    fn send_to_users(&self, user_ids: &[UserId], frame: Outbound);

    /// Queues a frame for the user's connections whose session `matches`.
    fn send_to_sessions_of(
        &self,
        user_id: UserId,
        matches: &dyn Fn(SessionId) -> bool,
        frame: Outbound,
    );

    /// Closes the connections of revoked sessions.
    fn kick_sessions(&self, session_ids: &[SessionId]);

    /// Closes every connection of these users (disabled or deleted accounts).
    fn kick_users(&self, user_ids: &[UserId]);

    fn is_online(&self, user_id: &UserId) -> bool;

    /// The subset of `user_ids` that is online.
    fn online_among(&self, user_ids: &[UserId]) -> Vec<UserId>;

    /// (users online, open connections)
    fn counts(&self) -> (usize, usize);
}
