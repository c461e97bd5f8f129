//! What the user sees: conversations and messages as the app and the CLI show them, derived
//! from the cache. Every rule of presentation that is not layout lives here (titles, who is
//! online, unread counts, message states), so the webview only renders.
//! The shapes are those of docs/desktop-ipc.md.

use std::collections::{BTreeMap, HashSet};

use natter_protocol::{
    ClientMessageId, Conversation, ConversationId, ConversationKind, Message, MessageId, Seq,
    Timestamp, User, UserId,
};
use serde::Serialize;

use crate::cache::OutboxEntry;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageView {
    pub client_id: ClientMessageId,
    pub id: Option<MessageId>,
    pub conversation_id: ConversationId,
    pub seq: Option<Seq>,
    pub sender_id: UserId,
    pub sender_name: String,
    pub body: String,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
    pub mine: bool,
    pub state: MessageState,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationView {
    pub id: ConversationId,
    pub kind: ConversationKind,
    pub title: String,
    pub avatar_url: Option<String>,
    pub peer_id: Option<UserId>,
    pub online: bool,
    pub members: Vec<User>,
    pub owner_id: Option<UserId>,
    pub last_message: Option<MessageView>,
    pub last_activity_at: Timestamp,
    pub unread_count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
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
        body: message.body.clone(),
        created_at: message.created_at,
        edited_at: message.edited_at,
        deleted_at: message.deleted_at,
        mine,
        state,
        error: None,
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
    }
}
