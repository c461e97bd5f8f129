//! The peer connection: codecs, interceptors (NACK, congestion control, keyframe requests),
//! the callbacks forwarded to the driver, and the local tracks.

use std::{
    collections::VecDeque,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use rtc::{
    interceptor::{
        Attribute, BandwidthEstimator, CongestionControlBuilder, EstimatorStats, Gcc, Interceptor,
        NackGeneratorBuilder, NackResponderBuilder, Packet, PacketReport, Slot, StreamInfo,
        TaggedPacket, TwccSenderBuilder,
    },
    peer_connection::configuration::{
        interceptor_registry::{
            Registry, configure_rtcp_reports, configure_simulcast_extension_headers,
            configure_twcc_receiver_only,
        },
        media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS},
    },
    rtcp::payload_feedbacks::{
        full_intra_request::FullIntraRequest, picture_loss_indication::PictureLossIndication,
    },
    rtp_transceiver::rtp_sender::{
        RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
        RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind, TYPE_RTCP_FB_NACK,
        TYPE_RTCP_FB_TRANSPORT_CC,
    },
    sansio::Protocol,
    sdp::extmap::TRANSPORT_CC_URI,
};
use tokio::sync::mpsc;
use webrtc::{
    media_stream::{
        MediaStreamTrack,
        track_local::{TrackLocal, static_sample::TrackLocalStaticSample},
        track_remote::TrackRemote,
    },
    peer_connection::*,
    rtp_transceiver::RtpSender,
};

use super::{AUDIO_SHARE_BPS, MediaConfig, MediaError, VideoSettings};

/// The payload types Natter offers; the negotiated ones are read back once connected.
pub const OPUS_PAYLOAD_TYPE: u8 = 111;
pub const H264_PAYLOAD_TYPE: u8 = 102;

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

/// task, which must never wait for us).
pub enum PeerEvent {
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

/// Opens the peer connection with Natter's codecs and interceptors; its callbacks arrive on
/// the receiver. GCC publishes its estimate into `target_bps`.
pub async fn open(
    config: &MediaConfig,
    target_bps: Arc<AtomicU64>,
) -> Result<(Arc<dyn PeerConnection>, mpsc::UnboundedReceiver<PeerEvent>), MediaError> {
    let mut media_engine = MediaEngine::default();
    media_engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus_codec(),
            payload_type: OPUS_PAYLOAD_TYPE,
        },
        RtpCodecKind::Audio,
    )?;
    let mut registry = Registry::new();
    if let Some(video) = config.video {
        media_engine.register_codec(
            RTCRtpCodecParameters {
                rtp_codec: h264_codec(),
                payload_type: H264_PAYLOAD_TYPE,
            },
            RtpCodecKind::Video,
        )?;
        registry = congestion_control(
            registry,
            PublishedEstimate {
                gcc: Gcc::new(
                    f64::from(video.start_bitrate_bps + AUDIO_SHARE_BPS),
                    f64::from(video.min_bitrate_bps + AUDIO_SHARE_BPS),
                    f64::from(video.max_bitrate_bps + AUDIO_SHARE_BPS),
                ),
                target_bps,
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
    let (peer_events, peer_rx) = mpsc::unbounded_channel();
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
    Ok((peer, peer_rx))
}

/// What this device sends: audio always (silence until a microphone is picked, so one can be
/// switched in), video in a video call.
pub struct LocalTracks {
    pub audio: Arc<TrackLocalStaticSample>,
    pub audio_ssrc: u32,
    pub audio_sender: Arc<dyn RtpSender>,
    pub video: Option<LocalVideo>,
}

pub struct LocalVideo {
    pub settings: VideoSettings,
    pub track: Arc<TrackLocalStaticSample>,
    pub ssrc: u32,
    pub sender: Arc<dyn RtpSender>,
}

pub async fn add_tracks(
    peer: &Arc<dyn PeerConnection>,
    video: Option<VideoSettings>,
) -> Result<LocalTracks, MediaError> {
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
            Some(LocalVideo {
                settings,
                track,
                ssrc: video_ssrc,
                sender,
            })
        }
        None => None,
    };

    Ok(LocalTracks {
        audio: audio_track,
        audio_ssrc,
        audio_sender,
        video: video_parts,
    })
}
