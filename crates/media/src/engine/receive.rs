//! What this device receives: Opus into the jitter buffer and out through the playout clock,
//! H.264 reassembled from RTP and decoded on a thread of its own, keyframes asked for after loss.

use std::{
    sync::{Arc, Mutex, atomic::Ordering},
    time::{Duration, Instant},
};

use bytes::Bytes;
use rtc::{
    media::io::sample_builder::SampleBuilder,
    rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication,
    rtp::codec::h264::H264Packet, rtp_transceiver::rtp_sender::RtpCodecKind,
};
use tokio::sync::mpsc;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::{lock, stats::Counters};
use crate::{
    codec::{H264Decoder, OpusDecoder},
    devices::{AudioSink, VideoSink},
    frame::{AudioFrame, FRAME_SAMPLES},
    jitter::{JitterBuffer, Playout},
};

/// Least time between two keyframe requests.
const PLI_INTERVAL: Duration = Duration::from_millis(300);

/// The speaker the playout clock plays into, replaceable mid-call.
pub struct SpeakerSlot(pub Mutex<Option<Arc<dyn AudioSink>>>);

impl AudioSink for SpeakerSlot {
    fn frame(&self, frame: AudioFrame) {
        let speaker = lock(&self.0).clone();
        if let Some(speaker) = speaker {
            speaker.frame(frame);
        }
    }
}

pub struct Receivers {
    pub jitter: Arc<Mutex<JitterBuffer>>,
    pub video_sink: Option<Arc<dyn VideoSink>>,
    pub counters: Arc<Counters>,
}

impl Receivers {
    /// Starts receiving a track the peer sends.
    pub async fn receive(&self, track: Arc<dyn TrackRemote>) {
        match track.kind().await {
            RtpCodecKind::Audio => {
                tokio::spawn(receive_audio(track, self.jitter.clone()));
            }
            RtpCodecKind::Video => {
                let Some(sink) = self.video_sink.clone() else {
                    return;
                };
                tokio::spawn(receive_video(track, sink, self.counters.clone()));
            }
            _ => {}
        }
    }
}

async fn receive_audio(track: Arc<dyn TrackRemote>, jitter: Arc<Mutex<JitterBuffer>>) {
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                jitter
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(packet.header.sequence_number, packet.payload.to_vec());
            }
            TrackRemoteEvent::OnEnded => return,
            _ => {}
        }
    }
}

pub fn play_next(jitter: &Mutex<JitterBuffer>, decoder: &mut OpusDecoder) -> AudioFrame {
    let playout = jitter
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .pop();
    let decoded = match playout {
        Playout::Packet(packet) => decoder.decode(&packet),
        Playout::Lost { next } => decoder.conceal(next.as_deref()),
        Playout::Silence => Ok(AudioFrame {
            samples: vec![0; FRAME_SAMPLES],
        }),
    };
    decoded.unwrap_or_else(|error| {
        tracing::debug!(%error, "Opus decoding failed");
        AudioFrame {
            samples: vec![0; FRAME_SAMPLES],
        }
    })
}

/// Reassembles pictures from RTP and decodes them on a thread of their own.
async fn receive_video(
    track: Arc<dyn TrackRemote>,
    sink: Arc<dyn VideoSink>,
    counters: Arc<Counters>,
) {
    let (access_units, mut access_units_rx) = mpsc::channel::<(Bytes, bool)>(8);
    let (keyframe_requests, mut keyframe_requests_rx) = mpsc::channel::<()>(1);
    let decode_counters = counters.clone();
    let decoder_thread = std::thread::Builder::new()
        .name("natter-video-decode".into())
        .spawn(move || {
            let Ok(mut decoder) = H264Decoder::new() else {
                tracing::error!("could not create the H.264 decoder");
                return;
            };
            while let Some((access_unit, after_loss)) = access_units_rx.blocking_recv() {
                let cpu = cpu_time::ThreadTime::now();
                let decoded = decoder.decode(&access_unit);
                decode_counters
                    .decode_cpu_us
                    .fetch_add(cpu.elapsed().as_micros() as u64, Ordering::Relaxed);
                match decoded {
                    Ok(Some(frame)) => {
                        *decode_counters
                            .remote_resolution
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                            Some((frame.width, frame.height));
                        decode_counters
                            .frames_decoded
                            .fetch_add(1, Ordering::Relaxed);
                        sink.frame(frame);
                        continue;
                    }
                    Ok(None) if !after_loss => continue,
                    Ok(None) => {}
                    Err(error) => tracing::debug!(%error, "a picture could not be decoded"),
                }
                let _ = keyframe_requests.try_send(());
            }
        });
    if let Err(error) = decoder_thread {
        tracing::error!(%error, "could not start the video decoder");
        return;
    }
    let mut builder = SampleBuilder::new(128, H264Packet::default(), 90_000)
        .with_max_time_delay(Duration::from_millis(500));
    let mut last_request: Option<Instant> = None;
    let mut have_keyframe = false;
    let mut media_ssrc = 0;
    loop {
        let event = tokio::select! {
            event = track.poll() => event,
            Some(()) = keyframe_requests_rx.recv() => {
                request_keyframe(&track, media_ssrc, &mut last_request, &counters).await;
                continue;
            }
        };
        let Some(event) = event else { return };
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                media_ssrc = packet.header.ssrc;
                builder.push(Instant::now(), packet);
                while let Some(sample) = builder.pop(Instant::now()) {
                    let keyframe = contains_idr(&sample.data);
                    have_keyframe |= keyframe;
                    let lost = sample.prev_dropped_packets > 0;
                    if !have_keyframe || (lost && !keyframe) {
                        request_keyframe(&track, media_ssrc, &mut last_request, &counters).await;
                    }
                    if !have_keyframe {
                        continue;
                    }
                    if access_units.try_send((sample.data, lost)).is_err() {
                        // The decoder is behind: what follows needs a fresh start.
                        have_keyframe = false;
                    }
                }
            }
            TrackRemoteEvent::OnEnded => return,
            _ => {}
        }
    }
}

async fn request_keyframe(
    track: &Arc<dyn TrackRemote>,
    media_ssrc: u32,
    last_request: &mut Option<Instant>,
    counters: &Counters,
) {
    if last_request.is_some_and(|at| at.elapsed() < PLI_INTERVAL) {
        return;
    }
    *last_request = Some(Instant::now());
    counters.keyframes_requested.fetch_add(1, Ordering::Relaxed);
    let pli = PictureLossIndication {
        sender_ssrc: 0,
        media_ssrc,
    };
    if let Err(error) = track.write_rtcp(vec![Box::new(pli)]).await {
        tracing::debug!(%error, "could not ask for a keyframe");
    }
}

/// Whether an Annex B access unit holds an IDR slice (NAL unit type 5).
fn contains_idr(access_unit: &[u8]) -> bool {
    access_unit
        .windows(4)
        .any(|window| window[..3] == [0, 0, 1] && window[3] & 0x1f == 5)
}
