//! The I/O shell around [`CallMachine`]: one task per client that feeds it the user's intents,
//! the server's `call_*` frames, the media engine's events and time, and performs its outputs
//! (frames to the server, the media session, events for the UI).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use natter_media::{
    devices,
    engine::{
        CallStats, Devices, IceServer, MediaConfig, MediaEvent, MediaSession, MediaState, Role,
        Signal, VideoSettings,
    },
};
use natter_protocol::{CallId, CallKind, CallSignal, ClientFrame, ServerFrame, UserId};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use crate::{
    api::Api,
    call_machine::{
        CallError, CallMachine, CallView, Input, MediaProgress, MediaRole, Output, Phase,
    },
    session::ConnectionStatus,
};

/// Where a call's media comes from and goes to by default; a fresh set per call. Called off
/// the async runtime (opening a device may block). Devices the user picked replace these.
/// Called with [`CallKind::Voice`] for a video call whose camera starts off (answered by
/// voice): a camera is only opened when it is to film.
pub type DeviceFactory = Arc<dyn Fn(CallKind) -> Devices + Send + Sync>;

/// A device the user picked, by its id in [`natter_media::devices::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceChoice {
    Camera(String),
    Microphone(String),
    Speaker(String),
}

/// The user's picks so far (`None`: the factory's default).
#[derive(Debug, Clone, Default)]
struct Chosen {
    camera: Option<String>,
    microphone: Option<String>,
    speaker: Option<String>,
}

/// A device opened for a call.
enum Opened {
    Camera(Box<dyn devices::Camera>),
    Microphone(Box<dyn devices::Microphone>),
    Speaker(Arc<dyn devices::AudioSink>),
}

/// Opens a picked device (blocking: the system is asked).
fn open(choice: &DeviceChoice, video: VideoSettings) -> Result<Opened, devices::DeviceError> {
    Ok(match choice {
        DeviceChoice::Camera(id) => Opened::Camera(devices::open_camera(
            id,
            video.width,
            video.height,
            video.frame_rate,
        )?),
        DeviceChoice::Microphone(id) => Opened::Microphone(devices::open_microphone(id)?),
        DeviceChoice::Speaker(id) => Opened::Speaker(devices::open_speaker(id)?),
    })
}

/// How this client makes calls.
#[derive(Clone)]
pub struct CallSettings {
    /// Local UDP addresses for host candidates (`0.0.0.0:0`: every interface but loopback).
    pub udp_bind: Vec<String>,
    /// Resolve peers' mDNS (`.local`) candidates; needs a multicast-capable network.
    pub mdns: bool,
    /// Relay every call through TURN (hides this device's addresses from the peer).
    pub relay_only: bool,
    pub video: VideoSettings,
    pub devices: DeviceFactory,
}

impl Default for CallSettings {
    fn default() -> Self {
        Self {
            udp_bind: vec!["0.0.0.0:0".into()],
            mdns: true,
            relay_only: false,
            video: VideoSettings::default(),
            devices: Arc::new(|_| Devices::default()),
        }
    }
}

impl std::fmt::Debug for CallSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallSettings")
            .field("udp_bind", &self.udp_bind)
            .field("mdns", &self.mdns)
            .field("relay_only", &self.relay_only)
            .field("video", &self.video)
            .finish_non_exhaustive()
    }
}

/// The media's figures, for a quality indicator (and scripts).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct CallStatsView {
    pub call_id: CallId,
    pub rtt_ms: Option<f64>,
    pub loss_fraction: f64,
    pub packets_lost: i64,
    pub sent_bitrate_bps: u64,
    pub received_bitrate_bps: u64,
    pub target_bitrate_bps: u64,
    pub video_bitrate_bps: u32,
    pub frames_sent: u32,
    pub frames_decoded: u32,
    pub decoded_frame_rate: f64,
    pub remote_width: Option<u32>,
    pub remote_height: Option<u32>,
    pub keyframes_requested: u32,
    pub ice_restarts: u32,
    /// `relay` when the media goes through TURN.
    pub local_candidate_type: Option<&'static str>,
}

impl CallStatsView {
    fn new(call_id: CallId, stats: CallStats) -> Self {
        Self {
            call_id,
            rtt_ms: stats.rtt_ms,
            loss_fraction: stats.loss_fraction,
            packets_lost: stats.packets_lost,
            sent_bitrate_bps: stats.sent_bitrate_bps,
            received_bitrate_bps: stats.received_bitrate_bps,
            target_bitrate_bps: stats.target_bitrate_bps,
            video_bitrate_bps: stats.video_bitrate_bps,
            frames_sent: stats.frames_sent,
            frames_decoded: stats.frames_decoded,
            decoded_frame_rate: stats.decoded_frame_rate,
            remote_width: stats.remote_resolution.map(|(width, _)| width),
            remote_height: stats.remote_resolution.map(|(_, height)| height),
            keyframes_requested: stats.keyframes_requested,
            ice_restarts: stats.ice_restarts,
            local_candidate_type: stats.local_candidate_type,
        }
    }
}

/// What the call task tells the client.
#[derive(Debug, Clone)]
pub enum CallNews {
    Changed(CallView),
    Stats(CallStatsView),
}

pub(crate) enum Intent {
    Place {
        callee: UserId,
        kind: CallKind,
        reply: oneshot::Sender<Result<CallId, CallError>>,
    },
    Input {
        input: Input,
        reply: oneshot::Sender<Result<(), CallError>>,
    },
    /// Use this device from now on: in the call in progress (switched at once), and in the
    /// next ones. A device that cannot be opened mid-call leaves the call as it was.
    UseDevice {
        choice: DeviceChoice,
        reply: oneshot::Sender<Result<(), devices::DeviceError>>,
    },
}

/// The handles the client keeps to its call task.
pub(crate) struct CallTask {
    pub intents: mpsc::UnboundedSender<Intent>,
    pub frames: mpsc::UnboundedSender<ServerFrame>,
    pub view: watch::Receiver<Option<CallView>>,
}

fn to_media(signal: CallSignal) -> Signal {
    match signal {
        CallSignal::Offer { sdp } => Signal::Offer(sdp),
        CallSignal::Answer { sdp } => Signal::Answer(sdp),
        CallSignal::IceCandidate {
            candidate,
            sdp_mid,
            sdp_mline_index,
        } => Signal::Candidate {
            candidate,
            sdp_mid,
            sdp_mline_index,
        },
        CallSignal::EndOfCandidates => Signal::EndOfCandidates,
    }
}

fn from_media(signal: Signal) -> CallSignal {
    match signal {
        Signal::Offer(sdp) => CallSignal::Offer { sdp },
        Signal::Answer(sdp) => CallSignal::Answer { sdp },
        Signal::Candidate {
            candidate,
            sdp_mid,
            sdp_mline_index,
        } => CallSignal::IceCandidate {
            candidate,
            sdp_mid,
            sdp_mline_index,
        },
        Signal::EndOfCandidates => CallSignal::EndOfCandidates,
    }
}

/// Starts the call task. `send` puts a frame on the realtime socket (false when offline);
/// `news` receives what the UI shows.
pub(crate) fn spawn(
    api: Api,
    settings: CallSettings,
    status: watch::Receiver<ConnectionStatus>,
    send: impl Fn(ClientFrame) -> bool + Send + 'static,
    news: impl Fn(CallNews) + Send + 'static,
) -> CallTask {
    let (intents, intents_rx) = mpsc::unbounded_channel();
    let (frames, frames_rx) = mpsc::unbounded_channel();
    let (view_tx, view) = watch::channel(None);
    let runner = CallShell {
        api,
        settings,
        machine: CallMachine::default(),
        media: None,
        chosen: Chosen::default(),
        send: Box::new(send),
        news: Box::new(news),
        view: view_tx,
    };
    tokio::spawn(runner.run(intents_rx, frames_rx, status));
    CallTask {
        intents,
        frames,
        view,
    }
}

struct ActiveMedia {
    call_id: CallId,
    kind: CallKind,
    session: MediaSession,
    events: mpsc::UnboundedReceiver<MediaEvent>,
    /// A camera feeds the call (a video call answered by voice has none until turned on).
    has_camera: bool,
    /// The camera switch as last applied: a camera is opened late only when it turns on.
    camera_on: bool,
}

struct CallShell {
    api: Api,
    settings: CallSettings,
    machine: CallMachine,
    media: Option<ActiveMedia>,
    chosen: Chosen,
    send: Box<dyn Fn(ClientFrame) -> bool + Send>,
    news: Box<dyn Fn(CallNews) + Send>,
    view: watch::Sender<Option<CallView>>,
}

impl CallShell {
    async fn run(
        mut self,
        mut intents: mpsc::UnboundedReceiver<Intent>,
        mut frames: mpsc::UnboundedReceiver<ServerFrame>,
        mut status: watch::Receiver<ConnectionStatus>,
    ) {
        let mut stats_tick = tokio::time::interval(Duration::from_secs(1));
        let mut was_online = *status.borrow_and_update() == ConnectionStatus::Online;
        loop {
            let deadline = self.machine.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                intent = intents.recv() => match intent {
                    Some(Intent::Place { callee, kind, reply }) => {
                        let call_id = CallId::now_v7();
                        let result = self
                            .machine
                            .handle(Input::Place { call_id, callee, kind }, Instant::now())
                            // Placing may have answered the callee's own call instead.
                            .map(|()| self.machine.view().map_or(call_id, |call| call.call_id));
                        let _ = reply.send(result);
                    }
                    Some(Intent::Input { input, reply }) => {
                        // A camera turned on must open first: the peer is told it is on (and
                        // my view says so) only once it films.
                        let ready = if input == Input::SetCamera(true) {
                            self.open_camera_late().await
                        } else {
                            Ok(())
                        };
                        let result =
                            ready.and_then(|()| self.machine.handle(input, Instant::now()));
                        let _ = reply.send(result);
                    }
                    Some(Intent::UseDevice { choice, reply }) => {
                        let _ = reply.send(self.use_device(choice).await);
                    }
                    None => break,
                },
                Ok(()) = status.changed() => {
                    // Only the moves into and out of Online count: a call placed while offline
                    // waits for the connection (its invite is held), and must not end with each
                    // further retry.
                    let online = *status.borrow_and_update() == ConnectionStatus::Online;
                    if online != was_online {
                        was_online = online;
                        let input = if online { Input::ServerBack } else { Input::ServerLost };
                        let _ = self.machine.handle(input, Instant::now());
                    }
                }
                frame = frames.recv() => match frame {
                    Some(frame) => {
                        let _ = self.machine.handle(Input::Frame(Box::new(frame)), Instant::now());
                        // A frame of a connection that has just dropped, handled after the
                        // drop was: it must not leave a call ringing.
                        if *status.borrow() != ConnectionStatus::Online {
                            let _ = self.machine.handle(Input::ServerLost, Instant::now());
                        }
                    }
                    None => break,
                },
                event = async {
                    match self.media.as_mut() {
                        Some(media) => media.events.recv().await,
                        None => std::future::pending().await,
                    }
                } => match event {
                    Some(MediaEvent::Signal(signal)) => {
                        let _ = self
                            .machine
                            .handle(Input::LocalSignal(from_media(signal)), Instant::now());
                    }
                    Some(MediaEvent::State(state)) => {
                        let progress = match state {
                            MediaState::Connecting => None,
                            MediaState::Connected => Some(MediaProgress::Connected),
                            MediaState::Reconnecting => Some(MediaProgress::Reconnecting),
                            MediaState::Failed => Some(MediaProgress::Failed),
                        };
                        if let Some(progress) = progress {
                            let _ = self.machine.handle(Input::Media(progress), Instant::now());
                        }
                    }
                    None => {
                        let _ = self
                            .machine
                            .handle(Input::Media(MediaProgress::Failed), Instant::now());
                    }
                },
                () = sleep => self.machine.handle_timeout(Instant::now()),
                _ = stats_tick.tick() => {
                    if let Some(media) = &self.media {
                        let stats = media.session.stats().await;
                        (self.news)(CallNews::Stats(CallStatsView::new(media.call_id, stats)));
                    }
                }
            }
            self.perform().await;
        }
        if let Some(media) = self.media.take() {
            media.session.close().await;
        }
    }

    async fn perform(&mut self) {
        // Performing may feed the machine again (a media start that fails), so loop.
        loop {
            let outputs = self.machine.drain();
            if outputs.is_empty() {
                return;
            }
            for output in outputs {
                match output {
                    Output::Send(frame) => {
                        if !(self.send)(frame) {
                            tracing::warn!("offline: a call frame was not sent");
                        }
                    }
                    Output::StartMedia {
                        call_id,
                        role,
                        kind,
                    } => {
                        if let Err(error) = self.start_media(call_id, role, kind).await {
                            tracing::warn!(%error, "the call's media could not start");
                            let _ = self
                                .machine
                                .handle(Input::Media(MediaProgress::Failed), Instant::now());
                        }
                    }
                    Output::StopMedia => {
                        if let Some(media) = self.media.take() {
                            media.session.close().await;
                        }
                    }
                    Output::ToMedia(signal) => {
                        if let Some(media) = &self.media {
                            media.session.handle_signal(to_media(signal));
                        }
                    }
                    Output::MediaSwitches { muted, camera_on } => {
                        // A camera turned on was opened before the machine heard of it.
                        if let Some(media) = self.media.as_mut() {
                            media.session.set_muted(muted);
                            media.session.set_camera_on(camera_on);
                            media.camera_on = camera_on;
                        }
                    }
                    Output::Changed(view) => {
                        if view.phase == Phase::Ended {
                            // Devices switched to during a call are for that call; the
                            // defaults are the factory's (the app's settings).
                            self.chosen = Chosen::default();
                        }
                        self.view.send_replace(Some(view.clone()));
                        (self.news)(CallNews::Changed(view));
                    }
                }
            }
        }
    }

    async fn start_media(
        &mut self,
        call_id: CallId,
        role: MediaRole,
        kind: CallKind,
    ) -> anyhow::Result<()> {
        if let Some(media) = self.media.take() {
            media.session.close().await;
        }
        let ice_servers = match self.api.ice_servers().await {
            Ok(servers) => servers
                .ice_servers
                .into_iter()
                .map(|server| IceServer {
                    urls: server.urls,
                    username: server.username.unwrap_or_default(),
                    credential: server.credential.unwrap_or_default(),
                })
                .collect(),
            Err(error) => {
                // Devices on one network still connect through host candidates.
                tracing::warn!(%error, "no ICE servers from the server");
                Vec::new()
            }
        };
        let config = MediaConfig {
            ice_servers,
            relay_only: self.settings.relay_only,
            udp_bind: self.settings.udp_bind.clone(),
            video: (kind == CallKind::Video).then_some(self.settings.video),
            mdns: self.settings.mdns,
        };
        let role = match role {
            MediaRole::Offerer => Role::Offerer,
            MediaRole::Answerer => Role::Answerer,
        };
        let camera_on = self.machine.view().is_some_and(|view| view.camera_on);
        let devices = self
            .devices_for(if camera_on { kind } else { CallKind::Voice })
            .await?;
        let has_camera = devices.camera.is_some();
        if camera_on && !has_camera {
            // No camera here (or none opens): the call goes on with my camera off, and the
            // peer, who assumes a video call's camera is on, is told it is not.
            tracing::warn!("no camera opens: the call goes on with the camera off");
            self.machine
                .handle(Input::SetCamera(false), Instant::now())
                .map_err(|error| anyhow::anyhow!("the camera could not be turned off: {error}"))?;
        }
        let camera_on = camera_on && has_camera;
        let (session, events) = MediaSession::start(config, role, devices).await?;
        if let Some(view) = self.machine.view() {
            session.set_muted(view.muted);
            session.set_camera_on(view.camera_on);
        }
        self.media = Some(ActiveMedia {
            call_id,
            kind,
            session,
            events,
            has_camera,
            camera_on,
        });
        Ok(())
    }

    /// The camera of a video call that has none (answered by voice, or none opened when it
    /// started), about to be turned on: opened now (the pick, else the factory's default).
    /// Fails when none opens, and the camera stays off. Nothing to do before the media starts
    /// (it opens the camera then) or when a camera is there.
    async fn open_camera_late(&mut self) -> Result<(), CallError> {
        let Some(media) = self.media.as_ref() else {
            return Ok(());
        };
        if media.has_camera || media.kind != CallKind::Video {
            return Ok(());
        }
        let factory = self.settings.devices.clone();
        let picked = self.chosen.camera.clone();
        let video = self.settings.video;
        let opened = tokio::task::spawn_blocking(move || {
            let picked = picked.and_then(|id| match open(&DeviceChoice::Camera(id), video) {
                Ok(Opened::Camera(camera)) => Some(camera),
                _ => None,
            });
            // The factory opens a whole set; only its camera is kept.
            picked.or_else(|| factory(CallKind::Video).camera)
        })
        .await;
        let Ok(Some(camera)) = opened else {
            tracing::warn!("the camera was turned on but none opens");
            return Err(CallError::NoCamera);
        };
        match media.session.switch_camera(camera).await {
            Ok(()) => {
                if let Some(media) = self.media.as_mut() {
                    media.has_camera = true;
                }
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, "the camera was turned on but does not start");
                Err(CallError::NoCamera)
            }
        }
    }

    /// Switches the call in progress to `choice` (for this call only); outside a call,
    /// nothing: the defaults are the device factory's.
    async fn use_device(&mut self, choice: DeviceChoice) -> Result<(), devices::DeviceError> {
        // The call may have ended since the caller looked: its pick must not outlive it.
        if !self.machine.busy() {
            return Ok(());
        }
        // A camera picked while mine is off (a video call answered by voice) is not opened:
        // it is remembered for when the camera turns on.
        let camera_waits = matches!(choice, DeviceChoice::Camera(_))
            && self
                .media
                .as_ref()
                .is_some_and(|media| !media.has_camera && !media.camera_on);
        if let Some(media) = self.media.as_ref().filter(|_| !camera_waits) {
            let video = self.settings.video;
            let wanted = choice.clone();
            let opened = tokio::task::spawn_blocking(move || open(&wanted, video))
                .await
                .map_err(|error| devices::DeviceError::Unavailable(error.to_string()))??;
            let switched = match opened {
                Opened::Camera(camera) => {
                    let switched = media.session.switch_camera(camera).await;
                    if switched.is_ok()
                        && let Some(media) = self.media.as_mut()
                    {
                        media.has_camera = true;
                    }
                    switched
                }
                Opened::Microphone(microphone) => media.session.switch_microphone(microphone).await,
                Opened::Speaker(speaker) => {
                    media.session.switch_speaker(speaker);
                    Ok(())
                }
            };
            switched.map_err(|error| devices::DeviceError::Unavailable(error.to_string()))?;
        }
        match choice {
            DeviceChoice::Camera(id) => self.chosen.camera = Some(id),
            DeviceChoice::Microphone(id) => self.chosen.microphone = Some(id),
            DeviceChoice::Speaker(id) => self.chosen.speaker = Some(id),
        }
        Ok(())
    }

    /// The factory's devices with the user's picks in their place; a pick that no longer
    /// opens (unplugged) falls back to the default, so the call still starts. (`&mut`: the
    /// runner is `Send` but not `Sync`.)
    async fn devices_for(&mut self, kind: CallKind) -> anyhow::Result<Devices> {
        let factory = self.settings.devices.clone();
        let chosen = self.chosen.clone();
        let video = self.settings.video;
        let devices = tokio::task::spawn_blocking(move || {
            let mut devices = factory(kind);
            let picks = [
                chosen
                    .camera
                    .filter(|_| kind == CallKind::Video)
                    .map(DeviceChoice::Camera),
                chosen.microphone.map(DeviceChoice::Microphone),
                chosen.speaker.map(DeviceChoice::Speaker),
            ];
            for choice in picks.into_iter().flatten() {
                match open(&choice, video) {
                    Ok(Opened::Camera(camera)) => devices.camera = Some(camera),
                    Ok(Opened::Microphone(microphone)) => devices.microphone = Some(microphone),
                    Ok(Opened::Speaker(speaker)) => devices.audio_sink = Some(speaker),
                    Err(error) => {
                        tracing::warn!(%error, ?choice, "the picked device is gone; using the default")
                    }
                }
            }
            devices
        })
        .await?;
        Ok(devices)
    }
}

#[cfg(test)]
mod tests;
