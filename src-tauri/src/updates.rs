//! Updates of the app itself, offered by the Natter server it talks to (`natter-server
//! --updates-dir`, docs/operations.md), so the organisation running the server decides which
//! version its people run. Tauri's updater downloads the installer the server names and
//! installs it only if its signature matches the release key built into this app
//! (`NATTER_UPDATE_PUBKEY` at build time, minisign); a build without a key never updates itself.
//!
//! The app asks at start and every few hours, and the page shows a banner with the new version
//! (event `natter://update`); installing waits for the person to say so (`install_update`),
//! because it restarts the app and would end a call.

use std::time::Duration;

use serde::Serialize;
use tauri::{AppHandle, Manager, Url};
use tauri_plugin_updater::{Update, UpdaterExt};
use tokio::sync::Mutex;

use natter_client::api::server_url;

use crate::calls::CallDesk;
use crate::desktop::{Desktop, IpcError};

/// The release key the installers must be signed with (the public half of the
/// `TAURI_SIGNING_PRIVATE_KEY` of .github/workflows/release.yml), base64 as `tauri signer`
/// prints it.
const RELEASE_KEY: Option<&str> = option_env!("NATTER_UPDATE_PUBKEY");
/// How often a running app asks again.
const CHECK_EVERY: Duration = Duration::from_secs(6 * 60 * 60);
/// Longest wait for the server's answer, for a connection, or for the download to move on.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub fn plugin() -> tauri::plugin::TauriPlugin<tauri::Wry, tauri_plugin_updater::Config> {
    let mut builder = tauri_plugin_updater::Builder::new();
    if let Some(key) = RELEASE_KEY {
        builder = builder.pubkey(key);
    }
    builder.build()
}

/// The update found last, kept for `install_update`.
#[derive(Default)]
pub struct Found(Mutex<Option<Update>>);

/// What the page shows about an update the server offers.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct UpdateView {
    /// The offered version.
    pub version: String,
    /// This app's version.
    pub current_version: String,
    /// The release notes, when the server has them.
    pub notes: Option<String>,
}

/// Where the server answers the updater: Tauri fills in the `{{…}}` parts.
const ENDPOINT: &str = "/api/updates/{{target}}/{{arch}}/{{bundle_type}}/{{current_version}}";

impl From<&Update> for UpdateView {
    fn from(update: &Update) -> Self {
        Self {
            version: update.version.clone(),
            current_version: update.current_version.clone(),
            notes: update.body.clone(),
        }
    }
}

/// Asks the chosen server whether it offers a newer app; remembers and announces what it
/// offers.
pub async fn check(app: &AppHandle) -> Result<Option<UpdateView>, IpcError> {
    if RELEASE_KEY.is_none() {
        return Ok(None);
    }
    let Some(server) = app.state::<Desktop>().state().await.server_url else {
        return Ok(None);
    };
    let server =
        Url::parse(&server).map_err(|error| IpcError::new("invalid_url", error.to_string()))?;
    let quitting = app.clone();
    let updater = app
        .updater_builder()
        // Windows only: the installer replaces the running app, so the updater ends this
        // process itself, without the exit event that would stop the client.
        .on_before_exit(move || {
            crate::stop_client_before_exit(&quitting);
            quitting.cleanup_before_exit();
        })
        // The check's own timeout covers the whole answer; the download (tens of megabytes
        // on a slow link) may take long, but must not stall.
        .configure_client(|client| {
            client
                .connect_timeout(REQUEST_TIMEOUT)
                .read_timeout(REQUEST_TIMEOUT)
        })
        .endpoints(vec![server_url(&server, ENDPOINT)])
        .and_then(|builder| builder.timeout(REQUEST_TIMEOUT).build())
        .map_err(update_error)?;
    let found = updater.check().await.map_err(update_error)?;
    let view = found.as_ref().map(UpdateView::from);
    *app.state::<Found>().0.lock().await = found;
    if let Some(view) = &view {
        tracing::info!(version = %view.version, "an update is offered");
        let _ = crate::page_events::emit(app, view);
    }
    Ok(view)
}

fn update_error(error: tauri_plugin_updater::Error) -> IpcError {
    use tauri_plugin_updater::Error;

    let message = match &error {
        // Said plainly: nothing was installed, and why that is the safe outcome.
        Error::Minisign(_) | Error::SignedVersionMismatch { .. } | Error::MissingSignedVersion => {
            format!(
                "Updating failed: the download is not signed by Natter's release key ({error}), \
                 so nothing was installed. Ask your server's operator."
            )
        }
        _ => format!("Updating failed: {error}"),
    };
    IpcError::new("update_failed", message)
}

/// [`check`] for the background: a failure is only logged (the server may be offline).
async fn check_logged(app: &AppHandle) {
    if let Err(error) = check(app).await {
        tracing::warn!(message = %error.message, "no update check");
    }
}

/// Asks once, in the background (a new server may offer another version).
pub fn check_soon(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move { check_logged(&app).await });
}

/// Asks at start, then every [`CHECK_EVERY`].
pub fn keep_checking(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            check_logged(&app).await;
            tokio::time::sleep(CHECK_EVERY).await;
        }
    });
}

/// The page's "Restart to update": downloads the offered installer, checks its signature,
/// installs it and restarts the app; not during a call, which the restart would end.
#[tauri::command]
pub async fn install_update(app: AppHandle) -> Result<(), IpcError> {
    if app.state::<CallDesk>().current().await.is_some() {
        return Err(IpcError::new(
            "in_call",
            "Updating restarts Natter: update after the call.",
        ));
    }
    // Kept for another try if this one fails (a download cut off, a file that does not match).
    let Some(update) = app.state::<Found>().0.lock().await.clone() else {
        return Err(IpcError::new("no_update", "No update is offered."));
    };
    // Downloading checks the signature: a file that does not match the release key is refused
    // before anything is installed.
    let bytes = update
        .download(|_, _| {}, || {})
        .await
        .map_err(update_error)?;
    // Written first: on Windows installing ends this process and the installer starts the new
    // version.
    let marker = crate::desktop::data_dir(&app).join(RESTARTED_MARKER);
    if let Err(error) = std::fs::write(&marker, b"") {
        tracing::warn!(%error, "the new version will start as this one was started");
    }
    // The package manager runs for seconds (asking for a password where it must). A refusal
    // leaves this version running as it was.
    let installed = tauri::async_runtime::spawn_blocking(move || update.install(&bytes))
        .await
        .map_err(|error| IpcError::new("update_failed", format!("Updating failed: {error}")))
        .and_then(|installed| installed.map_err(update_error));
    if installed.is_err() {
        let _ = std::fs::remove_file(&marker);
    }
    installed?;
    // Linux and macOS: the new version is in place; the exit on the way to it stops the client
    // (`on_run_event`). Asked, not forced: `restart` would park this runtime thread for good,
    // which the exit's own wait for the client may need.
    app.request_restart();
    Ok(())
}

/// Left in the data folder for the new version by an update: it restarts with the arguments
/// the old one had, but the person was looking at its window, so the window shows (even after
/// a `--hidden` start at login) and the link it was started with is not followed again.
const RESTARTED_MARKER: &str = "restarted-for-update";

/// At start: whether this start is an update's restart (the mark is used up).
pub fn restarted_for_update(app: &AppHandle) -> bool {
    std::fs::remove_file(crate::desktop::data_dir(app).join(RESTARTED_MARKER)).is_ok()
}

/// The update offered now, if any (the page asks when it starts).
#[tauri::command]
pub async fn offered_update(app: AppHandle) -> Result<Option<UpdateView>, IpcError> {
    Ok(app
        .state::<Found>()
        .0
        .lock()
        .await
        .as_ref()
        .map(UpdateView::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_under_the_server() {
        for server in ["http://127.0.0.1:8080", "https://chat.example.org/natter/"] {
            let base = Url::parse(server).expect("a server address");
            let url = server_url(&base, ENDPOINT).to_string();
            assert!(url.starts_with(server.trim_end_matches('/')), "{url}");
            // The updater fills in the parts written either way.
            assert!(
                url.ends_with(
                    "/api/updates/%7B%7Btarget%7D%7D/%7B%7Barch%7D%7D/%7B%7Bbundle_type%7D%7D/%7B%7Bcurrent_version%7D%7D"
                ) || url.ends_with(
                    "/api/updates/{{target}}/{{arch}}/{{bundle_type}}/{{current_version}}"
                ),
                "{url}"
            );
        }
    }
}
