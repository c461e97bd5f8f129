//! What this device sends: the capture devices' slots, Opus audio, and H.264 video encoded on
//! a thread of its own, following the bandwidth estimate.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use rtc::{
    media::Sample,
    rtcp::payload_feedbacks::{
        full_intra_request::FullIntraRequest, picture_loss_indication::PictureLossIndication,
    },
};
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_local::{
    TrackLocal, TrackLocalEvent, static_sample::TrackLocalStaticSample,
};

use super::{
    AUDIO_SHARE_BPS, MediaError, VideoSettings, lock,
    peer::{H264_PAYLOAD_TYPE, OPUS_PAYLOAD_TYPE},
    stats::Counters,
};
use crate::{
    codec::{H264Encoder, OpusEncoder},
    devices::{Capture, VideoSink},
    frame::{AudioFrame, FRAME_MS},
    scale::{self, Scaler},
};

/// The negotiated payload types (audio, video), known once connected.
pub type PayloadTypes = watch::Receiver<Option<(u8, u8)>>;

/// Where a capture device feeds the call, and the device feeding it now (if any): switching
/// starts the new device on the same channel, then stops the old one.
pub struct DeviceSlot<F> {
    frames: mpsc::Sender<F>,
    current: Option<Capture>,
}

impl<F: Send + 'static> DeviceSlot<F> {
    pub fn new(frames: mpsc::Sender<F>) -> Mutex<Self> {
        Mutex::new(Self {
            frames,
            current: None,
        })
    }

    /// Opening a sound card or a camera blocks (up to seconds): both the start and the old
    /// device's stop run off the async runtime, and the lock is not held meanwhile.
    pub async fn switch(
        slot: &Mutex<Self>,
        start: impl FnOnce(mpsc::Sender<F>) -> std::io::Result<Capture> + Send + 'static,
    ) -> Result<(), MediaError> {
        let frames = lock(slot).frames.clone();
        let started = tokio::task::spawn_blocking(move || start(frames))
            .await
            .map_err(std::io::Error::other)??;
        let old = lock(slot).current.replace(started);
        // Dropping a capture joins its thread.
        tokio::task::spawn_blocking(move || drop(old));
        Ok(())
    }
}

pub async fn send_audio(
    mut frames: mpsc::Receiver<AudioFrame>,
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    mut payload_types: PayloadTypes,
    muted: Arc<AtomicBool>,
) {
    let Ok(mut encoder) = OpusEncoder::new(32_000) else {
        tracing::error!("could not create the Opus encoder");
        return;
    };
    let Ok(payload_type) = payload_types
        .wait_for(Option::is_some)
        .await
        .map(|types| types.map_or(OPUS_PAYLOAD_TYPE, |(audio, _)| audio))
    else {
        return;
    };
    while let Some(frame) = frames.recv().await {
        if muted.load(Ordering::Relaxed) {
            continue;
        }
        let packet = match encoder.encode(&frame) {
            Ok(packet) => packet,
            Err(error) => {
                tracing::warn!(%error, "Opus encoding failed");
                continue;
            }
        };
        let sample = Sample {
            data: Bytes::from(packet),
            duration: Duration::from_millis(FRAME_MS),
            ..Sample::new(Instant::now())
        };
        if let Err(error) = track.write_sample(ssrc, payload_type, &sample, &[]).await {
            tracing::debug!(%error, "an audio sample was not sent");
        }
    }
}

/// Sets `wanted` whenever the receiver asks for a keyframe.
pub async fn watch_keyframe_requests(track: Arc<TrackLocalStaticSample>, wanted: Arc<AtomicBool>) {
    while let Some(event) = track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(packets) = event
            && packets.iter().any(|packet| {
                packet.as_any().is::<PictureLossIndication>()
                    || packet.as_any().is::<FullIntraRequest>()
            })
        {
            wanted.store(true, Ordering::SeqCst);
        }
    }
}

/// The video encoding thread: OpenH264 is synchronous and takes milliseconds per picture.
pub struct VideoSender {
    pub track: Arc<TrackLocalStaticSample>,
    pub ssrc: u32,
    pub payload_types: PayloadTypes,
    pub camera_on: Arc<AtomicBool>,
    pub keyframe_wanted: Arc<AtomicBool>,
    pub counters: Arc<Counters>,
    pub settings: VideoSettings,
    pub runtime: tokio::runtime::Handle,
    pub self_view: Option<Arc<dyn VideoSink>>,
}

impl VideoSender {
    pub fn run(mut self, mut encoder: H264Encoder, mut frames: mpsc::Receiver<crate::VideoFrame>) {
        let payload_type = match self
            .runtime
            .block_on(self.payload_types.wait_for(Option::is_some))
        {
            Ok(types) => types.map_or(H264_PAYLOAD_TYPE, |(_, video)| video),
            Err(_) => return,
        };
        let frame_duration = Duration::from_secs_f64(1.0 / f64::from(self.settings.frame_rate));
        let mut was_on = true;
        let mut scaler = Scaler::default();
        let mut divisor = 1;
        // The RTP clock follows capture time: skipped pictures must not compress it.
        let mut last_sent_at_us: Option<u64> = None;
        while let Some(frame) = frames.blocking_recv() {
            let on = self.camera_on.load(Ordering::Relaxed);
            if !on {
                was_on = false;
                continue;
            }
            if let Some(self_view) = &self.self_view {
                self_view.frame(frame.clone());
            }
            if !was_on || self.keyframe_wanted.swap(false, Ordering::SeqCst) {
                was_on = true;
                encoder.request_keyframe();
            }
            let estimate = self.counters.target_bitrate_bps.load(Ordering::Relaxed) as u32;
            if estimate > 0 {
                // Audio first; the video's own headers take some of the rest.
                let target = (estimate.saturating_sub(AUDIO_SHARE_BPS) / 20 * 17)
                    .clamp(self.settings.min_bitrate_bps, self.settings.max_bitrate_bps);
                // Small moves are noise; following them would only churn the rate control.
                let current = encoder.bitrate_bps();
                if target.abs_diff(current) > current / 10 {
                    encoder.set_bitrate(target);
                }
            }
            self.counters
                .video_bitrate_bps
                .store(encoder.bitrate_bps(), Ordering::Relaxed);
            let cpu = cpu_time::ThreadTime::now();
            divisor = scale::divisor_for(
                encoder.bitrate_bps(),
                frame.width,
                frame.height,
                self.settings.frame_rate,
                divisor,
            );
            let frame = scaler.scale(&frame, divisor).unwrap_or(frame);
            let encoded = encoder.encode(&frame);
            self.counters
                .encode_cpu_us
                .fetch_add(cpu.elapsed().as_micros() as u64, Ordering::Relaxed);
            let encoded = match encoded {
                Ok(Some(encoded)) => encoded,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%error, "H.264 encoding failed");
                    continue;
                }
            };
            let duration = last_sent_at_us
                .map(|at| Duration::from_micros(frame.captured_at_us.saturating_sub(at)))
                .filter(|duration| !duration.is_zero() && *duration < Duration::from_secs(1))
                .unwrap_or(frame_duration);
            last_sent_at_us = Some(frame.captured_at_us);
            let sample = Sample {
                data: Bytes::from(encoded.data),
                duration,
                ..Sample::new(Instant::now())
            };
            match self.runtime.block_on(self.track.write_sample(
                self.ssrc,
                payload_type,
                &sample,
                &[],
            )) {
                Ok(()) => {
                    self.counters.frames_sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => tracing::debug!(%error, "a video sample was not sent"),
            }
        }
    }
}
