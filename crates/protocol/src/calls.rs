//! Calls: what a call is, how it ended, the signaling a call's two devices exchange through the
//! server, and the call history. The WebSocket frames that carry calls are `call_*` in
//! [`crate::ClientFrame`] and [`crate::ServerFrame`].

use serde::{Deserialize, Serialize};

use crate::{ConversationId, Timestamp, UserId};

/// Identifier of a call, chosen by the caller's device (so a retried invite is recognised).
pub type CallId = uuid::Uuid;

/// What the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Voice,
    Video,
}

/// A call as its participants are told of it when it starts ringing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallInfo {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub call_id: CallId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub caller_id: UserId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub callee_id: UserId,
    pub kind: CallKind,
    pub started_at: Timestamp,
}

/// Why a call ended, as recorded in the call history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallEndReason {
    /// It was answered and then hung up by either side.
    Completed,
    /// Nobody answered before the ring timeout.
    Missed,
    /// The callee declined.
    Declined,
    /// The callee was already in a call.
    Busy,
    /// The caller hung up before it was answered.
    Cancelled,
    /// A device reported a failure or lost its connection to the server for too long.
    Failed,
}

impl CallEndReason {
    /// The name it has on the wire (and in the server's database).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Missed => "missed",
            Self::Declined => "declined",
            Self::Busy => "busy",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    /// The callee never picked up: shown to the callee as a missed call, and counted as
    /// unread in the conversation until read.
    pub fn missed_by_callee(self) -> bool {
        matches!(self, Self::Missed | Self::Busy | Self::Cancelled)
    }
}

/// One entry of the call history (`GET /api/calls`), also carried by the message that records
/// the call in the two users' direct conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallRecord {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub call_id: CallId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub caller_id: UserId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub callee_id: UserId,
    pub kind: CallKind,
    /// When the caller's invite reached the server.
    pub started_at: Timestamp,
    /// When the callee accepted; `null` if it was never answered.
    pub answered_at: Option<Timestamp>,
    pub ended_at: Timestamp,
    /// Talk time, from answer to end; 0 for a call never answered.
    pub duration_ms: i64,
    pub end_reason: CallEndReason,
    /// The callers' direct conversation, where the call is also recorded as a message.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub conversation_id: Option<ConversationId>,
}

/// `GET /api/calls?before=…&limit=…`: my calls, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallHistory {
    pub calls: Vec<CallRecord>,
    /// True when older calls exist: ask again with `before` = the last call's `started_at`.
    pub has_more: bool,
}

/// Session description and ICE messages between the two devices of a call; the server forwards
/// them without reading them, stamped with the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallSignal {
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    IceCandidate {
        candidate: String,
        sdp_mid: Option<String>,
        sdp_mline_index: Option<u16>,
    },
    /// The sender has gathered all its candidates.
    EndOfCandidates,
}

/// One entry of a WebRTC `iceServers` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IceServer {
    /// `stun:host:port` or `turn:host:port?transport=udp` (or `turns:` for TLS).
    pub urls: Vec<String>,
    /// TURN only: `<expiry unix seconds>:<user id>` (the TURN REST API scheme).
    pub username: Option<String>,
    /// TURN only: base64(HMAC-SHA1(shared secret, username)).
    pub credential: Option<String>,
}

/// `GET /api/calls/ice-servers`: where a call's devices find each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IceServers {
    pub ice_servers: Vec<IceServer>,
    /// When the TURN credentials stop working (fetch new ones before a call after that);
    /// `null` when no TURN server is offered.
    pub expires_at: Option<crate::Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::CallEndReason;

    #[test]
    fn an_end_reasons_name_is_its_wire_name() {
        for reason in [
            CallEndReason::Completed,
            CallEndReason::Missed,
            CallEndReason::Declined,
            CallEndReason::Busy,
            CallEndReason::Cancelled,
            CallEndReason::Failed,
        ] {
            assert_eq!(
                serde_json::to_value(reason).ok(),
                Some(serde_json::Value::from(reason.as_str()))
            );
        }
    }
}
