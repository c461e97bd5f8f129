//! The realtime WebSocket at `GET /api/ws`: frames in both directions and the durable events.
//!
//! The session: the client opens the socket (optionally with `Authorization: Bearer`), sends
//! [`ClientFrame::Hello`] with its token and its cursors, and receives [`ServerFrame::Ready`]
//! followed by every durable event it missed, then live events as they happen. Every durable
//! event carries `(conversation_id, seq)`; per conversation the server delivers them in order,
//! without gaps and without repeats, counted from the cursor in `hello`. Typing and presence are
//! not durable: they are delivered live only.
//!
//! The server pings every `heartbeat_interval_ms` and closes a connection that has not answered
//! for three intervals. A client that cannot keep up is disconnected (close code 4008) and
//! resumes from its cursors when it reconnects.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    CallEndReason, CallId, CallInfo, CallKind, CallSignal, ConversationId, Message, MessageId, Seq,
    SessionId, Timestamp, UserId,
};

/// WebSocket close codes the server uses, besides the standard 1000 and 1001 (shutting down).
pub mod close_code {
    /// The session token was missing, invalid or has been revoked.
    pub const UNAUTHORIZED: u16 = 4001;
    /// The first frame was not a valid `hello`, or a frame broke the protocol.
    pub const PROTOCOL_ERROR: u16 = 4002;
    /// The client did not read fast enough; reconnect and resume from your cursors.
    pub const TOO_SLOW: u16 = 4008;
    /// The client answered no ping for three heartbeat intervals.
    pub const HEARTBEAT_TIMEOUT: u16 = 4009;
}

/// Frames a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Must be the first frame, within 10 seconds of connecting.
    Hello {
        /// The session token; may be left out when the upgrade request carried it in an
        /// `Authorization: Bearer` header.
        #[serde(default)]
        token: Option<String>,
        /// The highest `seq` seen per conversation. For a conversation left out, the server
        /// sends everything since the client's user joined it.
        #[serde(default)]
        cursors: BTreeMap<ConversationId, Seq>,
    },
    /// I am typing in this conversation; repeat every few seconds while typing continues.
    Typing { conversation_id: ConversationId },
    /// Call a user I share a conversation with. `call_id` is a fresh UUID chosen by this
    /// device. Answered by `call_ringing`, `call_merged` (glare), `call_ended` (busy) or
    /// `call_error`.
    CallInvite {
        call_id: CallId,
        callee_id: UserId,
        kind: CallKind,
    },
    /// Take a call ringing on this device. The first device to accept wins.
    CallAccept { call_id: CallId },
    /// Refuse a call ringing on any of my devices.
    CallDecline { call_id: CallId },
    /// Cancel my call while it rings, or hang up an answered call.
    CallHangup { call_id: CallId },
    /// SDP or ICE for the other device of an answered call.
    CallSignal { call_id: CallId, signal: CallSignal },
    /// My microphone or camera changed; the other device is told.
    CallMedia {
        call_id: CallId,
        muted: bool,
        camera_on: bool,
    },
    /// My media could not be (re)established; ends the call as `failed`.
    CallFailed { call_id: CallId },
}

/// Frames the server sends.
// A frame is parsed, handled and dropped one at a time, never kept in bulk: boxing the event
// would cost an allocation per frame to save stack space nobody holds.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Answer to `hello`: the session is live. The backlog follows.
    Ready {
        user_id: UserId,
        session_id: SessionId,
        heartbeat_interval_ms: u64,
        /// Users sharing a conversation with me who are online right now.
        online_user_ids: Vec<UserId>,
    },
    /// A durable change in a conversation.
    Event(Event),
    /// Someone is typing; show it for `expires_in_ms` unless renewed.
    Typing {
        conversation_id: ConversationId,
        user_id: UserId,
        expires_in_ms: i64,
    },
    /// A user sharing a conversation with me came online or went offline.
    Presence {
        user_id: UserId,
        online: bool,
        last_seen_at: Option<Timestamp>,
    },
    /// Too much was missed in this conversation to replay: reload it through the REST API
    /// (conversation and message history) and continue from `last_seq`.
    Resync {
        conversation_id: ConversationId,
        last_seq: Seq,
    },
    /// A frame from the client was refused; the connection stays open.
    Error {
        code: crate::ErrorCode,
        message: String,
    },
    /// Someone is calling me: ring on this device until `call_answered_elsewhere`,
    /// `call_ended`, or my own accept or decline.
    CallIncoming { call: CallInfo },
    /// My invite rings on the callee's devices.
    CallRinging { call: CallInfo },
    /// Glare: my invite `requested_call_id` crossed the callee's call to me; the server took it
    /// as my device accepting `call`. Continue as the callee of `call`.
    CallMerged {
        requested_call_id: CallId,
        call: CallInfo,
    },
    /// To the caller's device: the callee's device `by_session_id` answered; send it the offer.
    /// To the answering device (after its own `call_accept`, or `call_merged`): wait for the offer.
    CallAccepted {
        call_id: CallId,
        by_session_id: SessionId,
    },
    /// Another of my devices took the call: stop ringing.
    CallAnsweredElsewhere { call_id: CallId },
    /// SDP or ICE from the other device of my call; `from_user_id` is set by the server.
    CallSignal {
        call_id: CallId,
        from_user_id: UserId,
        signal: CallSignal,
    },
    /// The other side's microphone or camera changed.
    CallMedia {
        call_id: CallId,
        from_user_id: UserId,
        muted: bool,
        camera_on: bool,
    },
    /// The call is over, for the reason given; the history records it.
    CallEnded {
        call_id: CallId,
        reason: CallEndReason,
    },
    /// I muted or unmuted a conversation (on any of my devices); sent to my sessions only.
    ConversationMuted {
        conversation_id: ConversationId,
        muted: bool,
    },
    /// A `call_*` frame of mine was refused: `not_found` for a call I may not act on (or a user
    /// I may not call), `conflict` when I am already in a call or it was answered already.
    CallError {
        call_id: CallId,
        code: crate::ErrorCode,
        message: String,
    },
}

/// A durable change, numbered within its conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub conversation_id: ConversationId,
    pub seq: Seq,
    pub at: Timestamp,
    #[serde(flatten)]
    pub body: EventBody,
}

/// What changed. The `kind` field names the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    /// The conversation was created (always `seq` 1).
    ConversationCreated {
        created_by: UserId,
        name: Option<String>,
        member_ids: Vec<UserId>,
    },
    MessageCreated {
        message: Message,
    },
    /// The message's new text; `edited_at` is set.
    MessageEdited {
        message: Message,
    },
    /// The message is now a tombstone.
    MessageDeleted {
        message: Message,
    },
    /// `user_id` has read up to and including `read_seq`.
    ReadReceipt {
        user_id: UserId,
        read_seq: Seq,
    },
    /// Users joined (added by the owner). A newly added user fetches the conversation with
    /// `GET /api/conversations/{id}`.
    MembersAdded {
        added_by: UserId,
        user_ids: Vec<UserId>,
    },
    /// A user left (`removed_by` is the user) or was removed by the owner. The removed user
    /// receives this event and nothing after it.
    MemberRemoved {
        user_id: UserId,
        removed_by: UserId,
    },
    /// Ownership passed on because the owner left.
    OwnerChanged {
        owner_id: UserId,
    },
    ConversationRenamed {
        name: String,
    },
    /// `user_id` reacted to the message with `emoji` (once per user and emoji).
    ReactionAdded {
        message_id: MessageId,
        user_id: UserId,
        emoji: String,
    },
    /// `user_id` took back their `emoji` reaction to the message.
    ReactionRemoved {
        message_id: MessageId,
        user_id: UserId,
        emoji: String,
    },
    /// A kind this client does not know (from a newer server): skip it; its `seq` still counts
    /// for the cursor. Never sent by the server as such.
    #[serde(other)]
    Unknown,
}
