//! Messages, history, receipts, typing and search.

use serde::{Deserialize, Serialize};

use crate::{ClientMessageId, ConversationId, MessageId, Seq, Timestamp, UserId};

/// `POST /api/conversations/{id}/messages`. Sending the same `client_id` again returns the
/// message stored the first time (status 200 instead of 201).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub client_id: ClientMessageId,
    /// 1 to 4000 characters and at most 16 KiB of UTF-8 (longer: 413), not blank, no control
    /// characters except newline and tab (CR LF and lone CR are stored as LF); not trimmed.
    /// Empty (or left out) for a message of attachments alone.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub body: String,
    /// Finished uploads of mine to attach, in order (at most 10), each attached to no other
    /// message.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, format = Uuid, max_items = 10))]
    pub attachments: Vec<crate::AttachmentId>,
    /// The message this one answers: a message of the same conversation that I can see
    /// (deleted or not). Left out or `null` for a message that answers nothing.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub reply_to: Option<MessageId>,
}

/// `PATCH /api/conversations/{id}/messages/{message_id}` (sender only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EditMessageRequest {
    /// The rules of `SendMessageRequest.body`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4000))]
    pub body: String,
}

/// A message. A deleted message stays as a tombstone: `deleted_at` is set and `body` is empty.
/// A call between the two users of a direct conversation is recorded there as a message from
/// the caller with an empty `body` and the call in `call`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: MessageId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub conversation_id: ConversationId,
    /// The `seq` at which the message was created; its position in the conversation.
    pub seq: Seq,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub sender_id: UserId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub client_id: ClientMessageId,
    pub body: String,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
    /// Set on the message that records a call; `null` on every other message. (`default`:
    /// events stored before this field was always written leave it out.)
    #[serde(default)]
    pub call: Option<crate::CallRecord>,
    /// The message this one answers, in the same conversation; `null` when it answers nothing.
    /// Fetch it with `GET /api/conversations/{id}/messages/{message_id}` when it is not at
    /// hand; it may have been deleted since.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub reply_to: Option<MessageId>,
    /// Members named in `body` as `@username` when it was sent or last edited, once each, in
    /// order of first mention (outside code). Empty for a tombstone.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, format = Uuid))]
    pub mentions: Vec<UserId>,
    /// Emoji reactions, one entry per emoji in the order the emoji was first used, each with
    /// the users who reacted with it (oldest first). Empty for a tombstone.
    #[serde(default)]
    pub reactions: Vec<Reaction>,
    /// Files and pictures, in the order sent. Empty for a tombstone (deleting a message deletes
    /// its files).
    #[serde(default)]
    pub attachments: Vec<crate::Attachment>,
}

/// Users who reacted to a message with one emoji; the count is `user_ids.len()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reaction {
    /// One emoji as Unicode defines it (skin tones included), e.g. `"👍"` or `"👍🏽"`.
    pub emoji: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, format = Uuid))]
    pub user_ids: Vec<UserId>,
}

impl Message {
    /// Whether this message counts as unread for `reader` once past their read position:
    /// messages from others, not deleted, and of call records only the calls they missed.
    pub fn counts_as_unread_for(&self, reader: UserId) -> bool {
        self.deleted_at.is_none() && self.would_be_unread_for(reader)
    }

    /// Applies a `reaction_added` (`added`) or `reaction_removed` event to `reactions`
    /// (protocol 4.4): a user is in an emoji's list once, a new emoji goes last, an emoji
    /// nobody uses any more goes away. Applying the same change twice changes nothing.
    pub fn apply_reaction(&mut self, user_id: UserId, emoji: &str, added: bool) {
        let entry = self
            .reactions
            .iter_mut()
            .position(|reaction| reaction.emoji == emoji);
        match (entry, added) {
            (Some(index), true) => {
                let users = &mut self.reactions[index].user_ids;
                if !users.contains(&user_id) {
                    users.push(user_id);
                }
            }
            (None, true) => self.reactions.push(Reaction {
                emoji: emoji.to_owned(),
                user_ids: vec![user_id],
            }),
            (Some(index), false) => {
                self.reactions[index].user_ids.retain(|id| *id != user_id);
                if self.reactions[index].user_ids.is_empty() {
                    self.reactions.remove(index);
                }
            }
            (None, false) => {}
        }
    }

    /// The same rule, ignoring deletion: whether this message counted as unread before it was
    /// deleted (a client lowers its count when an unread message is deleted).
    pub fn would_be_unread_for(&self, reader: UserId) -> bool {
        self.sender_id != reader
            && self
                .call
                .is_none_or(|call| call.end_reason.missed_by_callee())
    }
}

/// `GET /api/conversations/{id}/messages?before=…|after=…&limit=…`. Messages come oldest
/// first. Without `before` or `after` the newest page is returned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePage {
    pub messages: Vec<Message>,
    /// True when there are more messages in the direction asked (older for `before` and for
    /// the newest page, newer for `after`).
    pub has_more: bool,
}

/// `POST /api/conversations/{id}/read`: I have read up to and including this message.
/// The read position never moves backwards.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MarkReadRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub message_id: MessageId,
}

/// Answer to `POST /api/conversations/{id}/read`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadState {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub conversation_id: ConversationId,
    pub read_seq: Seq,
    pub unread_count: i64,
}

/// One result of `GET /api/search/messages?query=…`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchResults {
    /// Matching messages, newest first.
    pub messages: Vec<Message>,
    /// Pass as `cursor` to get older matches; absent on the last page.
    pub next_cursor: Option<String>,
}
