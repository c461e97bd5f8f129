//! The app's state between the webview and the client core: which server, who is signed in,
//! the settings, and the running [`Client`]. Commands (`commands.rs`) are thin calls into this.
//! What the app's other parts do when a client starts or stops (forward its events, follow a
//! waiting link, forget the call) comes in as [`AccountHooks`], so this state depends on none
//! of them.

use std::{future::Future, path::PathBuf, pin::Pin, sync::Arc};

use natter_client::{
    Api, Client, ClientOptions, CredentialError, CredentialStore, SessionConfig, StoredSession,
};
use natter_protocol::{AuthResponse, ConversationId, User};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, Url};
use tokio::sync::Mutex;

use crate::{
    connection::{ConnectionFeed, ConnectionView},
    frames::Streams,
    media::{Picks, SharedPicks},
    page_events,
};

pub use crate::identity::APP_IDENTIFIER;

/// The credential store entry name of the desktop app.
const CREDENTIAL_SERVICE: &str = APP_IDENTIFIER;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    System,
    Light,
    Dark,
}

/// The app's settings, kept between runs (defaults: notifications and close to tray on, the
/// system's theme and devices, not started at login).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ts_rs::TS)]
pub struct Settings {
    pub notifications: bool,
    /// Closing the window keeps the app running in the tray.
    pub close_to_tray: bool,
    pub theme: Theme,
    /// The devices calls use (null: the system's); ids from the `devices` command.
    #[serde(default)]
    pub camera: Option<String>,
    #[serde(default)]
    pub microphone: Option<String>,
    #[serde(default)]
    pub speaker: Option<String>,
    /// Whether the app starts, hidden in the tray, when the user logs in. The system's login
    /// items are the truth (`autostart.rs`): read at start, and `set_settings` answers with
    /// what the system has after the change (error `autostart_failed` when it could not be
    /// changed).
    #[serde(default)]
    pub start_at_login: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            notifications: true,
            close_to_tray: true,
            theme: Theme::System,
            camera: None,
            microphone: None,
            speaker: None,
            start_at_login: false,
        }
    }
}

impl Settings {
    fn picks(&self) -> Picks {
        Picks {
            camera: self.camera.clone(),
            microphone: self.microphone.clone(),
            speaker: self.speaker.clone(),
        }
    }
}

/// What is kept between runs, besides the token (which only the credential store holds).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Saved {
    server_url: Option<String>,
    #[serde(default)]
    settings: Settings,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    ChooseServer,
    SignedOut,
    SignedIn,
}

/// Which screen the app is on: everything the page shows follows from it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AppStateView {
    pub phase: Phase,
    /// The server chosen (or given with `--server-url`).
    pub server_url: Option<String>,
    /// Set when signed in.
    pub me: Option<User>,
    /// Set when the OS credential store could not keep the session: the app works for this
    /// run and will ask for the password at the next start. Shown as a warning banner.
    pub credential_warning: Option<String>,
    pub settings: Settings,
}

/// An error as the webview receives it from a rejected `invoke`.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct IpcError {
    pub code: String,
    pub message: String,
    /// The request field the server refused (`username`, `display_name`, `password`, …), when
    /// it named one: a form shows the message next to that field. The message then names the
    /// field for people ("Display name must be 1 to 64 characters.").
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub field: Option<String>,
}

impl IpcError {
    pub fn new(code: &str, message: impl Into<String>) -> IpcError {
        IpcError {
            code: code.to_owned(),
            message: message.into(),
            field: None,
        }
    }
}

impl From<natter_client::ClientError> for IpcError {
    fn from(error: natter_client::ClientError) -> Self {
        match &error {
            natter_client::ClientError::Api(api) => IpcError::from_api(api),
            natter_client::ClientError::Invalid(message) => IpcError::new("invalid", message),
            natter_client::ClientError::Device(device) => {
                IpcError::new("device", device.to_string())
            }
            _ => IpcError::new("internal", error.to_string()),
        }
    }
}

impl From<natter_client::ApiError> for IpcError {
    fn from(error: natter_client::ApiError) -> Self {
        IpcError::from_api(&error)
    }
}

impl IpcError {
    fn from_api(error: &natter_client::ApiError) -> IpcError {
        match error {
            natter_client::ApiError::Server { code, message, .. } => {
                let code = serde_json::to_value(code)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_owned));
                let code = code.as_deref().unwrap_or("server_error");
                match error.field_error() {
                    Some(refused) => IpcError {
                        field: Some(refused.field),
                        ..IpcError::new(code, refused.message)
                    },
                    None => IpcError::new(code, message.clone()),
                }
            }
            natter_client::ApiError::Unreachable(_) => {
                IpcError::new("unreachable", "The server cannot be reached.")
            }
            natter_client::ApiError::Malformed(message) => IpcError::new("malformed", message),
        }
    }
}

struct Inner {
    saved: Saved,
    me: Option<User>,
    client: Option<Client>,
    forwarder: Option<tauri::async_runtime::JoinHandle<()>>,
    credential_warning: Option<String>,
    /// The conversation on screen: read while focused, and not notified.
    shown_conversation: Option<ConversationId>,
}

/// Managed by Tauri; shared by the commands, the tray and the event forwarder.
#[derive(Clone)]
pub struct Desktop {
    data_dir: PathBuf,
    credentials: CredentialStore,
    inner: Arc<Mutex<Inner>>,
    /// The devices picked in the settings, as calls read them.
    picks: SharedPicks,
    streams: Arc<Streams>,
    connection: Arc<ConnectionFeed>,
    hooks: &'static AccountHooks,
}

/// A hook's work, awaited in place.
pub type HookFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// What the rest of the app does around the account's client (set by `lib.rs`).
pub struct AccountHooks {
    /// A client started: the task that forwards its events to the page.
    pub forward_events: fn(AppHandle, Desktop, &Client) -> tauri::async_runtime::JoinHandle<()>,
    /// The signed-in state is shown (a link that came while nobody was signed in is followed).
    pub signed_in: for<'a> fn(&'a AppHandle) -> HookFuture<'a>,
    /// The client stopped and will say nothing more (the call it had is forgotten).
    pub signed_out: for<'a> fn(&'a AppHandle) -> HookFuture<'a>,
}

fn server_key(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

impl Desktop {
    /// Loads the saved settings; `server_url` from the command line wins over the saved one.
    pub fn load(
        data_dir: PathBuf,
        server_url: Option<&Url>,
        streams: Arc<Streams>,
        hooks: &'static AccountHooks,
    ) -> Desktop {
        let mut saved: Saved = std::fs::read(data_dir.join("settings.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        if let Some(url) = server_url {
            saved.server_url = Some(server_key(url.as_str()));
        }
        let picks = Arc::new(std::sync::RwLock::new(saved.settings.picks()));
        Desktop {
            data_dir,
            picks,
            streams,
            connection: Arc::default(),
            hooks,
            credentials: CredentialStore::new(CREDENTIAL_SERVICE),
            inner: Arc::new(Mutex::new(Inner {
                saved,
                me: None,
                client: None,
                forwarder: None,
                credential_warning: None,
                shown_conversation: None,
            })),
        }
    }

    fn save(&self, saved: &Saved) {
        let write = std::fs::create_dir_all(&self.data_dir).and_then(|()| {
            std::fs::write(
                self.data_dir.join("settings.json"),
                serde_json::to_vec_pretty(saved).unwrap_or_default(),
            )
        });
        if let Err(error) = write {
            tracing::warn!(%error, "settings not saved");
        }
    }

    pub async fn state(&self) -> AppStateView {
        let inner = self.inner.lock().await;
        Desktop::state_of(&inner)
    }

    fn state_of(inner: &Inner) -> AppStateView {
        let phase = match (&inner.saved.server_url, &inner.client) {
            (None, _) => Phase::ChooseServer,
            (Some(_), None) => Phase::SignedOut,
            (Some(_), Some(_)) => Phase::SignedIn,
        };
        AppStateView {
            phase,
            server_url: inner.saved.server_url.clone(),
            me: inner.client.as_ref().map(Client::me).or(inner.me.clone()),
            credential_warning: inner.credential_warning.clone(),
            settings: inner.saved.settings.clone(),
        }
    }

    /// Where the app keeps its settings and caches.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// The devices picked in the settings, shared with the calls.
    pub fn picks(&self) -> SharedPicks {
        self.picks.clone()
    }

    pub async fn settings(&self) -> Settings {
        self.inner.lock().await.saved.settings.clone()
    }

    pub async fn client(&self) -> Result<Client, IpcError> {
        self.inner
            .lock()
            .await
            .client
            .clone()
            .ok_or_else(|| IpcError::new("signed_out", "Not signed in."))
    }

    /// A connection change the client reported, numbered for the page.
    pub fn connection_changed(
        &self,
        status: natter_client::ConnectionStatus,
        retry_in_ms: Option<u64>,
    ) -> ConnectionView {
        self.connection.event(status, retry_in_ms)
    }

    /// The connection now, numbered for the page.
    pub async fn connection(&self) -> Result<ConnectionView, IpcError> {
        Ok(self.connection.current(&self.client().await?.status()))
    }

    pub async fn shown_conversation(&self) -> Option<ConversationId> {
        self.inner.lock().await.shown_conversation
    }

    pub async fn show_conversation(&self, id: Option<ConversationId>) {
        self.inner.lock().await.shown_conversation = id;
    }

    async fn api(&self) -> Result<Api, IpcError> {
        let url = self
            .inner
            .lock()
            .await
            .saved
            .server_url
            .clone()
            .ok_or_else(|| IpcError::new("no_server", "Choose a server first."))?;
        let url =
            Url::parse(&url).map_err(|error| IpcError::new("invalid_url", error.to_string()))?;
        Ok(Api::new(url)?)
    }

    pub async fn choose_server(
        &self,
        app: &AppHandle,
        url: &str,
    ) -> Result<AppStateView, IpcError> {
        let url = crate::parse_server_url(url)
            .map_err(|message| IpcError::new("invalid_url", message))?;
        Api::new(url.clone())?.check().await.map_err(|error| {
            IpcError::new(
                "unreachable",
                format!("No Natter server answers at {url}: {error}"),
            )
        })?;
        let state = {
            let mut inner = self.inner.lock().await;
            inner.saved.server_url = Some(server_key(url.as_str()));
            self.save(&inner.saved);
            Desktop::state_of(&inner)
        };
        let _ = page_events::emit(app, &state);
        Ok(state)
    }

    /// At start: restore the session stored for the chosen server, without a password.
    pub async fn restore(&self, app: &AppHandle) {
        let Ok(api) = self.api().await else { return };
        let server = server_key(api.base().as_str());
        let credentials = self.credentials.clone();
        let stored = tauri::async_runtime::spawn_blocking(move || credentials.load(&server)).await;
        let stored = match stored {
            Ok(Ok(Some(stored))) => stored,
            Ok(Ok(None)) => return,
            Ok(Err(error)) => {
                self.inner.lock().await.credential_warning = Some(credential_message(&error));
                let _ = page_events::emit(app, &self.state().await);
                return;
            }
            Err(_) => return,
        };
        // The cached conversations show at once; the profile is refreshed from the server
        // afterwards. A session revoked while the app was closed ends through the realtime
        // session (4001 → signed out, which also forgets the token).
        let known = User {
            id: stored.user_id,
            username: stored.username.clone(),
            display_name: stored.username.clone(),
            status_text: String::new(),
            avatar_url: None,
            presence: None,
        };
        if let Err(error) = self
            .start_client(app, api.with_token(&stored.token), known, true)
            .await
        {
            tracing::warn!(message = %error.message, "session not restored");
            return;
        }
        let Ok(client) = self.client().await else {
            return;
        };
        match client.refresh_me().await {
            Ok(me) => {
                self.inner.lock().await.me = Some(me);
                let _ = page_events::emit(app, &self.state().await);
            }
            Err(error) => tracing::debug!(%error, "profile not refreshed (offline?)"),
        }
    }

    pub async fn sign_in(
        &self,
        app: &AppHandle,
        auth: Result<AuthResponse, natter_client::ApiError>,
    ) -> Result<AppStateView, IpcError> {
        let auth = auth?;
        let api = self.api().await?;
        let server = server_key(api.base().as_str());
        let credentials = self.credentials.clone();
        let stored = StoredSession {
            user_id: auth.user.id,
            username: auth.user.username.clone(),
            token: auth.token.clone(),
        };
        let saved =
            tauri::async_runtime::spawn_blocking(move || credentials.save(&server, &stored))
                .await
                .map_err(|error| IpcError::new("internal", error.to_string()))?;
        self.inner.lock().await.credential_warning =
            saved.err().map(|error| credential_message(&error));
        self.start_client(app, api.with_token(&auth.token), auth.user, false)
            .await?;
        Ok(self.state().await)
    }

    pub async fn api_for_auth(&self) -> Result<Api, IpcError> {
        self.api().await
    }

    /// Starts the client core; `resume` starts from the cached profile instead of `me`.
    async fn start_client(
        &self,
        app: &AppHandle,
        api: Api,
        me: User,
        resume: bool,
    ) -> Result<(), IpcError> {
        let options = ClientOptions {
            data_dir: self.data_dir.clone(),
            session: SessionConfig::default(),
            calls: natter_client::call_shell::CallSettings {
                devices: crate::media::call_devices(
                    self.picks.clone(),
                    &self.streams,
                    natter_media::engine::VideoSettings::default(),
                ),
                ..Default::default()
            },
        };
        let client = if resume {
            Client::resume(api, me, options).await?
        } else {
            Client::start(api, me, options).await?
        };
        let me = client.me();
        let forwarder = (self.hooks.forward_events)(app.clone(), self.clone(), &client);
        let state = {
            let mut inner = self.inner.lock().await;
            inner.me = Some(me);
            inner.client = Some(client);
            inner.forwarder = Some(forwarder);
            Desktop::state_of(&inner)
        };
        let _ = page_events::emit(app, &state);
        refresh_unread(app).await;
        (self.hooks.signed_in)(app).await;
        Ok(())
    }

    /// Signs out: revokes the session on the server (unless `revoked` says it already is),
    /// deletes the stored token and the running client.
    pub async fn sign_out(&self, app: &AppHandle, revoked: bool) -> AppStateView {
        let (client, forwarder, server) = {
            let mut inner = self.inner.lock().await;
            inner.me = None;
            inner.shown_conversation = None;
            (
                inner.client.take(),
                inner.forwarder.take(),
                inner.saved.server_url.clone(),
            )
        };
        // The call (if any) ends with the client, which says nothing more about it.
        if let Some(client) = &client
            && !revoked
            && client
                .call()
                .is_some_and(|call| call.phase != natter_client::call_machine::Phase::Ended)
            && let Err(error) = client.hang_up().await
        {
            tracing::debug!(%error, "the call was not hung up before signing out");
        }
        if let Some(client) = client {
            if revoked {
                client.stop().await;
            } else if let Err(error) = client.sign_out().await {
                tracing::warn!(%error, "the server was not told about the sign-out");
            }
        }
        (self.hooks.signed_out)(app).await;
        if let Some(server) = server {
            let credentials = self.credentials.clone();
            let deleted = tauri::async_runtime::spawn_blocking(move || {
                credentials.delete(&server_key(&server))
            })
            .await;
            if let Ok(Err(error)) = deleted {
                tracing::warn!(%error, "the stored token could not be deleted");
            }
        }
        let state = self.state().await;
        let _ = page_events::emit(app, &state);
        refresh_unread(app).await;
        // Last: a sign-out the server forced runs on the forwarder itself, and an aborted task
        // stops at its next await.
        if let Some(forwarder) = forwarder {
            forwarder.abort();
        }
        state
    }

    pub async fn set_settings(&self, app: &AppHandle, settings: Settings) -> AppStateView {
        if let Ok(mut picks) = self.picks.write() {
            *picks = settings.picks();
        }
        let state = {
            let mut inner = self.inner.lock().await;
            inner.saved.settings = settings;
            self.save(&inner.saved);
            Desktop::state_of(&inner)
        };
        let _ = page_events::emit(app, &state);
        state
    }

    /// What the system says about starting at login, learnt at start.
    pub async fn start_at_login_is(&self, enabled: bool) {
        let mut inner = self.inner.lock().await;
        if inner.saved.settings.start_at_login != enabled {
            inner.saved.settings.start_at_login = enabled;
            self.save(&inner.saved);
        }
    }

    pub async fn stop(&self) {
        let client = self.inner.lock().await.client.clone();
        if let Some(client) = client {
            client.stop().await;
        }
    }
}

fn credential_message(error: &CredentialError) -> String {
    format!(
        "Your session could not be saved in the system keyring ({error}). You stay signed in \
         until you quit; next time Natter will ask for your password again."
    )
}

/// Where the app keeps its settings and caches.
pub fn data_dir(app: &AppHandle) -> PathBuf {
    std::env::var_os("NATTER_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| app.path().app_data_dir().ok())
        .unwrap_or_else(|| PathBuf::from("natter-desktop-data"))
}

/// Counts the unread messages (missed calls count) of the signed-in account, none when signed
/// out, and shows the count on the tray, the title and the badge.
pub async fn refresh_unread(app: &AppHandle) {
    let desktop = app.state::<Desktop>().inner().clone();
    let unread: i64 = match desktop.client().await {
        Ok(client) => client
            .conversations()
            .await
            .map(|list| list.iter().map(|c| c.unread_count).sum())
            .unwrap_or(0),
        Err(_) => 0,
    };
    crate::tray::show_unread(app, unread);
}
