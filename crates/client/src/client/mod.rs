//! The client: a signed-in account's cache, REST client and realtime task, behind a handle.
//!
//! [`Client::start`] opens the account's cache and spawns the [`SessionShell`] task, which
//! performs what the [`Session`] state machine asks (open the WebSocket, say hello, post outbox
//! messages, apply events to the cache) and feeds back what happens. Everything the user should
//! see comes out as [`ClientEvent`]s, already shaped as views (by [`AccountState`]).
//!
//! The facade's methods by subject: this file (starting, stopping, my profile),
//! `conversations.rs` (conversations, history, messages, search) and `calling.rs` (calls and
//! devices, handed to the [`crate::call_shell`] task).
//!
//! [`Session`]: crate::session::Session
//! [`SessionShell`]: crate::session_shell::SessionShell

mod calling;
mod conversations;

use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{Arc, Mutex, RwLock},
};

use natter_protocol::{
    ClientMessageId, ConversationId, Timestamp, UpdateProfileRequest, User, UserId, limits,
};
use serde::Serialize;
use tokio::{
    sync::{broadcast, mpsc, watch},
    task::JoinHandle,
};

use crate::{
    account_state::AccountState,
    api::{Api, ApiError},
    cache::{Cache, CacheError},
    session::{ConnectionStatus, Session, SessionConfig},
    session_shell::{Command, SessionShell},
    view::{ConversationView, MessageView},
};

/// Messages per page of history.
pub const PAGE_SIZE: u32 = 50;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("{0}")]
    Invalid(String),
    #[error("the client has stopped")]
    Stopped,
    #[error(transparent)]
    Device(#[from] natter_media::devices::DeviceError),
}

/// What changed, for the UI (or a script) to show.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientEvent {
    Connection {
        status: ConnectionStatus,
        /// When offline: milliseconds until the next attempt.
        retry_in_ms: Option<u64>,
    },
    Conversation {
        conversation: ConversationView,
    },
    ConversationRemoved {
        conversation_id: ConversationId,
    },
    /// A message appeared or changed; `incoming` is set for a new message from someone else,
    /// `alert` when it should also be announced (not muted, or it mentions me: `view::alerts`).
    Message {
        message: MessageView,
        incoming: bool,
        alert: bool,
    },
    /// A queued message's file `file` (its index) is on its way: `sent` of `total` bytes.
    FileProgress {
        conversation_id: ConversationId,
        client_id: ClientMessageId,
        file: usize,
        sent: u64,
        total: u64,
    },
    MessageDiscarded {
        conversation_id: ConversationId,
        client_id: ClientMessageId,
    },
    /// The conversation's history was reloaded after a resync: show it again.
    HistoryReloaded {
        conversation_id: ConversationId,
    },
    Typing {
        conversation_id: ConversationId,
        user_id: UserId,
        display_name: String,
        expires_in_ms: i64,
    },
    Presence {
        user_id: UserId,
        online: bool,
        last_seen_at: Option<Timestamp>,
    },
    /// The server no longer accepts this session (revoked, or signed out elsewhere).
    SignedOut,
    /// The call changed (rings, connects, ends, …).
    Call {
        call: crate::call_machine::CallView,
    },
    /// The current call's media figures, every second while it has media.
    CallStats {
        stats: crate::call_shell::CallStatsView,
    },
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Where the account caches live (`<data_dir>/accounts/<user id>.sqlite`).
    pub data_dir: PathBuf,
    pub session: SessionConfig,
    pub calls: crate::call_shell::CallSettings,
}

/// A signed-in client. Cheap to clone; [`Client::stop`] ends the realtime task.
#[derive(Clone)]
pub struct Client {
    shared: Arc<AccountState>,
    commands: mpsc::UnboundedSender<Command>,
    calls: Arc<crate::call_shell::CallTask>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Client {
    /// Opens the account's cache and starts the realtime session. `api` carries the token;
    /// `me` is the signed-in user (from sign-in, or the cache when offline).
    pub async fn start(api: Api, me: User, options: ClientOptions) -> Result<Client, ClientError> {
        Self::open(api, me, false, options).await
    }

    /// Starts from what this device already knows of the account: its cached profile when
    /// there is one (else `known`), without asking the server first, so the cached
    /// conversations show at once, offline too. [`Client::refresh_me`] then updates the profile.
    pub async fn resume(
        api: Api,
        known: User,
        options: ClientOptions,
    ) -> Result<Client, ClientError> {
        Self::open(api, known, true, options).await
    }

    async fn open(
        api: Api,
        me: User,
        prefer_cached: bool,
        options: ClientOptions,
    ) -> Result<Client, ClientError> {
        let path = options
            .data_dir
            .join("accounts")
            .join(format!("{}.sqlite", me.id));
        let cache = Cache::open(&path).await?;
        let me = match prefer_cached {
            true => cache
                .me()
                .await?
                .filter(|cached| cached.id == me.id)
                .unwrap_or(me),
            false => me,
        };
        cache.set_me(&me).await?;
        if cache.conversations().await?.is_empty() {
            // A first start: take the list (with cursors at its end) rather than have the
            // server replay every conversation's whole history. Offline, the replay it is.
            if let Ok(conversations) = api.conversations().await {
                for conversation in &conversations {
                    cache.store_conversation(conversation, None).await?;
                }
            }
        }
        let cursors = cache.cursors().await?;
        let outbox = cache
            .outbox(None)
            .await?
            .into_iter()
            .filter(|entry| entry.failed.is_none())
            .map(|entry| entry.message)
            .collect();
        let session = Session::new(options.session, cursors, outbox);
        let (events, _) = broadcast::channel(1024);
        let (status, _) = watch::channel(ConnectionStatus::Idle);
        let shared = Arc::new(AccountState {
            api,
            cache,
            me: RwLock::new(me),
            online: RwLock::new(HashSet::new()),
            fetched_originals: std::sync::Mutex::new(std::collections::HashMap::new()),
            events,
            status,
        });
        let (commands, command_receiver) = mpsc::unbounded_channel();
        let calls = {
            let commands = commands.clone();
            let events = shared.events.clone();
            crate::call_shell::spawn(
                shared.api.clone(),
                options.calls,
                shared.status.subscribe(),
                move |frame| commands.send(Command::Frame(frame)).is_ok(),
                move |news| {
                    let _ = events.send(match news {
                        crate::call_shell::CallNews::Changed(call) => ClientEvent::Call { call },
                        crate::call_shell::CallNews::Stats(stats) => {
                            ClientEvent::CallStats { stats }
                        }
                    });
                },
            )
        };
        let call_frames = calls.frames.clone();
        let task = tokio::spawn(
            SessionShell::new(shared.clone(), session, call_frames).run(command_receiver),
        );
        Ok(Client {
            shared,
            commands,
            calls: Arc::new(calls),
            task: Arc::new(Mutex::new(Some(task))),
        })
    }

    pub fn api(&self) -> &Api {
        &self.shared.api
    }

    pub fn me(&self) -> User {
        self.shared
            .me
            .read()
            .map(|me| me.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ClientEvent> {
        self.shared.events.subscribe()
    }

    pub fn status(&self) -> watch::Receiver<ConnectionStatus> {
        self.shared.status.subscribe()
    }

    /// Ends the realtime task (the outbox stays on disk) and closes the cache.
    pub async fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
        let task = self.task.lock().ok().and_then(|mut task| task.take());
        if let Some(task) = task {
            let _ = task.await;
        }
        self.shared.cache.close().await;
    }

    /// Revokes the session on the server (best effort) and stops.
    pub async fn sign_out(&self) -> Result<(), ClientError> {
        let result = self.shared.api.logout().await;
        self.stop().await;
        match result {
            Ok(()) => Ok(()),
            // Already revoked is as good as revoked.
            Err(error) if error.is_unauthorized() => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Asks the server for my profile and keeps it (after [`Client::resume`]).
    pub async fn refresh_me(&self) -> Result<User, ClientError> {
        let user = self.shared.api.me().await?;
        self.shared.set_me(&user).await?;
        Ok(user)
    }

    pub async fn update_profile(
        &self,
        display_name: Option<String>,
        status_text: Option<String>,
    ) -> Result<User, ClientError> {
        let user = self
            .shared
            .api
            .update_me(&UpdateProfileRequest {
                display_name,
                status_text,
            })
            .await?;
        self.shared.set_me(&user).await?;
        Ok(user)
    }

    pub async fn upload_avatar(
        &self,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<User, ClientError> {
        if bytes.len() > limits::AVATAR_UPLOAD_MAX_BYTES {
            return Err(ClientError::Invalid(format!(
                "the picture is larger than {} MiB",
                limits::AVATAR_UPLOAD_MAX_BYTES / (1024 * 1024)
            )));
        }
        let user = self.shared.api.upload_avatar(bytes, content_type).await?;
        self.shared.set_me(&user).await?;
        Ok(user)
    }
}
