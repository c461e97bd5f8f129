//! The call as the page is shown it (`natter://call`, docs/desktop-ipc.md): the client core's
//! view with the peer's name and picture, the call timer's start, the ending said from this
//! device's side, and the media figures with a quality verdict.

use natter_client::{
    call_machine::{CallView, Direction, Ending},
    call_shell::CallStatsView,
    view::talk_time,
};
use natter_protocol::{CallEndReason, ConversationId};
use serde::Serialize;

/// The call as the page shows it (event `natter://call`, command `current_call`).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CallScreenView {
    /// The call as the client core sees it.
    #[serde(flatten)]
    pub call: CallView,
    /// The other user's display name.
    pub peer_name: String,
    /// For the `avatar` command.
    pub peer_avatar_url: Option<String>,
    /// Our direct conversation, when known.
    pub conversation_id: Option<ConversationId>,
    /// When media first connected (ms since the Unix epoch): the call timer counts from here.
    pub connected_at: Option<i64>,
    /// Set when the phase is `ended`: what to tell the user ("Call ended · 3:02", "No answer",
    /// "Declined", "Busy", "Answered on another device", "Call failed", …).
    pub ended_text: Option<String>,
}

/// The media figures with a verdict for the quality indicator, every second while the call has
/// media.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CallStatsScreenView {
    #[serde(flatten)]
    pub stats: CallStatsView,
    pub quality: CallQuality,
}

/// Decided in Rust from round-trip time and loss ([`quality`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum CallQuality {
    Good,
    Fair,
    Poor,
}

/// Good below 150 ms round trip and 2 % loss (a conversation flows); poor beyond 400 ms or
/// 8 % (people talk over each other, video freezes); fair between.
pub fn quality(stats: &CallStatsView) -> CallQuality {
    let rtt = stats.rtt_ms.unwrap_or(0.0);
    let loss = stats.loss_fraction;
    if rtt > 400.0 || loss > 0.08 {
        CallQuality::Poor
    } else if rtt > 150.0 || loss > 0.02 {
        CallQuality::Fair
    } else {
        CallQuality::Good
    }
}

/// What the user is told when the call is over, from this device's side.
pub fn ended_text(ending: Option<&Ending>, direction: Direction, talk_ms: Option<i64>) -> String {
    let outgoing = direction == Direction::Outgoing;
    match ending {
        Some(Ending::Ended { reason }) => match reason {
            CallEndReason::Completed => match talk_ms {
                Some(ms) => format!("Call ended · {}", talk_time(ms)),
                None => "Call ended".to_owned(),
            },
            CallEndReason::Missed if outgoing => "No answer".to_owned(),
            CallEndReason::Missed => "Missed call".to_owned(),
            CallEndReason::Declined if outgoing => "Declined".to_owned(),
            CallEndReason::Declined => "Call declined".to_owned(),
            CallEndReason::Busy => "Busy".to_owned(),
            CallEndReason::Cancelled if outgoing => "Call cancelled".to_owned(),
            CallEndReason::Cancelled => "Missed call".to_owned(),
            CallEndReason::Failed => "Call failed".to_owned(),
        },
        Some(Ending::AnsweredElsewhere) => "Answered on another device".to_owned(),
        Some(Ending::Refused { message }) => message.clone(),
        Some(Ending::TimedOut) => "The call could not connect".to_owned(),
        Some(Ending::ServerLost) => "Connection to the server lost".to_owned(),
        None => "Call ended".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use natter_protocol::CallId;

    use super::*;

    fn stats(rtt_ms: Option<f64>, loss_fraction: f64) -> CallStatsView {
        CallStatsView {
            call_id: CallId::nil(),
            rtt_ms,
            loss_fraction,
            packets_lost: 0,
            sent_bitrate_bps: 0,
            received_bitrate_bps: 0,
            target_bitrate_bps: 0,
            video_bitrate_bps: 0,
            frames_sent: 0,
            frames_decoded: 0,
            decoded_frame_rate: 0.0,
            remote_width: None,
            remote_height: None,
            keyframes_requested: 0,
            ice_restarts: 0,
            local_candidate_type: None,
        }
    }

    #[test]
    fn quality_follows_round_trip_and_loss() {
        assert_eq!(quality(&stats(Some(20.0), 0.0)), CallQuality::Good);
        assert_eq!(quality(&stats(None, 0.0)), CallQuality::Good);
        assert_eq!(quality(&stats(Some(200.0), 0.0)), CallQuality::Fair);
        assert_eq!(quality(&stats(Some(20.0), 0.05)), CallQuality::Fair);
        assert_eq!(quality(&stats(Some(500.0), 0.0)), CallQuality::Poor);
        assert_eq!(quality(&stats(Some(20.0), 0.1)), CallQuality::Poor);
    }

    #[test]
    fn endings_read_from_my_side() {
        let ended = |reason| Some(Ending::Ended { reason });
        let out = Direction::Outgoing;
        let inc = Direction::Incoming;
        assert_eq!(
            ended_text(ended(CallEndReason::Completed).as_ref(), out, Some(182_000)),
            "Call ended · 3:02"
        );
        assert_eq!(
            ended_text(ended(CallEndReason::Missed).as_ref(), out, None),
            "No answer"
        );
        assert_eq!(
            ended_text(ended(CallEndReason::Cancelled).as_ref(), inc, None),
            "Missed call"
        );
        assert_eq!(
            ended_text(Some(&Ending::AnsweredElsewhere), inc, None),
            "Answered on another device"
        );
    }
}
