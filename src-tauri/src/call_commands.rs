//! The call commands the webview may invoke (docs/desktop-ipc.md, "Calls"): thin calls into the
//! client core and [`CallDesk`]. Each is listed in `build.rs` and granted in `capabilities/`
//! (the incoming-call window gets only what it needs).

use natter_client::call_shell::DeviceChoice;
use natter_media::devices::DeviceList;
use natter_protocol::{CallKind, UserId};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, State};

use crate::{
    call_view::CallScreenView,
    calls::CallDesk,
    desktop::{AppStateView, Desktop, IpcError},
    media,
};

type Result<T> = std::result::Result<T, IpcError>;

#[tauri::command]
pub async fn start_call(
    desktop: State<'_, Desktop>,
    calls: State<'_, CallDesk>,
    peer_id: UserId,
    kind: CallKind,
) -> Result<()> {
    // The settings' device test would hold the camera and microphone the call opens.
    calls.stop_device_test().await;
    desktop.client().await?.place_call(peer_id, kind).await?;
    Ok(())
}

/// Accepts the call ringing here, with my camera off when `video` is false; brings the main
/// window forward for the call screen. Also what the notification's Accept does.
pub async fn accept(app: &AppHandle, video: bool) -> Result<()> {
    let client = app.state::<Desktop>().client().await?;
    app.state::<CallDesk>().stop_device_test().await;
    // By voice, the camera stays closed and the caller is told it is off.
    client.accept_call(video).await?;
    crate::tray::show_main_window(app);
    Ok(())
}

pub async fn decline(app: &AppHandle) -> Result<()> {
    Ok(app
        .state::<Desktop>()
        .client()
        .await?
        .decline_call()
        .await?)
}

#[tauri::command]
pub async fn accept_call(app: AppHandle, video: bool) -> Result<()> {
    accept(&app, video).await
}

#[tauri::command]
pub async fn decline_call(app: AppHandle) -> Result<()> {
    decline(&app).await
}

#[tauri::command]
pub async fn hang_up(desktop: State<'_, Desktop>) -> Result<()> {
    Ok(desktop.client().await?.hang_up().await?)
}

#[tauri::command]
pub async fn set_muted(desktop: State<'_, Desktop>, muted: bool) -> Result<()> {
    Ok(desktop.client().await?.set_muted(muted).await?)
}

#[tauri::command]
pub async fn set_camera(desktop: State<'_, Desktop>, on: bool) -> Result<()> {
    Ok(desktop.client().await?.set_camera(on).await?)
}

#[tauri::command]
pub async fn current_call(desk: State<'_, CallDesk>) -> Result<Option<CallScreenView>> {
    Ok(desk.current().await)
}

/// A camera, microphone or speaker; `id` goes to `use_device` and the settings.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DeviceView {
    id: String,
    name: String,
}

/// The system's devices, and the synthetic ones (a test pattern, a tone).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DevicesView {
    cameras: Vec<DeviceView>,
    microphones: Vec<DeviceView>,
    speakers: Vec<DeviceView>,
}

impl From<DeviceList> for DevicesView {
    fn from(list: DeviceList) -> Self {
        let views = |infos: Vec<natter_media::devices::DeviceInfo>| {
            infos
                .into_iter()
                .map(|info| DeviceView {
                    id: info.id,
                    name: info.name,
                })
                .collect()
        };
        Self {
            cameras: views(list.cameras),
            microphones: views(list.microphones),
            speakers: views(list.speakers),
        }
    }
}

#[tauri::command]
pub async fn devices() -> Result<DevicesView> {
    tauri::async_runtime::spawn_blocking(natter_media::devices::list)
        .await
        .map(DevicesView::from)
        .map_err(|error| IpcError::new("internal", error.to_string()))
}

#[derive(Debug, Clone, Copy, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Camera,
    Microphone,
    Speaker,
}

/// Keeps the device as the default and, in a call, switches to it now.
#[tauri::command]
pub async fn use_device(
    app: AppHandle,
    desktop: State<'_, Desktop>,
    kind: DeviceKind,
    id: Option<String>,
) -> Result<AppStateView> {
    if let Ok(client) = desktop.client().await
        && client
            .call()
            .is_some_and(|call| call.phase != natter_client::call_machine::Phase::Ended)
    {
        let id = match (kind, id.as_deref()) {
            // Cameras have no system default: "the system's choice" is the one a call would
            // open, the first that is listed (none: nothing to switch to, the setting stays).
            (DeviceKind::Camera, None) => tauri::async_runtime::spawn_blocking(media::first_camera)
                .await
                .ok()
                .flatten(),
            (_, id) => Some(media::id_or_default(id)),
        };
        if let Some(id) = id {
            let choice = match kind {
                DeviceKind::Camera => DeviceChoice::Camera(id),
                DeviceKind::Microphone => DeviceChoice::Microphone(id),
                DeviceKind::Speaker => DeviceChoice::Speaker(id),
            };
            client.use_device(choice).await?;
        }
    }
    let mut settings = desktop.settings().await;
    match kind {
        DeviceKind::Camera => settings.camera = id,
        DeviceKind::Microphone => settings.microphone = id,
        DeviceKind::Speaker => settings.speaker = id,
    }
    Ok(desktop.set_settings(&app, settings).await)
}

/// One call of the history, from my side.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CallHistoryEntry {
    call_id: natter_protocol::CallId,
    peer_id: UserId,
    peer_name: String,
    peer_avatar_url: Option<String>,
    conversation_id: Option<natter_protocol::ConversationId>,
    kind: CallKind,
    direction: natter_client::call_machine::Direction,
    /// An incoming call I never picked up.
    missed: bool,
    end_reason: natter_protocol::CallEndReason,
    started_at: i64,
    /// Talk time, 0 when never answered.
    duration_ms: i64,
    /// "Missed video call", "Outgoing voice call · 3:02".
    summary: String,
}

/// Newest first.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CallHistoryPage {
    calls: Vec<CallHistoryEntry>,
    has_more: bool,
}

#[tauri::command]
pub async fn call_history(
    desktop: State<'_, Desktop>,
    before: Option<i64>,
) -> Result<CallHistoryPage> {
    use natter_client::call_machine::Direction;

    let client = desktop.client().await?;
    let me = client.me().id;
    let history = client.api().call_history(before).await?;
    let conversations = client.conversations().await.unwrap_or_default();
    let mut calls = Vec::with_capacity(history.calls.len());
    for record in history.calls {
        let outgoing = record.caller_id == me;
        let peer_id = if outgoing {
            record.callee_id
        } else {
            record.caller_id
        };
        let direct = conversations
            .iter()
            .find(|conversation| conversation.peer_id == Some(peer_id));
        let (peer_name, peer_avatar_url) = match direct {
            Some(conversation) => (conversation.title.clone(), conversation.avatar_url.clone()),
            None => conversations
                .iter()
                .flat_map(|conversation| &conversation.members)
                .find(|member| member.id == peer_id)
                .map(|member| (member.display_name.clone(), member.avatar_url.clone()))
                .unwrap_or_else(|| ("Someone".to_owned(), None)),
        };
        calls.push(CallHistoryEntry {
            call_id: record.call_id,
            peer_id,
            peer_name,
            peer_avatar_url,
            conversation_id: record
                .conversation_id
                .or(direct.map(|conversation| conversation.id)),
            kind: record.kind,
            direction: if outgoing {
                Direction::Outgoing
            } else {
                Direction::Incoming
            },
            missed: !outgoing && record.end_reason.missed_by_callee(),
            end_reason: record.end_reason,
            started_at: record.started_at,
            duration_ms: record.duration_ms,
            summary: natter_client::view::call_summary(&record, me),
        });
    }
    Ok(CallHistoryPage {
        calls,
        has_more: history.has_more,
    })
}

#[tauri::command]
pub async fn start_device_test(
    app: AppHandle,
    desk: State<'_, CallDesk>,
    camera: Option<String>,
    microphone: Option<String>,
) -> Result<()> {
    desk.start_device_test(&app, camera, microphone)
        .await
        .map_err(|message| IpcError::new("device", message))
}

#[tauri::command]
pub async fn stop_device_test(desk: State<'_, CallDesk>) -> Result<()> {
    desk.stop_device_test().await;
    Ok(())
}

#[tauri::command]
pub async fn test_speaker(desk: State<'_, CallDesk>, id: Option<String>) -> Result<()> {
    desk.test_speaker(id)
        .await
        .map_err(|message| IpcError::new("device", message))
}

#[tauri::command]
pub async fn set_fullscreen(app: AppHandle, on: bool) -> Result<()> {
    if let Some(window) = app.get_webview_window("main") {
        window
            .set_fullscreen(on)
            .map_err(|error| IpcError::new("internal", error.to_string()))?;
    }
    Ok(())
}

#[tauri::command]
pub async fn show_main_window(app: AppHandle) -> Result<()> {
    crate::tray::show_main_window(&app);
    Ok(())
}
