//! Accounts and sessions: sign up, log in, log out, list and revoke device sessions.

use serde::{Deserialize, Serialize};

use crate::{SessionId, Timestamp, User};

/// `POST /api/auth/signup`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// 3 to 32 characters of `a-z 0-9 _ . -`, starting with a letter or digit, after trimming
    /// and lower-casing.
    #[cfg_attr(feature = "openapi", schema(min_length = 3, max_length = 32))]
    pub username: String,
    /// 1 to 64 characters after trimming, no control characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub display_name: String,
    /// 8 to 1024 bytes of UTF-8 (the schema's lengths count characters, which for ASCII are
    /// the bytes).
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 1024))]
    pub password: String,
    /// Shown in the session list, for example "Alice's laptop". At most 64 characters, no
    /// control characters; empty or absent becomes "Unnamed device".
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub device_name: Option<String>,
}

/// `POST /api/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Any case. A malformed username is answered like a wrong password.
    pub username: String,
    pub password: String,
    /// As in `SignupRequest`: at most 64 characters, no control characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub device_name: Option<String>,
}

/// Answer to a successful sign-up or log-in. The token is shown only here: send it as
/// `Authorization: Bearer <token>` on every request and in the WebSocket `hello` frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthResponse {
    pub token: String,
    pub session: SessionInfo,
    pub user: User,
}

/// One signed-in device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: SessionId,
    pub device_name: String,
    pub created_at: Timestamp,
    /// Last time this session made a request (updated at most once a minute).
    pub last_used_at: Timestamp,
    /// True for the session making this request.
    pub current: bool,
}

/// `GET /api/sessions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionList {
    pub sessions: Vec<SessionInfo>,
}
