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
    /// Required when the server's sign-up is `invite` (see `GET /api/server`): the code of an
    /// invite, in any case, with or without its dashes and spaces. On an `open` server an
    /// invite is not needed, but a given one must still be valid and is counted.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub invite_code: Option<String>,
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
    /// For an account with two-factor sign-in: the 6-digit code of the authenticator app, or
    /// one of the account's unused recovery codes. Without it such an account gets
    /// `totp_required` (after the password was checked).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub totp_code: Option<String>,
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
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
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

/// Who may create an account on a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignupMode {
    /// Anyone who can reach the server.
    Open,
    /// Only people with an invite code.
    Invite,
    /// Nobody: accounts are made by the operator (`natter-server admin create-user`).
    Closed,
}

/// `GET /api/server`: what a client needs to know before signing in. No token needed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerInfo {
    pub signup: SignupMode,
    /// Whether users who are not admins may create invites.
    pub users_can_invite: bool,
    pub version: String,
}

/// `POST /api/auth/reset-password`: set a new password with a one-time code an admin made.
/// Every session of the account ends; sign in again with the new password.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// The code, in any case, with or without its dashes and spaces.
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub code: String,
    /// The password rule of `SignupRequest`.
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 1024))]
    pub new_password: String,
}
