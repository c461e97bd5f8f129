//! Calls: what a call is, how it ended, and the signaling a call's two devices exchange through
//! the server. (The frames that carry these on the WebSocket come with the call signaling.)

use serde::{Deserialize, Serialize};

/// Identifier of a call, chosen by the caller's device (so a retried invite is recognised).
pub type CallId = uuid::Uuid;

/// What the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Voice,
    Video,
}

/// Why a call ended, as recorded in the call history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
