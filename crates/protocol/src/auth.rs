//! Accounts and sessions: sign up, log in, log out, list and revoke device sessions.

use serde::{Deserialize, Serialize};

use crate::{SessionId, Timestamp, User};

/// `POST /api/auth/signup`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub username: String,
    pub display_name: String,
    pub password: String,
    /// Shown in the session list, for example "Alice's laptop".
    #[serde(default)]
    pub device_name: Option<String>,
}

/// `POST /api/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    #[serde(default)]
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
