//! Who is acting: the session a request or a WebSocket authenticated as. A leaf, so that every
//! domain module can take it without depending on how accounts sign in (`accounts`).

use natter_protocol::{SessionId, UserId};

/// Who is making a request, as derived from their session token. Never from the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthSession {
    pub user_id: UserId,
    pub session_id: SessionId,
    /// Whether the user was an admin when the token was checked.
    pub is_admin: bool,
}
