//! "Start Natter when I log in": the app starts with `--hidden`, in the tray, so calls and
//! messages reach people who closed the window. Off until they turn it on in Settings.
//!
//! The entry lives where each system keeps them (tauri-plugin-autostart): the `Run` key of the
//! user's registry on Windows, a LaunchAgent on macOS (the plugin's default launcher),
//! `~/.config/autostart` on Linux. People remove such entries outside Natter too (Task
//! Manager, Login Items), so the system, not settings.json, says whether it is on.

use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::AutoLaunchManager;

use crate::desktop::{Desktop, IpcError, Settings};

/// The flag the login entry starts the app with.
pub const HIDDEN_FLAG: &str = "--hidden";

pub fn plugin() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    tauri_plugin_autostart::Builder::new()
        .arg(HIDDEN_FLAG)
        .app_name("Natter")
        .build()
}

fn manager(app: &AppHandle) -> Option<tauri::State<'_, AutoLaunchManager>> {
    app.try_state::<AutoLaunchManager>()
}

/// At start: the setting shows what the system has. An entry that exists is written again,
/// so it starts this copy of the app (an update or a move may have left it on an old path).
pub async fn sync(app: &AppHandle) {
    let Some(manager) = manager(app) else {
        return;
    };
    let enabled = match manager.is_enabled() {
        Ok(enabled) => enabled,
        Err(error) => {
            tracing::warn!(%error, "cannot tell whether Natter starts at login");
            return;
        }
    };
    if enabled && let Err(error) = manager.enable() {
        tracing::warn!(%error, "the login entry was not renewed");
    }
    app.state::<Desktop>().start_at_login_is(enabled).await;
}

/// Turns starting at login on or off as `wanted` asks; answers the settings with what the
/// system has now. The registry, a plist or a file is written off the async threads.
pub async fn apply(app: &AppHandle, wanted: Settings) -> Result<Settings, IpcError> {
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || apply_now(&app, wanted))
        .await
        .map_err(|error| IpcError::new("internal", error.to_string()))?
}

fn apply_now(app: &AppHandle, mut wanted: Settings) -> Result<Settings, IpcError> {
    let manager = manager(app).ok_or_else(|| {
        IpcError::new(
            "autostart_unavailable",
            "Starting at login is not available on this system.",
        )
    })?;
    let enabled = manager
        .is_enabled()
        .map_err(|error| autostart_error("read", &error))?;
    if wanted.start_at_login != enabled {
        let changed = if wanted.start_at_login {
            manager.enable()
        } else {
            manager.disable()
        };
        changed.map_err(|error| autostart_error("change", &error))?;
    }
    wanted.start_at_login = manager
        .is_enabled()
        .map_err(|error| autostart_error("read", &error))?;
    Ok(wanted)
}

fn autostart_error(verb: &str, error: &tauri_plugin_autostart::Error) -> IpcError {
    IpcError::new(
        "autostart_failed",
        format!("Could not {verb} whether Natter starts when you log in: {error}"),
    )
}
