//! What people control about their own account: password, two-factor sign-in, blocks,
//! deletion and the export of their data.

use serde::{Deserialize, Serialize};

use crate::{CallRecord, Conversation, Message, SessionInfo, Timestamp, User};

/// `GET /api/me/account`: my account as only I (and admins) see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountInfo {
    pub user: User,
    pub is_admin: bool,
    /// Two-factor sign-in is on.
    pub totp_enabled: bool,
    /// I may create invites (admins always may; others when the operator allows it).
    pub can_invite: bool,
    pub created_at: Timestamp,
}

/// `POST /api/me/password`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// The password rule of `SignupRequest`.
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 1024))]
    pub new_password: String,
    /// Sign out every other device (this one stays signed in).
    #[serde(default)]
    pub sign_out_other_devices: bool,
}

/// `POST /api/me/totp/setup`: a new secret for the authenticator app. Two-factor sign-in is
/// on only once `POST /api/me/totp/confirm` has checked a code made from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpSetup {
    /// The secret in base32, for typing into an app by hand.
    pub secret: String,
    /// `otpauth://totp/…`: what the QR code to scan holds (SHA-1, 6 digits, 30 s).
    pub otpauth_uri: String,
}

/// `POST /api/me/totp/confirm`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmRequest {
    /// A current 6-digit code from the authenticator app.
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub code: String,
}

/// Answer to `POST /api/me/totp/confirm`: codes that each sign in once instead of the app's
/// code. Shown only here: keep them somewhere safe.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// `POST /api/me/totp/disable` and `POST /api/me/delete`: the account's password confirms
/// it is me, plus a two-factor code when two-factor sign-in is on.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConfirmWithPassword {
    pub password: String,
    /// Required when two-factor sign-in is on: an app code or a recovery code.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub totp_code: Option<String>,
}

/// `GET /api/blocks`: the people I blocked, most recent first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockList {
    pub users: Vec<User>,
}

/// `GET /api/me/export`: everything the server keeps that is mine, as one JSON document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountExport {
    /// `natter-export/1`; a later format changes the number.
    pub format: String,
    pub exported_at: Timestamp,
    pub server_version: String,
    pub account: AccountInfo,
    pub sessions: Vec<SessionInfo>,
    pub blocked: Vec<User>,
    /// The conversations I am in, as `GET /api/conversations` shows them.
    pub conversations: Vec<Conversation>,
    /// Every message I sent that is not deleted, in any conversation (groups I left included),
    /// oldest first. Others' messages are theirs, and are not exported.
    pub messages: Vec<Message>,
    /// Every call I placed or received, newest first.
    pub calls: Vec<CallRecord>,
}
