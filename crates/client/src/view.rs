//! What the user sees: conversations and messages as the app and the CLI show them, derived
//! from the cache. Every rule of presentation that is not layout lives here (titles, who is
//! online, unread counts, message states), so the webview only renders.
//! The shapes are those of docs/desktop-ipc.md.

use std::collections::{BTreeMap, HashMap, HashSet};

use natter_protocol::{
    CallEndReason, CallKind, CallRecord, ClientMessageId, Conversation, ConversationId,
    ConversationKind, Message, MessageId, Seq, Timestamp, User, UserId,
};
use serde::Serialize;

use crate::cache::OutboxEntry;

/// sending: in the outbox (on disk, sent in order when the server is reachable); sent: stored
/// by the server; read: every other member has read it; failed: the server refused it for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// In the outbox: on disk, sent in order when the server is reachable.
    Sending,
    /// Stored by the server.
    Sent,
    /// Every other member has read it.
    Read,
    /// The server refused it for good.
    Failed,
}

/// A message as shown; a pending one too (match them by `client_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct MessageView {
    /// Stable key of a message, also while it is pending.
    pub client_id: ClientMessageId,
    /// Null while pending.
    pub id: Option<MessageId>,
    pub conversation_id: ConversationId,
    /// Null while pending; the conversation's order.
    pub seq: Option<Seq>,
    pub sender_id: UserId,
    pub sender_name: String,
    /// Empty when deleted.
    pub body: String,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
    pub mine: bool,
    pub state: MessageState,
    /// Why the server refused it, when `failed` (it will not be retried).
    pub error: Option<String>,
    /// Set for the record of a call; `body` then describes it ("Missed video call").
    pub call: Option<CallRecord>,
    /// The message this one answers, as its quote shows it.
    pub reply_to: Option<ReplyQuote>,
    /// Emoji reactions in the order they were first used.
    pub reactions: Vec<ReactionView>,
    /// `@username`s of members in the text, lower case, for the page to highlight.
    pub mentioned_usernames: Vec<String>,
    /// The text mentions me: notify even when the conversation is muted.
    pub mentions_me: bool,
    /// Files and pictures, in the order sent.
    pub attachments: Vec<natter_protocol::Attachment>,
    /// While pending: the files being uploaded with it.
    pub pending_files: Vec<PendingFileView>,
}

/// A file of a message still in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct PendingFileView {
    pub name: String,
    #[cfg_attr(feature = "typescript", ts(type = "number"))]
    pub size: u64,
    /// Uploaded already (progress comes as `file_progress` events meanwhile).
    pub uploaded: bool,
}

/// The message a reply answers, as the reply's quote shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct ReplyQuote {
    pub message_id: MessageId,
    /// Where the original is in the conversation (to jump to it); null when it could not be
    /// loaded (offline): show "Original message unavailable".
    pub seq: Option<Seq>,
    pub sender_name: String,
    /// The start of its text on one line (at most 140 characters), or the call it records;
    /// empty when deleted.
    pub excerpt: String,
    pub deleted: bool,
}

/// One emoji's reactions to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct ReactionView {
    pub emoji: String,
    pub count: u32,
    /// I reacted with it (clicking it takes mine back).
    pub mine: bool,
    /// Who reacted, oldest first, as names to show on hover.
    pub names: Vec<String>,
}

/// Characters of a reply's quote.
pub const QUOTE_MAX_CHARS: usize = 140;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct ConversationView {
    pub id: ConversationId,
    pub kind: ConversationKind,
    /// The group's name, or the other member's display name.
    pub title: String,
    /// The other member's avatar in a direct conversation.
    pub avatar_url: Option<String>,
    /// The other member in a direct conversation.
    pub peer_id: Option<UserId>,
    /// Direct: the other member is online; group: anyone else is.
    pub online: bool,
    pub members: Vec<User>,
    pub owner_id: Option<UserId>,
    pub last_message: Option<MessageView>,
    pub last_activity_at: Timestamp,
    pub unread_count: i64,
    /// I muted it: no notifications except for messages that mention me.
    pub muted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct MessagePageView {
    /// Oldest first.
    pub messages: Vec<MessageView>,
    pub has_more: bool,
}

/// Everything besides a conversation that its view depends on.
pub struct Context<'a> {
    pub me: &'a User,
    pub online: &'a HashSet<UserId>,
    pub receipts: &'a BTreeMap<UserId, Seq>,
    /// The originals of the replies being shown, as far as they could be loaded.
    pub originals: &'a HashMap<MessageId, Message>,
}

/// Whether a new message should be announced (notification, sound) on my devices: from
/// someone else, and either the conversation is not muted or the message mentions me.
pub fn alerts(message: &Message, conversation: &Conversation, me: UserId) -> bool {
    message.sender_id != me
        && message.deleted_at.is_none()
        && (!conversation.muted || message.mentions.contains(&me))
}

fn quote(reply_to: MessageId, conversation: &Conversation, context: &Context<'_>) -> ReplyQuote {
    let Some(original) = context.originals.get(&reply_to) else {
        return ReplyQuote {
            message_id: reply_to,
            seq: None,
            sender_name: String::new(),
            excerpt: String::new(),
            deleted: false,
        };
    };
    let text = match &original.call {
        Some(call) => call_summary(call, context.me.id),
        None => original.body.clone(),
    };
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut excerpt: String = one_line.chars().take(QUOTE_MAX_CHARS).collect();
    if one_line.chars().count() > QUOTE_MAX_CHARS {
        excerpt.push('…');
    }
    let deleted = original.deleted_at.is_some();
    ReplyQuote {
        message_id: reply_to,
        seq: Some(original.seq),
        sender_name: sender_name(conversation, original.sender_id, context.me),
        excerpt: if deleted { String::new() } else { excerpt },
        deleted,
    }
}

/// The seq up to which every other member has read (0 when unknown).
pub fn read_by_all_up_to(conversation: &Conversation, context: &Context<'_>) -> Seq {
    conversation
        .members
        .iter()
        .filter(|member| member.id != context.me.id)
        .map(|member| context.receipts.get(&member.id).copied().unwrap_or(0))
        .min()
        .unwrap_or(0)
}

fn sender_name(conversation: &Conversation, sender_id: UserId, me: &User) -> String {
    if sender_id == me.id {
        return me.display_name.clone();
    }
    conversation
        .members
        .iter()
        .find(|member| member.id == sender_id)
        .map(|member| member.display_name.clone())
        .unwrap_or_else(|| "Former member".to_owned())
}

pub fn message_view(
    message: &Message,
    conversation: &Conversation,
    context: &Context<'_>,
    read_up_to: Seq,
) -> MessageView {
    let mine = message.sender_id == context.me.id;
    let state = if mine && message.deleted_at.is_none() && read_up_to >= message.seq {
        MessageState::Read
    } else {
        MessageState::Sent
    };
    MessageView {
        client_id: message.client_id,
        id: Some(message.id),
        conversation_id: message.conversation_id,
        seq: Some(message.seq),
        sender_id: message.sender_id,
        sender_name: sender_name(conversation, message.sender_id, context.me),
        body: match (&message.call, message.deleted_at) {
            (Some(call), None) => call_summary(call, context.me.id),
            _ => message.body.clone(),
        },
        created_at: message.created_at,
        edited_at: message.edited_at,
        deleted_at: message.deleted_at,
        mine,
        state,
        error: None,
        call: message.call,
        reply_to: message
            .reply_to
            .map(|original| quote(original, conversation, context)),
        reactions: message
            .reactions
            .iter()
            .map(|reaction| ReactionView {
                emoji: reaction.emoji.clone(),
                count: u32::try_from(reaction.user_ids.len()).unwrap_or(u32::MAX),
                mine: reaction.user_ids.contains(&context.me.id),
                names: reaction
                    .user_ids
                    .iter()
                    .map(|id| sender_name(conversation, *id, context.me))
                    .collect(),
            })
            .collect(),
        mentioned_usernames: message
            .mentions
            .iter()
            .filter_map(|id| {
                (*id == context.me.id)
                    .then(|| context.me.username.clone())
                    .or_else(|| {
                        conversation
                            .members
                            .iter()
                            .find(|member| member.id == *id)
                            .map(|member| member.username.clone())
                    })
            })
            .collect(),
        mentions_me: message.mentions.contains(&context.me.id),
        attachments: message.attachments.clone(),
        pending_files: Vec::new(),
    }
}

/// A call's length as people read it: "0:42", "3:02", "1:00:05".
pub fn talk_time(duration_ms: i64) -> String {
    let talk = duration_ms.max(0) / 1000;
    if talk >= 3600 {
        format!("{}:{:02}:{:02}", talk / 3600, talk / 60 % 60, talk % 60)
    } else {
        format!("{}:{:02}", talk / 60, talk % 60)
    }
}

/// How a call reads in a conversation, from `me`'s side: "Missed video call",
/// "Outgoing voice call · 3:02", "Declined video call".
pub fn call_summary(call: &CallRecord, me: UserId) -> String {
    let kind = match call.kind {
        CallKind::Voice => "voice call",
        CallKind::Video => "video call",
    };
    let outgoing = call.caller_id == me;
    let duration = talk_time(call.duration_ms);
    match call.end_reason {
        CallEndReason::Completed | CallEndReason::Failed if call.answered_at.is_some() => {
            let direction = if outgoing { "Outgoing" } else { "Incoming" };
            format!("{direction} {kind} · {duration}")
        }
        _ if outgoing => match call.end_reason {
            CallEndReason::Declined => format!("Declined {kind}"),
            CallEndReason::Busy => format!("Unanswered {kind} (busy)"),
            CallEndReason::Cancelled => format!("Cancelled {kind}"),
            _ => format!("Unanswered {kind}"),
        },
        CallEndReason::Declined => format!("Declined {kind}"),
        _ if call.end_reason.missed_by_callee() => format!("Missed {kind}"),
        _ => format!("Failed {kind}"),
    }
}

/// A message still in the outbox.
pub fn pending_view(entry: &OutboxEntry, me: &User) -> MessageView {
    MessageView {
        client_id: entry.message.client_id,
        id: None,
        conversation_id: entry.message.conversation_id,
        seq: None,
        sender_id: me.id,
        sender_name: me.display_name.clone(),
        body: entry.message.body.clone(),
        created_at: entry.created_at,
        edited_at: None,
        deleted_at: None,
        mine: true,
        state: if entry.failed.is_some() {
            MessageState::Failed
        } else {
            MessageState::Sending
        },
        error: entry.failed.clone(),
        call: None,
        reply_to: entry.message.reply_to.map(|message_id| ReplyQuote {
            message_id,
            seq: None,
            sender_name: String::new(),
            excerpt: String::new(),
            deleted: false,
        }),
        reactions: Vec::new(),
        mentioned_usernames: Vec::new(),
        mentions_me: false,
        attachments: Vec::new(),
        pending_files: entry
            .message
            .files
            .iter()
            .map(|file| PendingFileView {
                name: file.name.clone(),
                size: file.size,
                uploaded: file.attachment.is_some(),
            })
            .collect(),
    }
}

pub fn conversation_view(conversation: &Conversation, context: &Context<'_>) -> ConversationView {
    let others: Vec<&User> = conversation
        .members
        .iter()
        .filter(|member| member.id != context.me.id)
        .collect();
    let peer = match conversation.kind {
        ConversationKind::Direct => others.first().copied(),
        ConversationKind::Group => None,
    };
    let title = match (&conversation.name, peer) {
        (Some(name), _) => name.clone(),
        (None, Some(peer)) => peer.display_name.clone(),
        (None, None) => "Conversation".to_owned(),
    };
    let read_up_to = read_by_all_up_to(conversation, context);
    ConversationView {
        id: conversation.id,
        kind: conversation.kind,
        title,
        avatar_url: peer.and_then(|peer| peer.avatar_url.clone()),
        peer_id: peer.map(|peer| peer.id),
        online: others
            .iter()
            .any(|member| context.online.contains(&member.id)),
        members: conversation.members.clone(),
        owner_id: conversation.owner_id,
        last_message: conversation
            .last_message
            .as_ref()
            .map(|message| message_view(message, conversation, context, read_up_to)),
        last_activity_at: conversation.last_activity_at,
        unread_count: conversation.unread_count,
        muted: conversation.muted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    const ME: UserId = Uuid::from_u128(1);
    const BOB: UserId = Uuid::from_u128(2);

    fn call(caller_id: UserId, end_reason: CallEndReason, talk_ms: Option<i64>) -> CallRecord {
        CallRecord {
            call_id: Uuid::from_u128(9),
            caller_id,
            callee_id: if caller_id == ME { BOB } else { ME },
            kind: CallKind::Video,
            started_at: 0,
            answered_at: talk_ms.map(|_| 1_000),
            ended_at: 1_000 + talk_ms.unwrap_or(0),
            duration_ms: talk_ms.unwrap_or(0),
            end_reason,
            conversation_id: None,
        }
    }

    #[test]
    fn a_call_reads_from_my_side() {
        let cases = [
            (call(BOB, CallEndReason::Missed, None), "Missed video call"),
            (
                call(BOB, CallEndReason::Cancelled, None),
                "Missed video call",
            ),
            (call(BOB, CallEndReason::Busy, None), "Missed video call"),
            (
                call(ME, CallEndReason::Missed, None),
                "Unanswered video call",
            ),
            (
                call(ME, CallEndReason::Declined, None),
                "Declined video call",
            ),
            (
                call(BOB, CallEndReason::Declined, None),
                "Declined video call",
            ),
            (
                call(ME, CallEndReason::Completed, Some(182_400)),
                "Outgoing video call · 3:02",
            ),
            (
                call(BOB, CallEndReason::Failed, Some(3_725_000)),
                "Incoming video call · 1:02:05",
            ),
        ];
        for (record, expected) in cases {
            assert_eq!(call_summary(&record, ME), expected, "{record:?}");
        }
    }
}
