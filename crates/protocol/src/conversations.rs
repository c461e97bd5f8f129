//! Direct and group conversations and their membership.

use serde::{Deserialize, Serialize};

use crate::{ConversationId, Message, Seq, Timestamp, User, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// Exactly two users; there is at most one per pair.
    Direct,
    /// A named group; its owner adds and removes members, anyone can leave.
    Group,
}

/// `POST /api/conversations`. A direct conversation that already exists is returned as is
/// (status 200 instead of 201).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CreateConversationRequest {
    Direct {
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        user_id: UserId,
    },
    Group {
        /// 1 to 64 characters after trimming, no control characters.
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
        name: String,
        /// The other members; duplicates and my own id are ignored. A group has at most 256
        /// members, creator included.
        #[cfg_attr(
            feature = "openapi",
            schema(value_type = Vec<String>, format = Uuid, max_items = 256)
        )]
        member_ids: Vec<UserId>,
    },
}

/// `POST /api/conversations/{id}/members` (owner only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddMembersRequest {
    /// 1 to 256 users; the group still has at most 256 members afterwards.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Vec<String>, format = Uuid, min_items = 1, max_items = 256)
    )]
    pub user_ids: Vec<UserId>,
}

/// `PATCH /api/conversations/{id}` (group owner only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RenameConversationRequest {
    /// 1 to 64 characters after trimming, no control characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
}

/// A conversation as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ConversationId,
    pub kind: ConversationKind,
    /// Group name; absent for direct conversations (show the other member's name).
    pub name: Option<String>,
    /// The group member who may add and remove members; absent for direct conversations.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub owner_id: Option<UserId>,
    pub members: Vec<User>,
    pub created_at: Timestamp,
    /// Time of the last message (or of creation), the order of the conversation list.
    pub last_activity_at: Timestamp,
    /// Sequence number of the latest durable change: a cursor to resume from.
    pub last_seq: Seq,
    pub last_message: Option<Message>,
    /// Messages from others after my read position that are not deleted.
    pub unread_count: i64,
    /// `seq` of the last message I have read.
    pub read_seq: Seq,
    /// How far each current member has read (me included), so a new device can show read
    /// ticks at once; later changes come as `read_receipt` events.
    #[serde(default)]
    pub read_positions: Vec<ReadPosition>,
    /// I muted this conversation (`PUT /api/conversations/{id}/mute`): my devices do not
    /// notify of its messages, except those that mention me. Mine alone; others are not told.
    #[serde(default)]
    pub muted: bool,
}

/// A member's read position in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadPosition {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub user_id: UserId,
    /// `seq` of the last message this member has read.
    pub read_seq: Seq,
}

/// `GET /api/conversations`: all my conversations, most recent activity first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationList {
    pub conversations: Vec<Conversation>,
}
