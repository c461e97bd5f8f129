//! The call's figures: counters the media threads keep, and the peer connection's report
//! turned into rates since the previous reading.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use webrtc::peer_connection::*;

use super::{CallStats, lock};

#[derive(Default)]
pub struct Counters {
    pub frames_sent: AtomicU32,
    pub frames_decoded: AtomicU32,
    pub keyframes_requested: AtomicU32,
    pub ice_restarts: AtomicU32,
    pub video_bitrate_bps: AtomicU32,
    pub target_bitrate_bps: Arc<AtomicU64>,
    pub encode_cpu_us: AtomicU64,
    pub decode_cpu_us: AtomicU64,
    pub remote_resolution: Mutex<Option<(u32, u32)>>,
}

/// The last `stats` reading, to turn totals into rates.
#[derive(Default, Clone, Copy)]
pub struct Reading {
    at: Option<Instant>,
    bytes_sent: u64,
    bytes_received: u64,
    packets_received: u64,
    packets_lost: i64,
    pub frames_decoded: u32,
}

/// Reads the connection's report and the counters; rates are over the time since `last`,
/// which becomes this reading.
pub async fn collect(
    peer: &Arc<dyn PeerConnection>,
    counters: &Counters,
    last: &Mutex<Reading>,
) -> CallStats {
    let now = Instant::now();
    let report = peer.get_stats(now, StatsSelector::None).await;
    let selected = report
        .candidate_pairs()
        .into_iter()
        .find(|pair| pair.nominated);
    let rtt_ms = selected.map(|pair| pair.current_round_trip_time * 1000.0);
    let local_candidate_type = selected.and_then(|pair| {
        report.iter().find_map(|entry| match entry {
            // The pair names the ICE agent's candidate id; the candidate's own stats entry
            // carries it behind a prefix.
            RTCStatsReportEntry::LocalCandidate(candidate)
                if candidate.stats.id == pair.local_candidate_id
                    || candidate
                        .stats
                        .id
                        .strip_prefix("RTCLocalIceCandidate_")
                        .is_some_and(|id| id == pair.local_candidate_id) =>
            {
                Some(match candidate.candidate_type {
                    RTCIceCandidateType::Host => "host",
                    RTCIceCandidateType::Srflx => "srflx",
                    RTCIceCandidateType::Prflx => "prflx",
                    RTCIceCandidateType::Relay => "relay",
                    _ => "unknown",
                })
            }
            _ => None,
        })
    });
    let mut reading = Reading {
        at: Some(now),
        frames_decoded: counters.frames_decoded.load(Ordering::Relaxed),
        ..Reading::default()
    };
    for pair in report.candidate_pairs() {
        reading.bytes_sent += pair.bytes_sent;
        reading.bytes_received += pair.bytes_received;
    }
    for inbound in report.inbound_rtp_streams() {
        reading.packets_received += inbound.received_rtp_stream_stats.packets_received;
        reading.packets_lost += inbound.received_rtp_stream_stats.packets_lost;
    }
    let previous = { std::mem::replace(&mut *lock(last), reading) };
    let seconds = previous
        .at
        .map_or(0.0, |at| now.duration_since(at).as_secs_f64());
    let rate = |now: u64, before: u64| {
        if seconds > 0.0 {
            (now.saturating_sub(before) as f64 * 8.0 / seconds) as u64
        } else {
            0
        }
    };
    let received = reading
        .packets_received
        .saturating_sub(previous.packets_received);
    let lost = (reading.packets_lost - previous.packets_lost).max(0) as u64;
    CallStats {
        rtt_ms,
        packets_received: reading.packets_received,
        packets_lost: reading.packets_lost,
        loss_fraction: if received + lost > 0 {
            lost as f64 / (received + lost) as f64
        } else {
            0.0
        },
        sent_bitrate_bps: rate(reading.bytes_sent, previous.bytes_sent),
        received_bitrate_bps: rate(reading.bytes_received, previous.bytes_received),
        target_bitrate_bps: counters.target_bitrate_bps.load(Ordering::Relaxed),
        video_bitrate_bps: counters.video_bitrate_bps.load(Ordering::Relaxed),
        frames_sent: counters.frames_sent.load(Ordering::Relaxed),
        frames_decoded: reading.frames_decoded,
        decoded_frame_rate: if seconds > 0.0 {
            f64::from(
                reading
                    .frames_decoded
                    .saturating_sub(previous.frames_decoded),
            ) / seconds
        } else {
            0.0
        },
        remote_resolution: *lock(&counters.remote_resolution),
        keyframes_requested: counters.keyframes_requested.load(Ordering::Relaxed),
        ice_restarts: counters.ice_restarts.load(Ordering::Relaxed),
        local_candidate_type,
        encode_cpu: Duration::from_micros(counters.encode_cpu_us.load(Ordering::Relaxed)),
        decode_cpu: Duration::from_micros(counters.decode_cpu_us.load(Ordering::Relaxed)),
    }
}
