//! Calls in the desktop app, the shell around [`CallAlerts`]: it shows the page the call
//! (`natter://call`, shaped in `call_view.rs`) and performs what the alert machine decides to
//! make an incoming call impossible to miss: the ringtone (played natively), the always-on-top
//! call window, the tray icon, the notification (whose buttons come back here as intents) and
//! the main window's attention request. It also runs the settings' device test.

use std::sync::Arc;

use natter_client::{
    Client,
    call_machine::{CallView, Phase},
};
use natter_media::{
    devices::Capture,
    ring::{self, Tune},
};
use natter_protocol::{CallId, ConversationId};
use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};
use tokio::sync::Mutex;

use crate::{
    call_alerts::{Answer, CallAlerts, Effect},
    call_view::{CallScreenView, ended_text},
    frames::Streams,
    media::{self, SharedPicks},
    notifications::{self, Shown},
};

/// How long ringing may wait for the server to say who calls (when no conversation does).
const PEER_LOOKUP: std::time::Duration = std::time::Duration::from_millis(800);

/// Label of the small incoming-call window.
pub const CALL_WINDOW: &str = "call";

/// Who is on the other end, as shown.
#[derive(Debug, Clone)]
struct Peer {
    name: String,
    avatar_url: Option<String>,
    conversation_id: Option<ConversationId>,
}

#[derive(Default)]
struct DeskState {
    /// The client that reported the call, to answer it from the notification.
    client: Option<Client>,
    /// The peer of the current call, looked up once.
    peer: Option<(CallId, Peer)>,
    alerts: CallAlerts<Shown>,
    /// The sound playing.
    sound: Option<Capture>,
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
    pub async fn changed(&self, app: &AppHandle, client: &Client, call: CallView, notify: bool) {
        let peer = self.peer(client, &call).await;
        let (view, effects) = {
            let mut state = self.state.lock().await;
            state.client = Some(client.clone());
            let now = now_ms();
            let effects = state.alerts.call_changed(&call, notify, now);
            let connected_at = state.alerts.connected_at(call.call_id);
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
                        connected_at.map(|at| now - at),
                    )
                }),
            };
            state.current = (!ended).then(|| view.clone());
            (view, effects)
        };
        // Runs on the event forwarder, one change at a time, so no other change comes while
        // the speaker opens.
        self.perform(app, effects, &view).await;
        if let Err(error) = crate::page_events::emit(app, &view) {
            tracing::warn!(%error, "call not shown");
        }
    }

    /// Does what the alert machine decided, in its order.
    async fn perform(&self, app: &AppHandle, effects: Vec<Effect<Shown>>, view: &CallScreenView) {
        for effect in effects {
            match effect {
                Effect::Sound(tune) => self.play(tune).await,
                Effect::RaiseAlerts => {
                    open_call_window(app);
                    crate::tray::set_ringing(app, Some(&view.peer_name));
                    if let Some(window) = app.get_webview_window("main") {
                        let _ =
                            window.request_user_attention(Some(tauri::UserAttentionType::Critical));
                    }
                }
                Effect::ShowIncomingNotification { call_id } => {
                    // On its own: a slow notification server must hold up neither the
                    // ringtone, the page (`current_call`), nor the event that stops the ringing.
                    let (desk, app, view) = (self.clone(), app.clone(), view.clone());
                    tauri::async_runtime::spawn(async move {
                        let answers = {
                            let (desk, app) = (desk.clone(), app.clone());
                            move |answer| desk.answer_from_notification(&app, call_id, answer)
                        };
                        let shown =
                            notifications::incoming_call(&app, &view, Box::new(answers)).await;
                        let effects = desk
                            .state
                            .lock()
                            .await
                            .alerts
                            .notification_shown(call_id, shown);
                        // Only notifications to take away can follow.
                        for effect in effects {
                            if let Effect::EndNotification { shown, missed } = effect {
                                notifications::ringing_over(&app, shown, missed.then_some(&view));
                            }
                        }
                    });
                }
                Effect::TakeDownAlerts => take_down_alerts(app),
                Effect::EndNotification { shown, missed } => {
                    notifications::ringing_over(app, shown, missed.then_some(view));
                }
                Effect::StopDeviceTest => self.stop_device_test().await,
                Effect::CallOver => {
                    self.streams.remote.clear();
                    self.streams.local.clear();
                    if let Some(window) = app.get_webview_window("main") {
                        let _ = window.set_fullscreen(false);
                    }
                }
            }
        }
    }

    /// Starts the tune (or none), stopping what played.
    async fn play(&self, tune: Option<Tune>) {
        let stopped = self.state.lock().await.sound.take();
        // Stopping joins the sound thread.
        if let Some(stopped) = stopped {
            let _ = tauri::async_runtime::spawn_blocking(move || drop(stopped)).await;
        }
        let Some(tune) = tune else { return };
        let picks = self.picks.read().map(|p| p.clone()).unwrap_or_default();
        // Opening a sound card blocks.
        let started = tauri::async_runtime::spawn_blocking(move || {
            ring::play(tune, media::open_speaker(&picks))
        })
        .await;
        match started {
            Ok(Ok(capture)) => self.state.lock().await.sound = Some(capture),
            Ok(Err(error)) => tracing::warn!(%error, "the ringtone does not play"),
            Err(error) => tracing::warn!(%error, "the ringtone does not play"),
        }
    }

    /// A button of the incoming call's notification: an intent, carried out only if that call
    /// still rings here.
    fn answer_from_notification(&self, app: &AppHandle, call_id: CallId, answer: Answer) {
        let (desk, app) = (self.clone(), app.clone());
        tauri::async_runtime::spawn(async move {
            let (answer, client) = {
                let state = desk.state.lock().await;
                (state.alerts.answer(call_id, answer), state.client.clone())
            };
            let (Some(answer), Some(client)) = (answer, client) else {
                tracing::info!("the notification's call no longer rings: nothing to answer");
                return;
            };
            let answered = match answer {
                Answer::Accept { video } => {
                    desk.stop_device_test().await;
                    let accepted = client.accept_call(video).await;
                    crate::tray::show_main_window(&app);
                    accepted
                }
                Answer::Decline => client.decline_call().await,
            };
            if let Err(error) = answered {
                tracing::warn!(?answer, %error, "the call was not answered");
            }
        });
    }

    /// Forgets the call (signed out: the client is gone and will say nothing more): stops the
    /// sounds and the device test, takes the ringing alerts down, clears the pictures.
    pub async fn reset(&self, app: &AppHandle) {
        let (effects, sound, test, speaker_test) = {
            let mut state = self.state.lock().await;
            let effects = state.alerts.reset();
            let state = std::mem::take(&mut *state);
            (effects, state.sound, state.test, state.speaker_test)
        };
        for effect in effects {
            match effect {
                Effect::TakeDownAlerts => take_down_alerts(app),
                Effect::EndNotification { shown, .. } => {
                    notifications::ringing_over(app, shown, None);
                }
                _ => {}
            }
        }
        // Stopping sounds and devices joins their threads.
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
                    let _ = crate::page_events::emit(&app, &crate::page_events::MicLevel { level });
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
