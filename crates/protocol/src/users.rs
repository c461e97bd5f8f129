//! Profiles, avatars, presence and the user directory.

use serde::{Deserialize, Serialize};

use crate::{Timestamp, UserId};

/// A user as others see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: UserId,
    /// Unique, lower case.
    pub username: String,
    pub display_name: String,
    /// Free text such as "In a meeting"; empty when unset.
    pub status_text: String,
    /// Path of the avatar thumbnail (fetch it with the session token), absent when none is set.
    /// It changes whenever the avatar changes, so it can be cached forever.
    pub avatar_url: Option<String>,
    /// Only shown to the user themself and to users who share a conversation with them;
    /// absent (null) for everyone else.
    pub presence: Option<Presence>,
}

/// Whether a user has a connected session right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Presence {
    pub online: bool,
    /// When the user's last session disconnected; absent while online or if never seen.
    pub last_seen_at: Option<Timestamp>,
}

/// `PATCH /api/me`: fields left out stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    /// 1 to 64 characters after trimming, no control characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub display_name: Option<String>,
    /// At most 140 characters after trimming, no control characters; empty clears it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 140))]
    pub status_text: Option<String>,
}

/// `GET /api/users?query=…&limit=…&cursor=…`: a page of the directory, ordered by username.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserPage {
    pub users: Vec<User>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /api/stats`: a snapshot for operators.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerStats {
    pub users_online: u64,
    pub connections: u64,
    pub uptime_seconds: u64,
    pub version: String,
}
