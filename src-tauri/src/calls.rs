//! Calls in the desktop app: what the page is shown of the call (`natter://call`), and what makes
//! an incoming call impossible to miss: the ringtone (played natively), the always-on-top call
//! window, the tray icon, the notification and the main window's attention request. All of it
//! follows the call's phase, so it stops everywhere the moment the call is answered (here or on
//! another device), cancelled or timed out.

use std::sync::Arc;

use natter_client::{
    Client,
    call_machine::{CallView, Direction, Ending, Phase},
    call_shell::CallStatsView,
    view::talk_time,
};
use natter_media::{
    devices::Capture,
    ring::{self, Tune},
};
use natter_protocol::{CallEndReason, CallId, ConversationId};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, WebviewUrl, WebviewWindowBuilder};
use tokio::sync::Mutex;

use crate::{
    frames::Streams,
    media::{self, SharedPicks},
};

/// How long ringing may wait for the server to say who calls (when no conversation does).
const PEER_LOOKUP: std::time::Duration = std::time::Duration::from_millis(800);

/// Label of the small incoming-call window.
pub const CALL_WINDOW: &str = "call";

/// The call as the page shows it (docs/desktop-ipc.md, `CallView`).
#[derive(Debug, Clone, Serialize)]
pub struct CallScreenView {
    /// The call as the client core sees it.
    #[serde(flatten)]
    pub call: CallView,
    pub peer_name: String,
    pub peer_avatar_url: Option<String>,
    pub conversation_id: Option<ConversationId>,
    /// When media first connected (ms since the Unix epoch): the call timer counts from here.
    pub connected_at: Option<i64>,
    pub ended_text: Option<String>,
}

/// The media figures with a verdict for the quality indicator.
#[derive(Debug, Clone, Serialize)]
pub struct CallStatsScreenView {
    #[serde(flatten)]
    pub stats: CallStatsView,
    pub quality: Quality,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    Good,
    Fair,
    Poor,
}

/// Good below 150 ms round trip and 2 % loss (a conversation flows); poor beyond 400 ms or
/// 8 % (people talk over each other, video freezes); fair between.
pub fn quality(stats: &CallStatsView) -> Quality {
    let rtt = stats.rtt_ms.unwrap_or(0.0);
    let loss = stats.loss_fraction;
    if rtt > 400.0 || loss > 0.08 {
        Quality::Poor
    } else if rtt > 150.0 || loss > 0.02 {
        Quality::Fair
    } else {
        Quality::Good
    }
}

/// Who is on the other end, as shown.
#[derive(Debug, Clone)]
struct Peer {
    name: String,
    avatar_url: Option<String>,
    conversation_id: Option<ConversationId>,
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

/// An incoming call this device never picked up (and no other of mine did).
fn missed_here(call: &CallView) -> bool {
    call.direction == Direction::Incoming
        && matches!(&call.ending, Some(Ending::Ended { reason }) if reason.missed_by_callee())
}

/// Which sound the call's phase wants.
fn tune_for(call: &CallView) -> Option<Tune> {
    match call.phase {
        Phase::Incoming => Some(Tune::Ringtone),
        Phase::Outgoing if call.ringing => Some(Tune::Ringback),
        _ => None,
    }
}

#[derive(Default)]
struct DeskState {
    /// The peer of the current call, looked up once.
    peer: Option<(CallId, Peer)>,
    connected_at: Option<(CallId, i64)>,
    /// The sound playing and the call it is for.
    sound: Option<(CallId, Tune, Capture)>,
    /// The call whose ringing alerts (window, tray, notification, attention) are up.
    alerted: Option<CallId>,
    /// The incoming-call notification, to turn into "missed" or take away.
    notification: Option<crate::notifications::Shown>,
    /// The call in progress as last shown.
    current: Option<CallScreenView>,
    /// The settings' device test.
    test: Option<DeviceTest>,
    /// The speaker test's beeps, while they play.
    speaker_test: Option<Capture>,
}

/// The settings' camera preview and microphone level meter.
struct DeviceTest {
    _camera: Option<Capture>,
    _microphone: Option<Capture>,
    tasks: Vec<tauri::async_runtime::JoinHandle<()>>,
}

impl Drop for DeviceTest {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Managed by Tauri; fed by the event forwarder and the call commands.
#[derive(Clone)]
pub struct CallDesk {
    state: Arc<Mutex<DeskState>>,
    pub streams: Arc<Streams>,
    pub picks: SharedPicks,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

impl CallDesk {
    pub fn new(streams: Arc<Streams>, picks: SharedPicks) -> Self {
        Self {
            state: Arc::default(),
            streams,
            picks,
        }
    }

    /// The call in progress, as the page shows it.
    pub async fn current(&self) -> Option<CallScreenView> {
        self.state.lock().await.current.clone()
    }

    async fn peer(&self, client: &Client, call: &CallView) -> Peer {
        if let Some((id, peer)) = &self.state.lock().await.peer
            && *id == call.call_id
        {
            return peer.clone();
        }
        let direct = client.conversations().await.ok().and_then(|list| {
            list.into_iter()
                .find(|conversation| conversation.peer_id == Some(call.peer_id))
        });
        let peer = match direct {
            Some(conversation) => Peer {
                name: conversation.title,
                avatar_url: conversation.avatar_url,
                conversation_id: Some(conversation.id),
            },
            // Someone without a direct conversation yet: asked of the server, but a slow one
            // must not hold up the ringing.
            None => {
                match tokio::time::timeout(PEER_LOOKUP, client.api().user(call.peer_id)).await {
                    Ok(Ok(user)) => Peer {
                        name: user.display_name,
                        avatar_url: user.avatar_url,
                        conversation_id: None,
                    },
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "caller not looked up");
                        Peer {
                            name: "Someone".to_owned(),
                            avatar_url: None,
                            conversation_id: None,
                        }
                    }
                    Err(_) => {
                        tracing::debug!("caller not looked up in time");
                        Peer {
                            name: "Someone".to_owned(),
                            avatar_url: None,
                            conversation_id: None,
                        }
                    }
                }
            }
        };
        self.state.lock().await.peer = Some((call.call_id, peer.clone()));
        peer
    }

    /// The call changed: show it, and ring or stop ringing.
    pub async fn changed(&self, app: &AppHandle, client: &Client, call: CallView) {
        let peer = self.peer(client, &call).await;
        let view = {
            let mut state = self.state.lock().await;
            if call.phase == Phase::Connected
                && state.connected_at.is_none_or(|(id, _)| id != call.call_id)
            {
                state.connected_at = Some((call.call_id, now_ms()));
            }
            let connected_at = state
                .connected_at
                .filter(|(id, _)| *id == call.call_id)
                .map(|(_, at)| at);
            let ended = call.phase == Phase::Ended;
            let view = CallScreenView {
                call: call.clone(),
                peer_name: peer.name.clone(),
                peer_avatar_url: peer.avatar_url.clone(),
                conversation_id: peer.conversation_id,
                connected_at,
                ended_text: ended.then(|| {
                    ended_text(
                        call.ending.as_ref(),
                        call.direction,
                        connected_at.map(|at| now_ms() - at),
                    )
                }),
            };
            state.current = (!ended).then(|| view.clone());
            view
        };
        // The window and the tray first: the ringtone waits for a sound card to open.
        self.alert(app, &call, &view).await;
        self.play(&call).await;
        if call.phase == Phase::Connecting {
            // The call needs the camera and microphone the settings' test may hold.
            self.stop_device_test().await;
        }
        if call.phase == Phase::Ended {
            self.streams.remote.clear();
            self.streams.local.clear();
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.set_fullscreen(false);
            }
        }
        if let Err(error) = app.emit("natter://call", &view) {
            tracing::warn!(%error, "call not shown");
        }
    }

    /// Starts or stops the ringtone or the ringback as the phase wants. Runs on the event
    /// forwarder, one change at a time, so no other change can come while the speaker opens.
    async fn play(&self, call: &CallView) {
        let wanted = tune_for(call);
        let stopped = {
            let mut state = self.state.lock().await;
            let playing = state.sound.as_ref().map(|(id, tune, _)| (*id, *tune));
            if playing == wanted.map(|tune| (call.call_id, tune)) {
                return;
            }
            state.sound.take()
        };
        // Stopping joins the sound thread.
        if let Some(stopped) = stopped {
            let _ = tauri::async_runtime::spawn_blocking(move || drop(stopped)).await;
        }
        let Some(tune) = wanted else { return };
        let picks = self.picks.read().map(|p| p.clone()).unwrap_or_default();
        // Opening a sound card blocks.
        let started = tauri::async_runtime::spawn_blocking(move || {
            ring::play(tune, media::open_speaker(&picks))
        })
        .await;
        match started {
            Ok(Ok(capture)) => self.state.lock().await.sound = Some((call.call_id, tune, capture)),
            Ok(Err(error)) => tracing::warn!(%error, "the ringtone does not play"),
            Err(error) => tracing::warn!(%error, "the ringtone does not play"),
        }
    }

    /// Raises the incoming-call alerts when ringing starts here, takes them down when it stops.
    async fn alert(&self, app: &AppHandle, call: &CallView, view: &CallScreenView) {
        let ringing_here = call.phase == Phase::Incoming;
        let notify = app
            .state::<crate::desktop::Desktop>()
            .settings()
            .await
            .notifications;
        let mut state = self.state.lock().await;
        if ringing_here && state.alerted != Some(call.call_id) {
            state.alerted = Some(call.call_id);
            drop(state);
            open_call_window(app);
            crate::tray::set_ringing(app, Some(&view.peer_name));
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.request_user_attention(Some(tauri::UserAttentionType::Critical));
            }
            if notify {
                // On its own: a slow notification server must hold up neither the ringtone,
                // the page (`current_call`), nor the event that stops the ringing.
                let (desk, app, view, call_id) =
                    (self.clone(), app.clone(), view.clone(), call.call_id);
                tauri::async_runtime::spawn(async move {
                    let shown = crate::notifications::incoming_call(&app, &view).await;
                    let mut state = desk.state.lock().await;
                    if state.alerted == Some(call_id) {
                        // The same call may ring again (the server lost and back) before an
                        // earlier notification of it was shown: only the newest stays.
                        let earlier = std::mem::replace(&mut state.notification, shown);
                        crate::notifications::ringing_over(&app, earlier, None);
                    } else {
                        crate::notifications::ringing_over(&app, shown, None);
                    }
                });
            }
        } else if !ringing_here && state.alerted.is_some() {
            state.alerted = None;
            let shown = state.notification.take();
            drop(state);
            take_down_alerts(app);
            let missed = missed_here(call);
            crate::notifications::ringing_over(app, shown, (missed && notify).then_some(view));
        } else if call.phase == Phase::Ended && missed_here(call) && notify {
            // Missed without ever ringing here (it rang out while this device was connecting).
            crate::notifications::ringing_over(app, None, Some(view));
        }
    }

    /// Forgets the call (signed out: the client is gone and will say nothing more): stops the
    /// sounds and the device test, takes the ringing alerts down, clears the pictures.
    pub async fn reset(&self, app: &AppHandle) {
        let state = std::mem::take(&mut *self.state.lock().await);
        if state.alerted.is_some() {
            take_down_alerts(app);
            crate::notifications::ringing_over(app, state.notification, None);
        }
        // Stopping sounds and devices joins their threads.
        let (sound, test, speaker_test) = (state.sound, state.test, state.speaker_test);
        let _ =
            tauri::async_runtime::spawn_blocking(move || drop((sound, test, speaker_test))).await;
        self.streams.remote.clear();
        self.streams.local.clear();
        self.streams.preview.clear();
    }

    /// Starts the settings' camera preview and microphone level meter (stopping any running).
    pub async fn start_device_test(
        &self,
        app: &AppHandle,
        camera: Option<String>,
        microphone: Option<String>,
    ) -> Result<(), String> {
        self.stop_device_test().await;
        let mut picks = self.picks.read().map(|p| p.clone()).unwrap_or_default();
        picks.camera = camera.or(picks.camera);
        picks.microphone = microphone.or(picks.microphone);
        let video = natter_media::engine::VideoSettings::default();
        let (frames, mut frames_rx) = tokio::sync::mpsc::channel(2);
        let (sound, mut sound_rx) = tokio::sync::mpsc::channel(16);
        let opened = tauri::async_runtime::spawn_blocking(move || {
            let camera = media::open_camera(&picks, video).and_then(|camera| {
                camera
                    .start(frames)
                    .map_err(|error| tracing::warn!(%error, "camera test"))
                    .ok()
            });
            let microphone = media::open_microphone(&picks).and_then(|microphone| {
                microphone
                    .start(sound)
                    .map_err(|error| tracing::warn!(%error, "microphone test"))
                    .ok()
            });
            (camera, microphone)
        })
        .await
        .map_err(|error| error.to_string())?;
        let preview = self.streams.preview.clone();
        let pictures = tauri::async_runtime::spawn(async move {
            while let Some(frame) = frames_rx.recv().await {
                natter_media::devices::VideoSink::frame(&*preview, frame);
            }
        });
        let app = app.clone();
        let levels = tauri::async_runtime::spawn(async move {
            // Three 20 ms frames per reading: a meter that moves with speech, not with noise.
            let mut peak = 0i16;
            let mut frames = 0;
            while let Some(frame) = sound_rx.recv().await {
                let loudest = frame.samples.iter().map(|s| s.saturating_abs()).max();
                peak = peak.max(loudest.unwrap_or(0));
                frames += 1;
                if frames == 3 {
                    let level = f64::from(peak) / f64::from(i16::MAX);
                    let _ = app.emit("natter://mic-level", serde_json::json!({ "level": level }));
                    (peak, frames) = (0, 0);
                }
            }
        });
        self.state.lock().await.test = Some(DeviceTest {
            _camera: opened.0,
            _microphone: opened.1,
            tasks: vec![pictures, levels],
        });
        Ok(())
    }

    pub async fn stop_device_test(&self) {
        let test = self.state.lock().await.test.take();
        if let Some(test) = test {
            // Closing a device blocks.
            let _ = tauri::async_runtime::spawn_blocking(move || drop(test)).await;
        }
        self.streams.preview.clear();
    }

    /// Plays the speaker test on `id` (or the picked speaker).
    pub async fn test_speaker(&self, id: Option<String>) -> Result<(), String> {
        let mut picks = self.picks.read().map(|p| p.clone()).unwrap_or_default();
        picks.speaker = id.or(picks.speaker);
        let playing = tauri::async_runtime::spawn_blocking(move || {
            ring::play(Tune::SpeakerTest, media::open_speaker(&picks))
        })
        .await
        .map_err(|error| error.to_string())?
        .map_err(|error| error.to_string())?;
        let earlier = self.state.lock().await.speaker_test.replace(playing);
        if let Some(earlier) = earlier {
            let _ = tauri::async_runtime::spawn_blocking(move || drop(earlier)).await;
        }
        Ok(())
    }
}

/// Opens (or brings forward) the small always-on-top window with Accept and Decline.
fn open_call_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(CALL_WINDOW) {
        let _ = window.show();
        return;
    }
    let built =
        WebviewWindowBuilder::new(app, CALL_WINDOW, WebviewUrl::App("index.html#call".into()))
            .title("Incoming call — Natter")
            .inner_size(380.0, 240.0)
            .resizable(false)
            .maximizable(false)
            .minimizable(false)
            .always_on_top(true)
            .visible_on_all_workspaces(true)
            .center()
            .focused(true)
            .build();
    if let Err(error) = built {
        tracing::warn!(%error, "the call window did not open");
    }
}

/// The call window, the ringing tray and the attention request go (the notification is the
/// caller's to handle).
fn take_down_alerts(app: &AppHandle) {
    close_call_window(app);
    crate::tray::set_ringing(app, None);
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.request_user_attention(None);
    }
}

fn close_call_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(CALL_WINDOW)
        && let Err(error) = window.destroy()
    {
        tracing::warn!(%error, "the call window did not close");
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(quality(&stats(Some(20.0), 0.0)), Quality::Good);
        assert_eq!(quality(&stats(None, 0.0)), Quality::Good);
        assert_eq!(quality(&stats(Some(200.0), 0.0)), Quality::Fair);
        assert_eq!(quality(&stats(Some(20.0), 0.05)), Quality::Fair);
        assert_eq!(quality(&stats(Some(500.0), 0.0)), Quality::Poor);
        assert_eq!(quality(&stats(Some(20.0), 0.1)), Quality::Poor);
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
