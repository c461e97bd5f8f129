//! The session task: signaling with the peer (offer, answer, trickled candidates), the peer
//! connection's events, and the health policy's restarts, on one task.

use std::{sync::Arc, time::Instant};

use rtc::peer_connection::configuration::{
    RTCOfferOptions,
    media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS},
};
use tokio::sync::{mpsc, watch};
use webrtc::{peer_connection::*, rtp_transceiver::RtpSender};

use super::{
    Command, MediaError, MediaEvent, MediaState, Role, Signal,
    health::{Action, Connection, Health},
    peer::{H264_PAYLOAD_TYPE, OPUS_PAYLOAD_TYPE, PeerEvent},
    receive::Receivers,
};

/// The session task's state: signaling, ICE health, restarts.
pub struct Driver {
    peer: Arc<dyn PeerConnection>,
    role: Role,
    events: mpsc::UnboundedSender<MediaEvent>,
    /// Remote candidates that arrived before the remote description.
    pending_candidates: Vec<RTCIceCandidateInit>,
    remote_described: bool,
    /// The first m-line's mid of the local description, which browsers expect on candidates.
    local_mid: Option<String>,
    connected_once: bool,
    health: Health,
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
    pub fn new(
        peer: Arc<dyn PeerConnection>,
        role: Role,
        events: mpsc::UnboundedSender<MediaEvent>,
        senders: (Arc<dyn RtpSender>, Option<Arc<dyn RtpSender>>),
        payload_types: watch::Sender<Option<(u8, u8)>>,
        receivers: Receivers,
    ) -> Self {
        Self {
            peer,
            role,
            events,
            pending_candidates: Vec::new(),
            remote_described: false,
            local_mid: None,
            connected_once: false,
            health: Health::new(role),
            senders,
            payload_types,
            receivers,
        }
    }

    /// The session task: makes the offer (offerer), then serves the peer connection's events,
    /// the signals from the other device and the health policy's deadlines until the session
    /// ends.
    pub async fn run(
        mut self,
        mut peer_events: mpsc::UnboundedReceiver<PeerEvent>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        if self.role == Role::Offerer
            && let Err(error) = self.offer(false).await
        {
            tracing::warn!(%error, "could not make the offer");
            self.emit(MediaEvent::State(MediaState::Failed));
            return;
        }
        self.emit(MediaEvent::State(MediaState::Connecting));
        loop {
            let deadline = self.health.poll_timeout();
            tokio::select! {
                event = peer_events.recv() => match event {
                    Some(event) => self.peer_event(event).await,
                    None => return,
                },
                command = commands.recv() => match command {
                    Some(Command::Signal(signal)) => self.signal(signal).await,
                    None => return,
                },
                () = sleep_until(deadline) => {
                    let action = self.health.handle_timeout(Instant::now());
                    self.act(action).await;
                }
            }
        }
    }

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
            PeerEvent::Track(track) => self.receivers.receive(track).await,
        }
    }

    async fn state(&mut self, state: RTCPeerConnectionState) {
        let connection = match state {
            RTCPeerConnectionState::Connected => Connection::Connected,
            RTCPeerConnectionState::Disconnected | RTCPeerConnectionState::Failed => {
                Connection::Down
            }
            _ => return,
        };
        if connection == Connection::Connected && !self.connected_once {
            self.connected_once = true;
            let audio = payload_type(&self.senders.0, MIME_TYPE_OPUS).await;
            let video = match &self.senders.1 {
                Some(sender) => payload_type(sender, MIME_TYPE_H264).await,
                None => None,
            };
            self.payload_types.send_replace(Some((
                audio.unwrap_or(OPUS_PAYLOAD_TYPE),
                video.unwrap_or(H264_PAYLOAD_TYPE),
            )));
        }
        let action = self.health.connection(connection, Instant::now());
        self.act(action).await;
    }

    async fn act(&mut self, action: Option<Action>) {
        match action {
            None => {}
            Some(Action::Connected) => self.emit(MediaEvent::State(MediaState::Connected)),
            Some(Action::Reconnecting) => self.emit(MediaEvent::State(MediaState::Reconnecting)),
            Some(Action::Failed) => self.emit(MediaEvent::State(MediaState::Failed)),
            Some(Action::RestartIce { attempt }) => {
                self.receivers
                    .counters
                    .ice_restarts
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(attempt, "restarting ICE");
                if let Err(error) = self.offer(true).await {
                    tracing::warn!(%error, "the ICE restart offer failed");
                }
            }
        }
    }
}

/// Waits until `deadline`, or for ever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}
