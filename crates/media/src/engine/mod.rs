//! One call's media over WebRTC (the `webrtc` crate): Opus audio and H.264 video, trickle ICE,
//! NACK and PLI so loss heals, GCC bandwidth estimation driving the encoder's bitrate, ICE
//! restart when the connection drops, DTLS-SRTP (WebRTC's only mode).
//!
//! The caller's device makes the offer. Signaling goes out as [`MediaEvent::Signal`] and comes
//! in through [`MediaSession::handle_signal`]; the client core carries it over the server.
//!
//! By concern: `peer` opens the connection (codecs, interceptors, tracks), `send` and `receive`
//! are the two media directions, `driver` is the session task (signaling, connection events),
//! `health` its pure restart / give-up policy, `stats` the figures.

mod driver;
mod health;
mod peer;
mod receive;
mod send;
mod stats;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::sync::{mpsc, watch};
use webrtc::peer_connection::PeerConnection;

use crate::{
    codec::{H264Encoder, OpusDecoder},
    devices::{AudioSink, Camera, Capture, Microphone, VideoSink, start_playout},
    frame::AudioFrame,
    jitter::JitterBuffer,
};
use driver::Driver;
use receive::{Receivers, SpeakerSlot, play_next};
use send::{DeviceSlot, VideoSender, send_audio, watch_keyframe_requests};
use stats::{Counters, Reading};

/// Signaling between the two devices of a call (the server forwards it untouched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    Offer(String),
    Answer(String),
    Candidate {
        candidate: String,
        sdp_mid: Option<String>,
        sdp_mline_index: Option<u16>,
    },
    EndOfCandidates,
}

/// A STUN or TURN server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoSettings {
    pub width: u32,
    pub height: u32,
    pub frame_rate: u32,
    /// The video encoder starts here; bandwidth estimation moves it between `min` and `max`
    /// (audio comes on top). Below about 460 kbit/s the picture is sent smaller.
    pub start_bitrate_bps: u32,
    pub min_bitrate_bps: u32,
    pub max_bitrate_bps: u32,
}

impl Default for VideoSettings {
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            frame_rate: 30,
            start_bitrate_bps: 800_000,
            min_bitrate_bps: 30_000,
            max_bitrate_bps: 2_500_000,
        }
    }
}

#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub ice_servers: Vec<IceServer>,
    /// Only relayed candidates (through TURN): hides the user's addresses from the peer.
    pub relay_only: bool,
    /// Local UDP addresses to gather host candidates on. `0.0.0.0:0` means every interface
    /// except loopback; name `127.0.0.1:0` to call on one machine without a network.
    pub udp_bind: Vec<String>,
    /// `None` for a voice call.
    pub video: Option<VideoSettings>,
    /// Resolve peers' `.local` (mDNS) candidates. Needs a multicast-capable interface.
    pub mdns: bool,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            relay_only: false,
            udp_bind: vec!["0.0.0.0:0".into()],
            video: Some(VideoSettings::default()),
            mdns: true,
        }
    }
}

/// Who makes the offer: the caller's device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Offerer,
    Answerer,
}

/// The devices a call uses; any may be absent (then nothing is sent or played for it).
#[derive(Default)]
pub struct Devices {
    pub camera: Option<Box<dyn Camera>>,
    pub microphone: Option<Box<dyn Microphone>>,
    pub video_sink: Option<Arc<dyn VideoSink>>,
    pub audio_sink: Option<Arc<dyn AudioSink>>,
    /// Gets my own camera's pictures as they are sent (the self view), while the camera is on.
    pub self_view: Option<Arc<dyn VideoSink>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaState {
    Connecting,
    Connected,
    /// The connection dropped; ICE is being restarted.
    Reconnecting,
    /// Gave up: the call cannot carry media.
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// Send this to the other device.
    Signal(Signal),
    State(MediaState),
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("WebRTC: {0}")]
    WebRtc(#[from] webrtc::error::Error),
    #[error(transparent)]
    Codec(#[from] crate::codec::CodecError),
    #[error("could not start a device: {0}")]
    Device(#[from] std::io::Error),
    #[error("the media session has ended")]
    Ended,
    #[error("a voice call has no camera")]
    NoVideo,
}

/// What the call's media is doing, for a quality indicator and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CallStats {
    /// Round-trip time of the selected ICE candidate pair.
    pub rtt_ms: Option<f64>,
    /// Packets received from the peer, and lost on the way (both streams).
    pub packets_received: u64,
    pub packets_lost: i64,
    /// Over the last interval since the previous `stats` call.
    pub loss_fraction: f64,
    pub sent_bitrate_bps: u64,
    pub received_bitrate_bps: u64,
    /// The bandwidth estimate (0 until the first estimate).
    pub target_bitrate_bps: u64,
    /// The video encoder's current bitrate.
    pub video_bitrate_bps: u32,
    pub frames_sent: u32,
    pub frames_decoded: u32,
    pub decoded_frame_rate: f64,
    pub remote_resolution: Option<(u32, u32)>,
    pub keyframes_requested: u32,
    /// ICE restarts this device made (offerer) over the call.
    pub ice_restarts: u32,
    /// The kind of this side's candidate in the selected pair: `host`, `srflx`, `prflx` or
    /// `relay` (through TURN).
    pub local_candidate_type: Option<&'static str>,
    /// CPU time spent encoding and decoding video so far.
    pub encode_cpu: Duration,
    pub decode_cpu: Duration,
}

/// What audio takes of the bandwidth estimate: Opus at 32 kbit/s and 50 packets a second of
/// RTP, SRTP, UDP and IP headers. The video gets the rest: the pacer sends at the estimate, so
/// anything produced above it queues (delay) and is then refused (loss).
const AUDIO_SHARE_BPS: u32 = 56_000;

enum Command {
    Signal(Signal),
}

/// One call's media. Close it with [`MediaSession::close`]; dropping it also stops the media.
pub struct MediaSession {
    peer: Arc<dyn PeerConnection>,
    commands: mpsc::UnboundedSender<Command>,
    muted: Arc<AtomicBool>,
    camera_on: Arc<AtomicBool>,
    counters: Arc<Counters>,
    last_reading: Mutex<Reading>,
    task: tokio::task::JoinHandle<()>,
    microphone: Mutex<DeviceSlot<AudioFrame>>,
    /// `None` in a voice call.
    camera: Option<Mutex<DeviceSlot<crate::VideoFrame>>>,
    speaker: Arc<SpeakerSlot>,
    /// The playout clock: stopped (joined) on drop, like the devices in the slots.
    _playout: Capture,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MediaSession {
    /// Opens the peer connection and starts the devices; the offerer's offer follows as an
    /// event. Must run inside a tokio runtime.
    pub async fn start(
        config: MediaConfig,
        role: Role,
        devices: Devices,
    ) -> Result<(Self, mpsc::UnboundedReceiver<MediaEvent>), MediaError> {
        let counters = Arc::new(Counters::default());
        let (peer, peer_events) = peer::open(&config, counters.target_bitrate_bps.clone()).await?;
        let tracks = peer::add_tracks(&peer, config.video).await?;

        let muted = Arc::new(AtomicBool::new(false));
        let camera_on = Arc::new(AtomicBool::new(config.video.is_some()));
        // Payload types are known once negotiation completes; senders wait for them.
        let (payload_types, payload_types_rx) = watch::channel::<Option<(u8, u8)>>(None);
        let (audio_frames, audio_frames_rx) = mpsc::channel(4);
        let microphone = DeviceSlot::new(audio_frames);
        if let Some(device) = devices.microphone {
            DeviceSlot::switch(&microphone, |frames| device.start(frames)).await?;
        }
        tokio::spawn(send_audio(
            audio_frames_rx,
            tracks.audio.clone(),
            tracks.audio_ssrc,
            payload_types_rx.clone(),
            muted.clone(),
        ));
        let mut camera = None;
        if let Some(video) = &tracks.video {
            let (video_frames, video_frames_rx) = mpsc::channel(2);
            let slot = DeviceSlot::new(video_frames);
            if let Some(device) = devices.camera {
                DeviceSlot::switch(&slot, |frames| device.start(frames)).await?;
            }
            camera = Some(slot);
            let keyframe_wanted = Arc::new(AtomicBool::new(true));
            tokio::spawn(watch_keyframe_requests(
                video.track.clone(),
                keyframe_wanted.clone(),
            ));
            let encoder = H264Encoder::new(
                video.settings.frame_rate as f32,
                video.settings.start_bitrate_bps,
            )?;
            let sender = VideoSender {
                track: video.track.clone(),
                ssrc: video.ssrc,
                payload_types: payload_types_rx.clone(),
                camera_on: camera_on.clone(),
                keyframe_wanted,
                counters: counters.clone(),
                settings: video.settings,
                runtime: tokio::runtime::Handle::current(),
                self_view: devices.self_view,
            };
            std::thread::Builder::new()
                .name("natter-video-encode".into())
                .spawn(move || sender.run(encoder, video_frames_rx))?;
        }
        let jitter = Arc::new(Mutex::new(JitterBuffer::new(3, 15)));
        let speaker = Arc::new(SpeakerSlot(Mutex::new(devices.audio_sink)));
        let playout = {
            let mut decoder = OpusDecoder::new()?;
            let jitter = jitter.clone();
            start_playout(move || play_next(&jitter, &mut decoder), speaker.clone())?
        };

        let (events, events_rx) = mpsc::unbounded_channel();
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let driver = Driver::new(
            peer.clone(),
            role,
            events,
            (tracks.audio_sender, tracks.video.map(|video| video.sender)),
            payload_types,
            Receivers {
                jitter,
                video_sink: devices.video_sink,
                counters: counters.clone(),
            },
        );
        let task = tokio::spawn(driver.run(peer_events, commands_rx));

        Ok((
            Self {
                peer,
                commands,
                muted,
                camera_on,
                counters,
                last_reading: Mutex::new(Reading::default()),
                task,
                microphone,
                camera,
                speaker,
                _playout: playout,
            },
            events_rx,
        ))
    }

    /// Replaces the microphone mid-call. The new one starts before the old one stops, so a
    /// device that cannot be opened leaves the call as it was.
    pub async fn switch_microphone(
        &self,
        microphone: Box<dyn Microphone>,
    ) -> Result<(), MediaError> {
        DeviceSlot::switch(&self.microphone, |frames| microphone.start(frames)).await
    }

    /// Replaces the camera mid-call (same rules as the microphone). A new size is fine: the
    /// encoder starts over with a keyframe.
    pub async fn switch_camera(&self, camera: Box<dyn Camera>) -> Result<(), MediaError> {
        let slot = self.camera.as_ref().ok_or(MediaError::NoVideo)?;
        DeviceSlot::switch(slot, |frames| camera.start(frames)).await
    }

    /// Plays the call on another speaker from the next 20 ms on.
    pub fn switch_speaker(&self, speaker: Arc<dyn AudioSink>) {
        *lock(&self.speaker.0) = Some(speaker);
    }

    /// A signal from the other device.
    pub fn handle_signal(&self, signal: Signal) {
        let _ = self.commands.send(Command::Signal(signal));
    }

    /// Stops sending audio (the peer is told through call signaling, not here).
    pub fn set_muted(&self, muted: bool) {
        self.muted.store(muted, Ordering::SeqCst);
    }

    pub fn set_camera_on(&self, on: bool) {
        self.camera_on.store(on, Ordering::SeqCst);
    }

    pub async fn stats(&self) -> CallStats {
        stats::collect(&self.peer, &self.counters, &self.last_reading).await
    }

    /// Ends the media: devices stop, the peer connection closes (its sockets are released).
    pub async fn close(self) {
        self.task.abort();
        if let Err(error) = self.peer.close().await {
            tracing::debug!(%error, "closing the peer connection");
        }
    }
}
