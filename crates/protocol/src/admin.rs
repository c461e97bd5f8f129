//! Running a server: invites, the admin's view of users, reports, the audit log, statistics.
//! Every `/api/admin/…` route answers `not_found` to anyone who is not an admin, exactly as a
//! route that does not exist.

use serde::{Deserialize, Serialize};

use crate::{ConversationId, MessageId, SignupMode, Timestamp, UserId};

/// Identifier of an invite.
pub type InviteId = uuid::Uuid;
/// Identifier of a report.
pub type ReportId = uuid::Uuid;

/// `POST /api/invites`: an invite code for people to sign up with.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateInviteRequest {
    /// How many accounts may sign up with it: 1 to 1000, default 1.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub max_uses: Option<u32>,
    /// Hours until it expires: 1 to 720 (30 days), default 168 (7 days).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 720))]
    pub expires_in_hours: Option<u32>,
    /// Who it is for, as a reminder: at most 140 characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 140))]
    pub note: Option<String>,
}

/// An invite, without its code (which is shown only when it is made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invite {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: InviteId,
    /// The code's first four characters, to tell invites apart.
    pub code_hint: String,
    pub note: String,
    /// Who made it; absent when made from the server's console or by a deleted account.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub max_uses: u32,
    pub uses: u32,
    pub revoked: bool,
}

/// Answer to `POST /api/invites`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedInvite {
    pub invite: Invite,
    /// The code to give (`XXXX-XXXX-XXXX-XXXX`). Clients build links from it:
    /// `natter://invite?server=<server URL>&code=<code>` or `<server URL>/invite/<code>`.
    pub code: String,
}

/// `GET /api/invites` (mine) and `GET /api/admin/invites` (everyone's), newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteList {
    pub invites: Vec<Invite>,
}

/// A user as admins see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUser {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub totp_enabled: bool,
    pub created_at: Timestamp,
    /// When the account was last connected; absent while online or if never.
    pub last_seen_at: Option<Timestamp>,
    pub online: bool,
    /// Signed-in devices.
    pub sessions: u32,
}

/// `GET /api/admin/users?query=…&limit=…&cursor=…`: ordered by username; deleted accounts are
/// not listed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUserPage {
    pub users: Vec<AdminUser>,
    pub next_cursor: Option<String>,
}

/// `PATCH /api/admin/users/{user_id}`: fields left out stay as they are. Admins cannot demote
/// or disable themselves (another admin must), so a server never loses its last admin by
/// mistake.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AdminUpdateUserRequest {
    #[serde(default)]
    pub is_admin: Option<bool>,
    /// Disabling ends every session of the user at once and refuses their sign-ins.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// Answer to `POST /api/admin/users/{user_id}/password-reset`: a code that sets a new password
/// once (`POST /api/auth/reset-password`), until it expires. Give it to the person privately.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordResetCode {
    pub code: String,
    pub expires_at: Timestamp,
}

/// `POST /api/conversations/{conversation_id}/messages/{message_id}/report`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// Why: 1 to 500 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub reason: String,
}

/// A message reported to the admins, with what it said when it was reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ReportId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub reporter_id: UserId,
    pub reporter_username: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub conversation_id: ConversationId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub message_id: MessageId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub sender_id: UserId,
    pub sender_username: String,
    pub message_body: String,
    pub reason: String,
    pub created_at: Timestamp,
    /// When an admin marked it handled; absent while open.
    pub resolved_at: Option<Timestamp>,
}

/// `GET /api/admin/reports?state=open|all`, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportList {
    pub reports: Vec<Report>,
}

/// One admin action, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: uuid::Uuid,
    pub at: Timestamp,
    /// The admin; absent for the server's console (`natter-server admin …`).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub actor_id: Option<UserId>,
    /// The admin's username then, or `console`.
    pub actor_name: String,
    /// `user.create`, `user.promote`, `user.demote`, `user.disable`, `user.enable`,
    /// `user.password_reset`, `user.reset_two_factor`, `user.delete`, `invite.create`,
    /// `invite.revoke`, `report.resolve`.
    pub action: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub target_user_id: Option<UserId>,
    /// Details of the action (never a secret).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

/// `GET /api/admin/audit?limit=…&cursor=…`, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// `GET /api/admin/stats`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminStats {
    pub signup: SignupMode,
    /// Accounts, deleted ones not counted.
    pub users: u64,
    pub admins: u64,
    pub disabled_users: u64,
    pub sessions: u64,
    pub conversations: u64,
    pub messages: u64,
    pub open_reports: u64,
    pub users_online: u64,
    pub connections: u64,
    pub uptime_seconds: u64,
    pub version: String,
}
