//! One call's media over WebRTC (the `webrtc` crate): Opus audio and H.264 video, trickle ICE,
//! NACK and PLI so loss heals, GCC bandwidth estimation driving the encoder's bitrate, ICE
//! restart when the connection drops, DTLS-SRTP (WebRTC's only mode).
//!
//! The caller's device makes the offer. Signaling goes out as [`MediaEvent::Signal`] and comes
//! in through [`MediaSession::handle_signal`]; the client core carries it over the server.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use rtc::{
    interceptor::{
        Attribute, BandwidthEstimator, CongestionControlBuilder, EstimatorStats, Gcc, Interceptor,
        NackGeneratorBuilder, NackResponderBuilder, Packet, PacketReport, Slot, StreamInfo,
        TaggedPacket, TwccSenderBuilder,
    },
    media::{Sample, io::sample_builder::SampleBuilder},
    peer_connection::configuration::{
        RTCOfferOptions,
        interceptor_registry::{
            Registry, configure_rtcp_reports, configure_simulcast_extension_headers,
            configure_twcc_receiver_only,
        },
        media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS},
    },
    rtcp::payload_feedbacks::{
        full_intra_request::FullIntraRequest, picture_loss_indication::PictureLossIndication,
    },
    rtp::codec::h264::H264Packet,
    rtp_transceiver::rtp_sender::{
        RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
        RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind, TYPE_RTCP_FB_NACK,
        TYPE_RTCP_FB_TRANSPORT_CC,
    },
    sansio::Protocol,
    sdp::extmap::TRANSPORT_CC_URI,
};
use tokio::sync::{mpsc, watch};
use webrtc::{
    media_stream::{
        MediaStreamTrack,
        track_local::{TrackLocal, TrackLocalEvent, static_sample::TrackLocalStaticSample},
        track_remote::{TrackRemote, TrackRemoteEvent},
    },
    peer_connection::*,
    rtp_transceiver::RtpSender,
};

use crate::{
    codec::{H264Decoder, H264Encoder, OpusDecoder, OpusEncoder},
    devices::{AudioSink, Camera, Capture, Microphone, VideoSink, start_playout},
    frame::{AudioFrame, FRAME_MS, FRAME_SAMPLES},
    jitter::{JitterBuffer, Playout},
    scale::{self, Scaler},
};

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

/// How long a dropped connection may take to come back by itself before an ICE restart.
const RECONNECT_WAIT: Duration = Duration::from_secs(2);
/// Between two restarts while the connection stays down. Restarts keep coming for the whole
/// outage: an offer sent while the peer's own network was down is lost with its connection to
/// the server, and only one sent after it is back can succeed.
const RESTART_INTERVAL: Duration = Duration::from_secs(3);
/// How long an outage may last before the call's media counts as failed (the server ends a
/// call whose device stays offline half as long anyway).
const OFFERER_GIVE_UP: Duration = Duration::from_secs(30);
/// The answerer waits a little longer: the offerer decides.
const ANSWERER_GIVE_UP: Duration = Duration::from_secs(35);
/// Least time between two keyframe requests.
const PLI_INTERVAL: Duration = Duration::from_millis(300);

fn h264_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.into(),
        clock_rate: 90_000,
        channels: 0,
        // Constrained baseline, level 3.1, non-interleaved: what every WebRTC peer decodes.
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
            .into(),
        rtcp_feedback: vec![],
    }
}

fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.into(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
        rtcp_feedback: vec![],
    }
}

/// Between two NACKs for the same missing packet, and how many it gets at most.
const NACK_INTERVAL: Duration = Duration::from_millis(200);
const NACKS_PER_PACKET: u16 = 3;

/// Retransmission requests (NACK) and answers, and keyframe requests (PLI), as
/// `configure_nack` sets them up but with a bounded generator: its default asks again every
/// 100 ms for as long as a packet is missing, so on a slow, lossy link each loss was
/// retransmitted many times over and the retransmissions crowded out the media (several
/// Mbit/s sent into a 300 kbit/s link).
fn bounded_nack(registry: Registry, media_engine: &mut MediaEngine) -> Registry {
    for parameter in ["", "pli"] {
        media_engine.register_feedback(
            RTCPFeedback {
                typ: TYPE_RTCP_FB_NACK.to_owned(),
                parameter: parameter.to_owned(),
            },
            RtpCodecKind::Video,
        );
    }
    registry
        .with(Slot::NackResponder, NackResponderBuilder::new().build())
        .with(
            Slot::NackGenerator,
            NackGeneratorBuilder::new()
                .with_interval(NACK_INTERVAL)
                .with_max_nacks_per_packet(NACKS_PER_PACKET)
                .build(),
        )
}

/// Bandwidth estimation over transport-wide congestion control feedback, driving the encoder.
///
/// What `configure_congestion_control` sets up, less its pacer: that pacer sends at exactly the
/// estimate (libwebrtc paces at 2.5 times it), so whenever audio, video and retransmissions
/// together go over the estimate, even for a moment, its queue grows into seconds of delay and
/// then refuses packets; on a slow link the call froze. The encoder's own rate control (with
/// frame skipping) and the smaller pictures keep the sending rate under the estimate instead.
/// The TWCC receiver comes with the default interceptors.
fn congestion_control(
    registry: Registry,
    estimator: impl BandwidthEstimator + 'static,
    media_engine: &mut MediaEngine,
) -> Result<Registry, webrtc::error::Error> {
    for kind in [RtpCodecKind::Video, RtpCodecKind::Audio] {
        media_engine.register_feedback(
            RTCPFeedback {
                typ: TYPE_RTCP_FB_TRANSPORT_CC.to_owned(),
                parameter: String::new(),
            },
            kind,
        );
        media_engine.register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: TRANSPORT_CC_URI.to_owned(),
            },
            kind,
            None,
        )?;
    }
    Ok(registry
        .with(
            Slot::CongestionControl,
            CongestionControlBuilder::new(estimator).build(),
        )
        .with(Slot::TwccSender, TwccSenderBuilder::new().build()))
}

/// Marks keyframe requests (PLI, FIR) for delivery to the sending track, passing every packet
/// on (dropping any would starve the bandwidth estimator of its feedback).
#[derive(Default)]
struct KeyframeRequests {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequests {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = webrtc::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut message: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &message.message.packet
            && packets.iter().any(|packet| {
                packet.as_any().is::<PictureLossIndication>()
                    || packet.as_any().is::<FullIntraRequest>()
            })
        {
            message.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(message);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, message: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(message);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for KeyframeRequests {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}

/// GCC, publishing its estimate for the encoder.
struct PublishedEstimate {
    gcc: Gcc,
    target_bps: Arc<AtomicU64>,
}

impl PublishedEstimate {
    fn publish(&self) {
        self.target_bps
            .store(self.gcc.target_bitrate() as u64, Ordering::Relaxed);
    }
}

impl BandwidthEstimator for PublishedEstimate {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        self.gcc.on_reports(now, reports);
        self.publish();
    }

    fn target_bitrate(&self) -> f64 {
        self.gcc.target_bitrate()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.gcc.handle_timeout(now);
        self.publish();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.gcc.poll_timeout()
    }

    fn stats(&self) -> EstimatorStats {
        self.gcc.stats()
    }
}

/// Peer connection callbacks, forwarded to the session task (they run on WebRTC's driver
/// task, which must never wait for us).
enum PeerEvent {
    Candidate(RTCIceCandidateInit),
    GatheringComplete,
    State(RTCPeerConnectionState),
    Track(Arc<dyn TrackRemote>),
}

struct Forwarder(mpsc::UnboundedSender<PeerEvent>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Forwarder {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(init) => {
                let _ = self.0.send(PeerEvent::Candidate(init));
            }
            Err(error) => tracing::warn!(%error, "could not serialise a local candidate"),
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.0.send(PeerEvent::GatheringComplete);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.0.send(PeerEvent::State(state));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.0.send(PeerEvent::Track(track));
    }
}

/// Counters shared by the media threads and `stats`.
#[derive(Default)]
struct Counters {
    frames_sent: AtomicU32,
    frames_decoded: AtomicU32,
    keyframes_requested: AtomicU32,
    ice_restarts: AtomicU32,
    video_bitrate_bps: AtomicU32,
    target_bitrate_bps: Arc<AtomicU64>,
    encode_cpu_us: AtomicU64,
    decode_cpu_us: AtomicU64,
    remote_resolution: Mutex<Option<(u32, u32)>>,
}

/// The last `stats` reading, to turn totals into rates.
#[derive(Default, Clone, Copy)]
struct Reading {
    at: Option<Instant>,
    bytes_sent: u64,
    bytes_received: u64,
    packets_received: u64,
    packets_lost: i64,
    frames_decoded: u32,
}

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

/// Where a capture device feeds the call, and the device feeding it now (if any): switching
/// starts the new device on the same channel, then stops the old one.
struct DeviceSlot<F> {
    frames: mpsc::Sender<F>,
    current: Option<Capture>,
}

impl<F: Send + 'static> DeviceSlot<F> {
    fn new(frames: mpsc::Sender<F>) -> Mutex<Self> {
        Mutex::new(Self {
            frames,
            current: None,
        })
    }

    /// Opening a sound card or a camera blocks (up to seconds): both the start and the old
    /// device's stop run off the async runtime, and the lock is not held meanwhile.
    async fn switch(
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The speaker the playout clock plays into, replaceable mid-call.
struct SpeakerSlot(Mutex<Option<Arc<dyn AudioSink>>>);

impl AudioSink for SpeakerSlot {
    fn frame(&self, frame: AudioFrame) {
        let speaker = lock(&self.0).clone();
        if let Some(speaker) = speaker {
            speaker.frame(frame);
        }
    }
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
        let mut media_engine = MediaEngine::default();
        media_engine.register_codec(
            RTCRtpCodecParameters {
                rtp_codec: opus_codec(),
                payload_type: 111,
            },
            RtpCodecKind::Audio,
        )?;
        if config.video.is_some() {
            media_engine.register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: h264_codec(),
                    payload_type: 102,
                },
                RtpCodecKind::Video,
            )?;
        }
        let video = config.video;
        let mut registry = Registry::new();
        if let Some(video) = video {
            registry = congestion_control(
                registry,
                PublishedEstimate {
                    gcc: Gcc::new(
                        f64::from(video.start_bitrate_bps + AUDIO_SHARE_BPS),
                        f64::from(video.min_bitrate_bps + AUDIO_SHARE_BPS),
                        f64::from(video.max_bitrate_bps + AUDIO_SHARE_BPS),
                    ),
                    target_bps: counters.target_bitrate_bps.clone(),
                },
                &mut media_engine,
            )?;
        }
        // The defaults (`register_default_interceptors`) but with a bounded NACK generator.
        let registry = bounded_nack(registry, &mut media_engine);
        configure_simulcast_extension_headers(&mut media_engine)?;
        let registry =
            configure_rtcp_reports(configure_twcc_receiver_only(registry, &mut media_engine)?)
                .with(Slot::from(14_000), KeyframeRequests::default());
        let mut settings = SettingEngineBuilder::new();
        if !config.mdns {
            settings = settings.with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled);
        }
        let mut configuration = RTCConfigurationBuilder::new().with_ice_servers(
            config
                .ice_servers
                .iter()
                .map(|server| RTCIceServer {
                    urls: server.urls.clone(),
                    username: server.username.clone(),
                    credential: server.credential.clone(),
                })
                .collect(),
        );
        if config.relay_only {
            configuration = configuration.with_ice_transport_policy(RTCIceTransportPolicy::Relay);
        }
        let (peer_events, mut peer_rx) = mpsc::unbounded_channel();
        let peer: Arc<dyn PeerConnection> = Arc::new(
            PeerConnectionBuilder::new()
                .with_configuration(configuration.build())
                .with_media_engine(media_engine)
                .with_interceptor_registry(registry)
                .with_setting_engine(settings.build())
                .with_handler(Arc::new(Forwarder(peer_events)))
                .with_udp_addrs(config.udp_bind.clone())
                .build()
                .await?,
        );

        // Random SSRCs and track ids: the two sides must not collide. The ids matter beyond
        // the SDP: webrtc routes RTCP feedback by track id, trying received tracks first, so
        // a peer whose track shared our sending track's id would swallow our keyframe requests.
        let audio_ssrc: u32 = rand::random();
        let video_ssrc = audio_ssrc ^ 1;
        let tag: u32 = rand::random();
        let stream_id = format!("natter-{tag:08x}");
        let audio_track = Arc::new(TrackLocalStaticSample::new(
            Instant::now(),
            MediaStreamTrack::new(
                stream_id.clone(),
                format!("audio-{tag:08x}"),
                "audio".into(),
                RtpCodecKind::Audio,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(audio_ssrc),
                        ..Default::default()
                    },
                    codec: opus_codec(),
                    ..Default::default()
                }],
            ),
        )?);
        let audio_sender = peer
            .add_track(audio_track.clone() as Arc<dyn TrackLocal>)
            .await?;
        let video_parts = match video {
            Some(settings) => {
                let track = Arc::new(TrackLocalStaticSample::new(
                    Instant::now(),
                    MediaStreamTrack::new(
                        stream_id.clone(),
                        format!("video-{tag:08x}"),
                        "video".into(),
                        RtpCodecKind::Video,
                        vec![RTCRtpEncodingParameters {
                            rtp_coding_parameters: RTCRtpCodingParameters {
                                ssrc: Some(video_ssrc),
                                ..Default::default()
                            },
                            codec: h264_codec(),
                            ..Default::default()
                        }],
                    ),
                )?);
                let sender = peer.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
                Some((settings, track, sender))
            }
            None => None,
        };

        let muted = Arc::new(AtomicBool::new(false));
        let camera_on = Arc::new(AtomicBool::new(video.is_some()));
        // Payload types are known once negotiation completes; senders wait for them.
        let (payload_types, payload_types_rx) = watch::channel::<Option<(u8, u8)>>(None);
        // Audio is always sent (silence until a microphone is picked) so one can be switched in.
        let (audio_frames, audio_frames_rx) = mpsc::channel(4);
        let microphone = DeviceSlot::new(audio_frames);
        if let Some(device) = devices.microphone {
            DeviceSlot::switch(&microphone, |frames| device.start(frames)).await?;
        }
        tokio::spawn(send_audio(
            audio_frames_rx,
            audio_track.clone(),
            audio_ssrc,
            payload_types_rx.clone(),
            muted.clone(),
        ));
        let mut camera = None;
        if let Some((settings, track, _)) = &video_parts {
            let (video_frames, video_frames_rx) = mpsc::channel(2);
            let slot = DeviceSlot::new(video_frames);
            if let Some(device) = devices.camera {
                DeviceSlot::switch(&slot, |frames| device.start(frames)).await?;
            }
            camera = Some(slot);
            let keyframe_wanted = Arc::new(AtomicBool::new(true));
            tokio::spawn(watch_keyframe_requests(
                track.clone(),
                keyframe_wanted.clone(),
            ));
            let encoder = H264Encoder::new(settings.frame_rate as f32, settings.start_bitrate_bps)?;
            let sender = VideoSender {
                track: track.clone(),
                ssrc: video_ssrc,
                payload_types: payload_types_rx.clone(),
                camera_on: camera_on.clone(),
                keyframe_wanted,
                counters: counters.clone(),
                settings: *settings,
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
        let (commands, mut commands_rx) = mpsc::unbounded_channel();
        let mut driver = Driver {
            peer: peer.clone(),
            role,
            events,
            pending_candidates: Vec::new(),
            remote_described: false,
            local_mid: None,
            connected_once: false,
            trouble_since: None,
            restarts: 0,
            last_restart: None,
            senders: (audio_sender, video_parts.map(|(_, _, sender)| sender)),
            payload_types,
            receivers: Receivers {
                jitter,
                video_sink: devices.video_sink,
                counters: counters.clone(),
            },
        };
        let task = tokio::spawn(async move {
            if role == Role::Offerer
                && let Err(error) = driver.offer(false).await
            {
                tracing::warn!(%error, "could not make the offer");
                driver.emit(MediaEvent::State(MediaState::Failed));
                return;
            }
            driver.emit(MediaEvent::State(MediaState::Connecting));
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tokio::select! {
                    event = peer_rx.recv() => match event {
                        Some(event) => driver.peer_event(event).await,
                        None => return,
                    },
                    command = commands_rx.recv() => match command {
                        Some(Command::Signal(signal)) => driver.signal(signal).await,
                        None => return,
                    },
                    _ = tick.tick() => driver.check_health().await,
                }
            }
        });

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
        let now = Instant::now();
        let report = self.peer.get_stats(now, StatsSelector::None).await;
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
            frames_decoded: self.counters.frames_decoded.load(Ordering::Relaxed),
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
        let previous = {
            let mut last = self
                .last_reading
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            std::mem::replace(&mut *last, reading)
        };
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
            target_bitrate_bps: self.counters.target_bitrate_bps.load(Ordering::Relaxed),
            video_bitrate_bps: self.counters.video_bitrate_bps.load(Ordering::Relaxed),
            frames_sent: self.counters.frames_sent.load(Ordering::Relaxed),
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
            remote_resolution: *self
                .counters
                .remote_resolution
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            keyframes_requested: self.counters.keyframes_requested.load(Ordering::Relaxed),
            ice_restarts: self.counters.ice_restarts.load(Ordering::Relaxed),
            local_candidate_type,
            encode_cpu: Duration::from_micros(self.counters.encode_cpu_us.load(Ordering::Relaxed)),
            decode_cpu: Duration::from_micros(self.counters.decode_cpu_us.load(Ordering::Relaxed)),
        }
    }

    /// Ends the media: devices stop, the peer connection closes (its sockets are released).
    pub async fn close(self) {
        self.task.abort();
        if let Err(error) = self.peer.close().await {
            tracing::debug!(%error, "closing the peer connection");
        }
    }
}

struct Receivers {
    jitter: Arc<Mutex<JitterBuffer>>,
    video_sink: Option<Arc<dyn VideoSink>>,
    counters: Arc<Counters>,
}

/// The session task's state: signaling, ICE health, restarts.
struct Driver {
    peer: Arc<dyn PeerConnection>,
    role: Role,
    events: mpsc::UnboundedSender<MediaEvent>,
    /// Remote candidates that arrived before the remote description.
    pending_candidates: Vec<RTCIceCandidateInit>,
    remote_described: bool,
    /// The first m-line's mid of the local description, which browsers expect on candidates.
    local_mid: Option<String>,
    connected_once: bool,
    trouble_since: Option<Instant>,
    /// Restarts in this outage.
    restarts: u32,
    last_restart: Option<Instant>,
    senders: (Arc<dyn RtpSender>, Option<Arc<dyn RtpSender>>),
    payload_types: watch::Sender<Option<(u8, u8)>>,
    receivers: Receivers,
}

fn first_mid(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|line| line.trim().strip_prefix("a=mid:"))
        .map(str::to_owned)
}

async fn payload_type(sender: &Arc<dyn RtpSender>, mime: &str) -> Option<u8> {
    let parameters = sender.get_parameters().await.ok()?;
    parameters
        .rtp_parameters
        .codecs
        .iter()
        .find(|codec| codec.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
        .map(|codec| codec.payload_type)
}

impl Driver {
    fn emit(&self, event: MediaEvent) {
        let _ = self.events.send(event);
    }

    async fn offer(&mut self, ice_restart: bool) -> Result<(), MediaError> {
        let offer = self
            .peer
            .create_offer(Some(RTCOfferOptions { ice_restart }))
            .await?;
        self.local_mid = first_mid(&offer.sdp);
        self.peer.set_local_description(offer.clone()).await?;
        self.emit(MediaEvent::Signal(Signal::Offer(offer.sdp)));
        Ok(())
    }

    async fn signal(&mut self, signal: Signal) {
        let result = match signal {
            Signal::Offer(sdp) => self.take_offer(sdp).await,
            Signal::Answer(sdp) => self.take_answer(sdp).await,
            Signal::Candidate {
                candidate,
                sdp_mid,
                sdp_mline_index,
            } => {
                let init = RTCIceCandidateInit {
                    candidate,
                    sdp_mid,
                    sdp_mline_index,
                    ..Default::default()
                };
                if self.remote_described {
                    self.peer
                        .add_ice_candidate(init)
                        .await
                        .map_err(MediaError::from)
                } else {
                    self.pending_candidates.push(init);
                    Ok(())
                }
            }
            Signal::EndOfCandidates => Ok(()),
        };
        if let Err(error) = result {
            tracing::warn!(%error, "a signal from the peer could not be applied");
        }
    }

    async fn take_offer(&mut self, sdp: String) -> Result<(), MediaError> {
        self.peer
            .set_remote_description(RTCSessionDescription::offer(sdp)?)
            .await?;
        self.described().await?;
        let answer = self.peer.create_answer(None).await?;
        self.local_mid = first_mid(&answer.sdp);
        self.peer.set_local_description(answer.clone()).await?;
        self.emit(MediaEvent::Signal(Signal::Answer(answer.sdp)));
        Ok(())
    }

    async fn take_answer(&mut self, sdp: String) -> Result<(), MediaError> {
        self.peer
            .set_remote_description(RTCSessionDescription::answer(sdp)?)
            .await?;
        self.described().await
    }

    async fn described(&mut self) -> Result<(), MediaError> {
        self.remote_described = true;
        for candidate in std::mem::take(&mut self.pending_candidates) {
            self.peer.add_ice_candidate(candidate).await?;
        }
        Ok(())
    }

    async fn peer_event(&mut self, event: PeerEvent) {
        match event {
            PeerEvent::Candidate(init) => {
                // webrtc-rs leaves the mid empty; browsers need the real one.
                let sdp_mid = match init.sdp_mid.as_deref() {
                    None | Some("") => self.local_mid.clone(),
                    Some(mid) => Some(mid.to_owned()),
                };
                self.emit(MediaEvent::Signal(Signal::Candidate {
                    candidate: init.candidate,
                    sdp_mid,
                    sdp_mline_index: init.sdp_mline_index.or(Some(0)),
                }));
            }
            PeerEvent::GatheringComplete => {
                self.emit(MediaEvent::Signal(Signal::EndOfCandidates));
            }
            PeerEvent::State(state) => self.state(state).await,
            PeerEvent::Track(track) => self.receive(track).await,
        }
    }

    async fn state(&mut self, state: RTCPeerConnectionState) {
        match state {
            RTCPeerConnectionState::Connected => {
                self.trouble_since = None;
                self.restarts = 0;
                self.last_restart = None;
                if !self.connected_once {
                    self.connected_once = true;
                    let audio = payload_type(&self.senders.0, MIME_TYPE_OPUS).await;
                    let video = match &self.senders.1 {
                        Some(sender) => payload_type(sender, MIME_TYPE_H264).await,
                        None => None,
                    };
                    self.payload_types
                        .send_replace(Some((audio.unwrap_or(111), video.unwrap_or(102))));
                }
                self.emit(MediaEvent::State(MediaState::Connected));
            }
            RTCPeerConnectionState::Disconnected | RTCPeerConnectionState::Failed
                if self.trouble_since.is_none() =>
            {
                self.trouble_since = Some(Instant::now());
                self.emit(MediaEvent::State(MediaState::Reconnecting));
            }
            _ => {}
        }
    }

    /// Restarts ICE (offerer) or gives up (answerer) when the connection stays down.
    async fn check_health(&mut self) {
        let Some(since) = self.trouble_since else {
            return;
        };
        match self.role {
            Role::Offerer if since.elapsed() >= OFFERER_GIVE_UP => {
                self.trouble_since = None;
                self.emit(MediaEvent::State(MediaState::Failed));
            }
            Role::Offerer
                if since.elapsed() >= RECONNECT_WAIT
                    && self
                        .last_restart
                        .is_none_or(|at| at.elapsed() >= RESTART_INTERVAL) =>
            {
                self.restarts += 1;
                self.last_restart = Some(Instant::now());
                self.receivers
                    .counters
                    .ice_restarts
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(attempt = self.restarts, "restarting ICE");
                if let Err(error) = self.offer(true).await {
                    tracing::warn!(%error, "the ICE restart offer failed");
                }
            }
            Role::Answerer if since.elapsed() >= ANSWERER_GIVE_UP => {
                self.trouble_since = None;
                self.emit(MediaEvent::State(MediaState::Failed));
            }
            _ => {}
        }
    }

    async fn receive(&mut self, track: Arc<dyn TrackRemote>) {
        match track.kind().await {
            RtpCodecKind::Audio => {
                tokio::spawn(receive_audio(track, self.receivers.jitter.clone()));
            }
            RtpCodecKind::Video => {
                let Some(sink) = self.receivers.video_sink.clone() else {
                    return;
                };
                tokio::spawn(receive_video(track, sink, self.receivers.counters.clone()));
            }
            _ => {}
        }
    }
}

async fn send_audio(
    mut frames: mpsc::Receiver<AudioFrame>,
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    mut payload_types: watch::Receiver<Option<(u8, u8)>>,
    muted: Arc<AtomicBool>,
) {
    let Ok(mut encoder) = OpusEncoder::new(32_000) else {
        tracing::error!("could not create the Opus encoder");
        return;
    };
    let Ok(payload_type) = payload_types
        .wait_for(Option::is_some)
        .await
        .map(|types| types.map_or(111, |(audio, _)| audio))
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
async fn watch_keyframe_requests(track: Arc<TrackLocalStaticSample>, wanted: Arc<AtomicBool>) {
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
struct VideoSender {
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    payload_types: watch::Receiver<Option<(u8, u8)>>,
    camera_on: Arc<AtomicBool>,
    keyframe_wanted: Arc<AtomicBool>,
    counters: Arc<Counters>,
    settings: VideoSettings,
    runtime: tokio::runtime::Handle,
    self_view: Option<Arc<dyn VideoSink>>,
}

impl VideoSender {
    fn run(mut self, mut encoder: H264Encoder, mut frames: mpsc::Receiver<crate::VideoFrame>) {
        let payload_type = match self
            .runtime
            .block_on(self.payload_types.wait_for(Option::is_some))
        {
            Ok(types) => types.map_or(102, |(_, video)| video),
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

fn play_next(jitter: &Mutex<JitterBuffer>, decoder: &mut OpusDecoder) -> AudioFrame {
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
