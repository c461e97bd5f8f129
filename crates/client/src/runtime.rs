//! The client: a signed-in account's cache, REST client and realtime task, behind a handle.
//!
//! [`Client::start`] opens the account's cache and spawns the task that performs what the
//! [`Session`] state machine asks (open the WebSocket, say hello, post outbox messages, apply
//! events to the cache) and feeds back what happens. Everything the user should see comes out
//! as [`ClientEvent`]s, already shaped as views.

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use futures_util::{SinkExt, StreamExt};
use natter_protocol::{
    ClientFrame, ClientMessageId, Conversation, ConversationId, CreateConversationRequest,
    EventBody, Message, MessageId, SendMessageRequest, Seq, ServerFrame, Timestamp,
    UpdateProfileRequest, User, UserId, limits,
};
use serde::Serialize;
use tokio::{
    net::TcpStream,
    sync::{broadcast, mpsc, watch},
    task::JoinHandle,
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{self, Message as WsMessage, client::IntoClientRequest, http::HeaderValue},
};

use crate::{
    api::{Api, ApiError, HistoryPage},
    cache::{Cache, CacheError},
    session::{
        ConnectionStatus, Input, OutgoingMessage, Output, SendFailure, Session, SessionConfig,
    },
    view::{self, ConversationView, MessagePageView, MessageView},
};

/// Messages per page of history.
pub const PAGE_SIZE: u32 = 50;
/// Typing notices per conversation are sent at most this often.
const TYPING_INTERVAL: Duration = Duration::from_millis(limits::TYPING_MIN_INTERVAL_MS);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

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
    /// A message appeared or changed; `incoming` is set for a new message from someone else.
    Message {
        message: MessageView,
        incoming: bool,
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
        call: crate::call::CallView,
    },
    /// The current call's media figures, every second while it has media.
    CallStats {
        stats: crate::calls::CallStatsView,
    },
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Where the account caches live (`<data_dir>/accounts/<user id>.sqlite`).
    pub data_dir: PathBuf,
    pub session: SessionConfig,
    pub calls: crate::calls::CallSettings,
}

enum Command {
    Queue(OutgoingMessage),
    Typing(ConversationId),
    /// A live frame (call signaling): sent if the socket is up, dropped otherwise.
    Frame(ClientFrame),
    Stop,
}

struct Shared {
    api: Api,
    cache: Cache,
    me: RwLock<User>,
    online: RwLock<HashSet<UserId>>,
    events: broadcast::Sender<ClientEvent>,
    status: watch::Sender<ConnectionStatus>,
}

/// A signed-in client. Cheap to clone; [`Client::stop`] ends the realtime task.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    calls: Arc<crate::calls::CallTask>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

fn now_ms() -> Timestamp {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as Timestamp)
        .unwrap_or(0)
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
        let shared = Arc::new(Shared {
            api,
            cache,
            me: RwLock::new(me),
            online: RwLock::new(HashSet::new()),
            events,
            status,
        });
        let (commands, command_receiver) = mpsc::unbounded_channel();
        let calls = {
            let commands = commands.clone();
            let events = shared.events.clone();
            crate::calls::spawn(
                shared.api.clone(),
                options.calls,
                shared.status.subscribe(),
                move |frame| commands.send(Command::Frame(frame)).is_ok(),
                move |news| {
                    let _ = events.send(match news {
                        crate::calls::CallNews::Changed(call) => ClientEvent::Call { call },
                        crate::calls::CallNews::Stats(stats) => ClientEvent::CallStats { stats },
                    });
                },
            )
        };
        let call_frames = calls.frames.clone();
        let task = tokio::spawn(
            Runner {
                call_frames,
                waiting_live: Vec::new(),
                shared: shared.clone(),
                session,
                socket: None,
                connecting: None,
                posts: mpsc::unbounded_channel(),
                typing_sent: HashMap::new(),
            }
            .run(command_receiver),
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

    pub async fn conversations(&self) -> Result<Vec<ConversationView>, ClientError> {
        let conversations = self.shared.cache.conversations().await?;
        let mut views = Vec::with_capacity(conversations.len());
        for conversation in &conversations {
            views.push(self.shared.conversation_view(conversation).await?);
        }
        Ok(views)
    }

    pub async fn conversation(&self, id: ConversationId) -> Result<ConversationView, ClientError> {
        let conversation = self
            .shared
            .cache
            .conversation(id)
            .await?
            .ok_or(CacheError::UnknownConversation(id))?;
        Ok(self.shared.conversation_view(&conversation).await?)
    }

    /// A page of history, oldest first: the newest when `before` is `None`, else the messages
    /// before that seq. Served from the cache, fetched from the server when the cache does
    /// not hold it. The newest page ends with the messages still in the outbox.
    pub async fn history(
        &self,
        id: ConversationId,
        before: Option<Seq>,
    ) -> Result<MessagePageView, ClientError> {
        let cache = &self.shared.cache;
        let conversation = cache
            .conversation(id)
            .await?
            .ok_or(CacheError::UnknownConversation(id))?;
        let mut from = cache.history_from(id).await?;
        let cached = cache.messages_before(id, before, PAGE_SIZE).await?;
        let needs_fetch = match from {
            None => true,
            Some(0) => false,
            Some(from) => {
                (cached.len() as u32) < PAGE_SIZE && before.is_none_or(|b| b > 1) && from > 1
            }
        };
        if needs_fetch {
            let page = match (from, before) {
                (None, None) => HistoryPage::Newest,
                (None, Some(before)) => HistoryPage::Before(before),
                (Some(from), before) => HistoryPage::Before(before.map_or(from, |b| b.min(from))),
            };
            match self.shared.api.messages(id, page, PAGE_SIZE).await {
                Ok(fetched) => {
                    let complete_from = if fetched.has_more {
                        fetched.messages.first().map_or(0, |m| m.seq)
                    } else {
                        0
                    };
                    cache
                        .store_history(id, &fetched.messages, complete_from)
                        .await?;
                    from = Some(complete_from);
                }
                Err(error) if error.is_retryable() => {
                    tracing::debug!(%error, "history not fetched; showing the cache");
                }
                Err(error) => return Err(error.into()),
            }
        }
        let messages = cache.messages_before(id, before, PAGE_SIZE).await?;
        let receipts = cache.receipts(id).await?;
        let me = self.me();
        let online = self.shared.online_snapshot();
        let context = view::Context {
            me: &me,
            online: &online,
            receipts: &receipts,
        };
        let read_up_to = view::read_by_all_up_to(&conversation, &context);
        let has_more = match from {
            Some(0) => messages.first().is_some_and(|first| {
                // Everything is cached: more exist only if the page was full.
                messages.len() as u32 == PAGE_SIZE && first.seq > 1
            }),
            _ => true,
        };
        let mut views: Vec<MessageView> = messages
            .iter()
            .map(|message| view::message_view(message, &conversation, &context, read_up_to))
            .collect();
        if before.is_none() {
            for entry in cache.outbox(Some(id)).await? {
                if views
                    .iter()
                    .all(|view| view.client_id != entry.message.client_id)
                {
                    views.push(view::pending_view(&entry, &me));
                }
            }
        }
        Ok(MessagePageView {
            messages: views,
            has_more,
        })
    }

    /// Writes a message to the outbox (on disk) and hands it to the session, which sends it
    /// as soon as the server is reachable.
    pub async fn send(&self, id: ConversationId, body: &str) -> Result<MessageView, ClientError> {
        let body = validate_body(body)?;
        if self.shared.cache.conversation(id).await?.is_none() {
            return Err(CacheError::UnknownConversation(id).into());
        }
        let message = OutgoingMessage {
            client_id: uuid::Uuid::now_v7(),
            conversation_id: id,
            body,
        };
        let created_at = now_ms();
        self.shared.cache.outbox_push(&message, created_at).await?;
        let entry = crate::cache::OutboxEntry {
            message: message.clone(),
            created_at,
            failed: None,
        };
        let view = view::pending_view(&entry, &self.me());
        self.shared.emit(ClientEvent::Message {
            message: view.clone(),
            incoming: false,
        });
        self.commands
            .send(Command::Queue(message))
            .map_err(|_| ClientError::Stopped)?;
        Ok(view)
    }

    pub async fn edit(
        &self,
        id: ConversationId,
        message_id: MessageId,
        body: &str,
    ) -> Result<(), ClientError> {
        let body = validate_body(body)?;
        self.shared.api.edit_message(id, message_id, &body).await?;
        Ok(())
    }

    pub async fn delete(
        &self,
        id: ConversationId,
        message_id: MessageId,
    ) -> Result<(), ClientError> {
        self.shared.api.delete_message(id, message_id).await?;
        Ok(())
    }

    /// Removes a message the server refused from the outbox.
    pub async fn discard(&self, client_id: ClientMessageId) -> Result<(), ClientError> {
        if let Some(conversation_id) = self.shared.cache.outbox_discard(client_id).await? {
            self.shared.emit(ClientEvent::MessageDiscarded {
                conversation_id,
                client_id,
            });
        }
        Ok(())
    }

    /// Marks the conversation read up to its newest message.
    pub async fn mark_read(&self, id: ConversationId) -> Result<(), ClientError> {
        let Some(conversation) = self.shared.cache.conversation(id).await? else {
            return Ok(());
        };
        let Some(last) = conversation.last_message.as_ref() else {
            return Ok(());
        };
        if conversation.unread_count == 0 && conversation.read_seq >= last.seq {
            return Ok(());
        }
        let state = self.shared.api.mark_read(id, last.id).await?;
        if let Some(updated) = self
            .shared
            .cache
            .set_read(id, state.read_seq, state.unread_count)
            .await?
        {
            let conversation = self.shared.conversation_view(&updated).await?;
            self.shared.emit(ClientEvent::Conversation { conversation });
        }
        Ok(())
    }

    /// "I am typing": sent over the WebSocket at most once a second per conversation.
    pub fn typing(&self, id: ConversationId) {
        let _ = self.commands.send(Command::Typing(id));
    }

    pub async fn search_users(&self, query: &str) -> Result<Vec<User>, ClientError> {
        Ok(self.shared.api.search_users(query, 20).await?.users)
    }

    pub async fn search_messages(&self, query: &str) -> Result<Vec<Message>, ClientError> {
        Ok(self.shared.api.search_messages(query, 50).await?.messages)
    }

    pub async fn start_direct(&self, user_id: UserId) -> Result<ConversationView, ClientError> {
        let conversation = self
            .shared
            .api
            .create_conversation(&CreateConversationRequest::Direct { user_id })
            .await?;
        self.adopt(conversation).await
    }

    pub async fn create_group(
        &self,
        name: &str,
        member_ids: Vec<UserId>,
    ) -> Result<ConversationView, ClientError> {
        let conversation = self
            .shared
            .api
            .create_conversation(&CreateConversationRequest::Group {
                name: name.trim().to_owned(),
                member_ids,
            })
            .await?;
        self.adopt(conversation).await
    }

    /// Caches a conversation the server just returned, so it can be shown before its first
    /// event arrives.
    async fn adopt(&self, conversation: Conversation) -> Result<ConversationView, ClientError> {
        self.shared
            .cache
            .store_conversation(&conversation, None)
            .await?;
        let view = self.shared.conversation_view(&conversation).await?;
        self.shared.emit(ClientEvent::Conversation {
            conversation: view.clone(),
        });
        Ok(view)
    }

    /// Asks the server for my profile and keeps it (after [`Client::resume`]).
    /// Calls a user; the call's progress arrives as `ClientEvent::Call`.
    pub async fn place_call(
        &self,
        callee: UserId,
        kind: natter_protocol::CallKind,
    ) -> Result<natter_protocol::CallId, ClientError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.calls
            .intents
            .send(crate::calls::Intent::Place {
                callee,
                kind,
                reply,
            })
            .map_err(|_| ClientError::Stopped)?;
        answer
            .await
            .map_err(|_| ClientError::Stopped)?
            .map_err(|error| ClientError::Invalid(error.to_string()))
    }

    async fn call_input(&self, input: crate::call::Input) -> Result<(), ClientError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.calls
            .intents
            .send(crate::calls::Intent::Input { input, reply })
            .map_err(|_| ClientError::Stopped)?;
        answer
            .await
            .map_err(|_| ClientError::Stopped)?
            .map_err(|error| ClientError::Invalid(error.to_string()))
    }

    /// Switches the call in progress to this camera, microphone or speaker, for this call
    /// (outside a call, nothing). A device that cannot be opened is an error and changes
    /// nothing.
    pub async fn use_device(&self, choice: crate::calls::DeviceChoice) -> Result<(), ClientError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.calls
            .intents
            .send(crate::calls::Intent::UseDevice { choice, reply })
            .map_err(|_| ClientError::Stopped)?;
        Ok(answer.await.map_err(|_| ClientError::Stopped)??)
    }

    /// The cameras, microphones and speakers that can be picked (the system's and the
    /// synthetic ones).
    pub async fn devices(&self) -> natter_media::devices::DeviceList {
        tokio::task::spawn_blocking(natter_media::devices::list)
            .await
            .unwrap_or_default()
    }

    /// Takes the call ringing here.
    /// Answers the ringing call; `camera_on: false` answers a video call by voice (the camera
    /// does not open until it is turned on).
    pub async fn accept_call(&self, camera_on: bool) -> Result<(), ClientError> {
        self.call_input(crate::call::Input::Accept { camera_on })
            .await
    }

    pub async fn decline_call(&self) -> Result<(), ClientError> {
        self.call_input(crate::call::Input::Decline).await
    }

    /// Cancels, declines or hangs up the current call, whatever its phase.
    pub async fn hang_up(&self) -> Result<(), ClientError> {
        self.call_input(crate::call::Input::Hangup).await
    }

    pub async fn set_muted(&self, muted: bool) -> Result<(), ClientError> {
        self.call_input(crate::call::Input::SetMuted(muted)).await
    }

    pub async fn set_camera(&self, on: bool) -> Result<(), ClientError> {
        self.call_input(crate::call::Input::SetCamera(on)).await
    }

    /// The current (or last) call.
    pub fn call(&self) -> Option<crate::call::CallView> {
        self.calls.view.borrow().clone()
    }

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

fn validate_body(body: &str) -> Result<String, ClientError> {
    if body.trim().is_empty() {
        return Err(ClientError::Invalid("a message cannot be empty".into()));
    }
    if body.chars().count() > limits::MESSAGE_MAX_CHARS || body.len() > limits::MESSAGE_MAX_BYTES {
        return Err(ClientError::Invalid(format!(
            "a message can have at most {} characters",
            limits::MESSAGE_MAX_CHARS
        )));
    }
    Ok(body.to_owned())
}

impl Shared {
    fn emit(&self, event: ClientEvent) {
        // No subscriber is fine: the cache has the state.
        let _ = self.events.send(event);
    }

    fn online_snapshot(&self) -> HashSet<UserId> {
        self.online
            .read()
            .map(|online| online.clone())
            .unwrap_or_default()
    }

    fn me(&self) -> User {
        self.me
            .read()
            .map(|me| me.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    async fn set_me(&self, user: &User) -> Result<(), CacheError> {
        if let Ok(mut me) = self.me.write() {
            *me = user.clone();
        }
        self.cache.set_me(user).await
    }

    async fn conversation_view(
        &self,
        conversation: &Conversation,
    ) -> Result<ConversationView, CacheError> {
        let receipts = self.cache.receipts(conversation.id).await?;
        let me = self.me();
        let online = self.online_snapshot();
        Ok(view::conversation_view(
            conversation,
            &view::Context {
                me: &me,
                online: &online,
                receipts: &receipts,
            },
        ))
    }

    async fn message_view(&self, message: &Message) -> Result<Option<MessageView>, CacheError> {
        let Some(conversation) = self.cache.conversation(message.conversation_id).await? else {
            return Ok(None);
        };
        let receipts = self.cache.receipts(conversation.id).await?;
        let me = self.me();
        let online = self.online_snapshot();
        let context = view::Context {
            me: &me,
            online: &online,
            receipts: &receipts,
        };
        let read_up_to = view::read_by_all_up_to(&conversation, &context);
        Ok(Some(view::message_view(
            message,
            &conversation,
            &context,
            read_up_to,
        )))
    }

    async fn emit_conversation(&self, id: ConversationId) -> Result<(), CacheError> {
        if let Some(conversation) = self.cache.conversation(id).await? {
            let conversation = self.conversation_view(&conversation).await?;
            self.emit(ClientEvent::Conversation { conversation });
        }
        Ok(())
    }
}

/// The task around the session: owns the socket and performs the session's outputs.
/// Live frames kept while the session is not live (a call's invite and first signals).
const MAX_WAITING_LIVE_FRAMES: usize = 256;

struct Runner {
    /// Call frames go to the call task.
    call_frames: mpsc::UnboundedSender<ServerFrame>,
    /// Live frames written while offline, sent once the session is live.
    waiting_live: Vec<ClientFrame>,
    shared: Arc<Shared>,
    session: Session,
    socket: Option<Socket>,
    connecting: Option<JoinHandle<Result<Socket, tungstenite::Error>>>,
    posts: (mpsc::UnboundedSender<Input>, mpsc::UnboundedReceiver<Input>),
    typing_sent: HashMap<ConversationId, Instant>,
}

impl Runner {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        self.session.handle_input(Input::Start, Instant::now());
        loop {
            self.perform_outputs().await;
            let deadline = self.session.poll_timeout();
            let sleep = tokio::time::sleep_until(
                deadline
                    .map(tokio::time::Instant::from_std)
                    .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600)),
            );
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Queue(message)) => {
                        self.session.handle_input(Input::Queue(message), Instant::now());
                    }
                    Some(Command::Typing(id)) => self.send_typing(id).await,
                    Some(Command::Frame(frame)) => self.send_live(&frame).await,
                    Some(Command::Stop) | None => {
                        self.session.handle_input(Input::Stop, Instant::now());
                        self.perform_outputs().await;
                        break;
                    }
                },
                result = async {
                    match self.connecting.as_mut() {
                        Some(connecting) => connecting.await,
                        None => std::future::pending().await,
                    }
                } => {
                    self.connecting = None;
                    let input = match result {
                        Ok(Ok(socket)) => {
                            self.socket = Some(socket);
                            Input::SocketOpened
                        }
                        // The server refused the token before upgrading: revoked, as 4001 says
                        // on an open socket; retrying would never help.
                        Ok(Err(tungstenite::Error::Http(response)))
                            if response.status() == 401 =>
                        {
                            Input::SocketClosed {
                                code: Some(natter_protocol::close_code::UNAUTHORIZED),
                                reason: "the server refused the session token".to_owned(),
                            }
                        }
                        Ok(Err(error)) => Input::SocketFailed { reason: error.to_string() },
                        Err(error) => Input::SocketFailed { reason: error.to_string() },
                    };
                    self.session.handle_input(input, Instant::now());
                }
                received = async {
                    match self.socket.as_mut() {
                        Some(socket) => socket.next().await,
                        None => std::future::pending().await,
                    }
                } => self.received(received),
                Some(input) = self.posts.1.recv() => {
                    self.session.handle_input(input, Instant::now());
                }
                () = sleep => self.session.handle_timeout(Instant::now()),
            }
        }
        if let Some(connecting) = self.connecting.take() {
            connecting.abort();
        }
    }

    fn received(&mut self, received: Option<Result<WsMessage, tungstenite::Error>>) {
        let now = Instant::now();
        let input = match received {
            Some(Ok(WsMessage::Text(text))) => match serde_json::from_str::<ServerFrame>(&text) {
                Ok(frame) => Input::Frame(frame),
                Err(error) => {
                    tracing::warn!(%error, "unreadable frame from the server, ignored");
                    Input::Heard
                }
            },
            Some(Ok(WsMessage::Close(frame))) => {
                self.socket = None;
                Input::SocketClosed {
                    code: frame.as_ref().map(|frame| u16::from(frame.code)),
                    reason: frame
                        .map(|frame| frame.reason.to_string())
                        .unwrap_or_default(),
                }
            }
            Some(Ok(_)) => Input::Heard,
            Some(Err(error)) => {
                self.socket = None;
                Input::SocketFailed {
                    reason: error.to_string(),
                }
            }
            None => {
                self.socket = None;
                Input::SocketFailed {
                    reason: "the connection ended".into(),
                }
            }
        };
        self.session.handle_input(input, now);
    }

    /// Sends a live frame now, or as soon as the session is live again.
    async fn send_live(&mut self, frame: &ClientFrame) {
        let (Some(socket), ConnectionStatus::Online) =
            (self.socket.as_mut(), self.session.status())
        else {
            // Still connecting (a call placed right after start-up) or reconnecting: the call
            // machine's own timeouts end the call if the session does not come back in time.
            if self.waiting_live.len() < MAX_WAITING_LIVE_FRAMES {
                self.waiting_live.push(frame.clone());
            }
            return;
        };
        match serde_json::to_string(frame) {
            Ok(text) => {
                if let Err(error) = socket.send(WsMessage::text(text)).await {
                    tracing::warn!(%error, "a live frame could not be sent");
                }
            }
            Err(error) => tracing::error!(%error, "a frame could not be encoded"),
        }
    }

    async fn send_typing(&mut self, id: ConversationId) {
        let now = Instant::now();
        if self
            .typing_sent
            .get(&id)
            .is_some_and(|sent| now.duration_since(*sent) < TYPING_INTERVAL)
        {
            return;
        }
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        if !matches!(self.session.status(), ConnectionStatus::Online) {
            return;
        }
        self.typing_sent.insert(id, now);
        if let Ok(text) = serde_json::to_string(&ClientFrame::Typing {
            conversation_id: id,
        }) {
            let _ = socket.send(WsMessage::text(text)).await;
        }
    }

    async fn perform_outputs(&mut self) {
        while let Some(output) = self.session.poll_output() {
            if let Err(error) = self.perform(output).await {
                tracing::warn!(%error, "realtime task step failed");
            }
        }
    }

    async fn perform(&mut self, output: Output) -> Result<(), ClientError> {
        let shared = self.shared.clone();
        match output {
            Output::OpenSocket => {
                let mut request = shared
                    .api
                    .websocket_url()
                    .as_str()
                    .into_client_request()
                    .map_err(|error| ClientError::Invalid(error.to_string()))?;
                if let Some(token) = shared.api.token()
                    && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
                {
                    request.headers_mut().insert("authorization", value);
                }
                self.connecting = Some(tokio::spawn(async move {
                    crate::tls::install_crypto_provider();
                    tokio_tungstenite::connect_async(request)
                        .await
                        .map(|(socket, _)| socket)
                }));
            }
            Output::SendHello { cursors } => {
                let hello = ClientFrame::Hello {
                    token: None,
                    cursors,
                };
                let text = serde_json::to_string(&hello)
                    .map_err(|error| ClientError::Invalid(error.to_string()))?;
                if let Some(socket) = self.socket.as_mut()
                    && let Err(error) = socket.send(WsMessage::text(text)).await
                {
                    self.socket = None;
                    self.session.handle_input(
                        Input::SocketFailed {
                            reason: error.to_string(),
                        },
                        Instant::now(),
                    );
                }
            }
            Output::CloseSocket => {
                if let Some(mut socket) = self.socket.take() {
                    // Bounded: a dead peer must not hold up reconnecting.
                    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
                }
                if let Some(connecting) = self.connecting.take() {
                    connecting.abort();
                }
            }
            Output::Post(message) => {
                let sender = self.posts.0.clone();
                tokio::spawn(async move {
                    let request = SendMessageRequest {
                        client_id: message.client_id,
                        body: message.body.clone(),
                    };
                    let input = match shared
                        .api
                        .send_message(message.conversation_id, &request)
                        .await
                    {
                        Ok(stored) => Input::SendSucceeded {
                            client_id: message.client_id,
                            message: stored,
                        },
                        Err(error) => Input::SendFailed {
                            client_id: message.client_id,
                            failure: if error.is_unauthorized() {
                                SendFailure::Unauthorized
                            } else if let Some(wait) = error.retry_after() {
                                SendFailure::Throttled {
                                    reason: error.to_string(),
                                    wait,
                                }
                            } else if error.is_retryable() {
                                SendFailure::Retryable(error.to_string())
                            } else {
                                SendFailure::Rejected(error.to_string())
                            },
                        },
                    };
                    let _ = sender.send(input);
                });
            }
            Output::Apply {
                event,
                unknown_conversation,
            } => {
                let conversation_id = event.conversation_id;
                if let Err(error) = self.apply(event, unknown_conversation).await {
                    tracing::warn!(%error, %conversation_id, "event not applied; resuming from the server");
                    let cursor = shared.cache.cursors().await?.get(&conversation_id).copied();
                    self.session.handle_input(
                        Input::ApplyFailed {
                            conversation_id,
                            cursor,
                        },
                        Instant::now(),
                    );
                }
            }
            Output::Reload {
                conversation_id,
                last_seq,
            } => {
                shared.cache.reset_history(conversation_id).await?;
                let conversation = shared.api.conversation(conversation_id).await?;
                shared
                    .cache
                    .store_conversation(&conversation, Some(last_seq))
                    .await?;
                shared.emit_conversation(conversation_id).await?;
                shared.emit(ClientEvent::HistoryReloaded { conversation_id });
            }
            Output::Ready {
                user_id: _,
                online_user_ids,
            } => {
                for frame in std::mem::take(&mut self.waiting_live) {
                    self.send_live(&frame).await;
                }
                if let Ok(mut online) = shared.online.write() {
                    *online = online_user_ids.into_iter().collect();
                }
                // Profiles, presence and unread counts may have changed while away.
                match shared.api.conversations().await {
                    Ok(conversations) => {
                        for conversation in &conversations {
                            shared.cache.store_conversation(conversation, None).await?;
                        }
                    }
                    Err(error) => tracing::debug!(%error, "conversation list not refreshed"),
                }
                for conversation in shared.cache.conversations().await? {
                    let conversation = shared.conversation_view(&conversation).await?;
                    shared.emit(ClientEvent::Conversation { conversation });
                }
            }
            Output::Ephemeral(frame) => self.ephemeral(frame).await?,
            Output::Call(frame) => {
                let _ = self.call_frames.send(frame);
            }
            Output::Sent { message, .. } => {
                shared.cache.outbox_sent(&message).await?;
                if let Some(view) = shared.message_view(&message).await? {
                    shared.emit(ClientEvent::Message {
                        message: view,
                        incoming: false,
                    });
                }
            }
            Output::Rejected { client_id, reason } => {
                shared.cache.outbox_failed(client_id, &reason).await?;
                let me = shared.me();
                if let Some(entry) = shared
                    .cache
                    .outbox(None)
                    .await?
                    .into_iter()
                    .find(|entry| entry.message.client_id == client_id)
                {
                    shared.emit(ClientEvent::Message {
                        message: view::pending_view(&entry, &me),
                        incoming: false,
                    });
                }
            }
            Output::Status(status) => {
                shared.status.send_replace(status);
                let retry_in_ms = match status {
                    ConnectionStatus::Offline { retry_at } => Some(
                        retry_at
                            .saturating_duration_since(Instant::now())
                            .as_millis() as u64,
                    ),
                    _ => None,
                };
                shared.emit(ClientEvent::Connection {
                    status,
                    retry_in_ms,
                });
                if status == ConnectionStatus::SignedOut {
                    shared.emit(ClientEvent::SignedOut);
                }
            }
        }
        Ok(())
    }

    async fn apply(
        &mut self,
        event: natter_protocol::Event,
        unknown_conversation: bool,
    ) -> Result<(), ClientError> {
        let shared = &self.shared;
        let conversation_id = event.conversation_id;
        let me = shared.me();
        if unknown_conversation && shared.cache.conversation(conversation_id).await?.is_none() {
            if matches!(&event.body, EventBody::MemberRemoved { user_id, .. } if *user_id == me.id)
            {
                return Ok(());
            }
            let conversation = shared.api.conversation(conversation_id).await?;
            shared
                .cache
                .store_conversation(&conversation, Some(event.seq - 1))
                .await?;
        }
        let previous_read_up_to = match &event.body {
            EventBody::ReadReceipt { .. } => Some(self.read_up_to(conversation_id).await?),
            _ => None,
        };
        let applied = shared.cache.apply(&event, me.id).await?;
        if applied.left {
            shared.emit(ClientEvent::ConversationRemoved { conversation_id });
            return Ok(());
        }
        if applied.refetch {
            match shared.api.conversation(conversation_id).await {
                Ok(conversation) => shared.cache.store_conversation(&conversation, None).await?,
                Err(error) => tracing::debug!(%error, "conversation not refetched"),
            }
        }
        if let Some(message) = &applied.message
            && let Some(view) = shared.message_view(message).await?
        {
            let incoming = matches!(event.body, EventBody::MessageCreated { .. }) && !view.mine;
            shared.emit(ClientEvent::Message {
                message: view,
                incoming,
            });
        }
        if let Some(previous) = previous_read_up_to {
            // Others read further: my messages in between are now read.
            let now_read_up_to = self.read_up_to(conversation_id).await?;
            if now_read_up_to > previous {
                let messages = shared
                    .cache
                    .messages_before(conversation_id, Some(now_read_up_to + 1), PAGE_SIZE)
                    .await?;
                for message in messages
                    .iter()
                    .filter(|m| m.seq > previous && m.sender_id == me.id)
                {
                    if let Some(view) = shared.message_view(message).await? {
                        shared.emit(ClientEvent::Message {
                            message: view,
                            incoming: false,
                        });
                    }
                }
            }
        }
        shared.emit_conversation(conversation_id).await?;
        Ok(())
    }

    async fn read_up_to(&self, id: ConversationId) -> Result<Seq, CacheError> {
        let Some(conversation) = self.shared.cache.conversation(id).await? else {
            return Ok(0);
        };
        let receipts = self.shared.cache.receipts(id).await?;
        let me = self.shared.me();
        let online = HashSet::new();
        Ok(view::read_by_all_up_to(
            &conversation,
            &view::Context {
                me: &me,
                online: &online,
                receipts: &receipts,
            },
        ))
    }

    async fn ephemeral(&mut self, frame: ServerFrame) -> Result<(), ClientError> {
        let shared = &self.shared;
        match frame {
            ServerFrame::Typing {
                conversation_id,
                user_id,
                expires_in_ms,
            } => {
                let display_name = shared
                    .cache
                    .conversation(conversation_id)
                    .await?
                    .and_then(|conversation| {
                        conversation
                            .members
                            .into_iter()
                            .find(|member| member.id == user_id)
                            .map(|member| member.display_name)
                    })
                    .unwrap_or_else(|| "Someone".to_owned());
                shared.emit(ClientEvent::Typing {
                    conversation_id,
                    user_id,
                    display_name,
                    expires_in_ms,
                });
            }
            ServerFrame::Presence {
                user_id,
                online,
                last_seen_at,
            } => {
                if let Ok(mut set) = shared.online.write() {
                    if online {
                        set.insert(user_id);
                    } else {
                        set.remove(&user_id);
                    }
                }
                shared.emit(ClientEvent::Presence {
                    user_id,
                    online,
                    last_seen_at,
                });
                for conversation in shared.cache.conversations().await? {
                    if conversation
                        .members
                        .iter()
                        .any(|member| member.id == user_id)
                    {
                        let conversation = shared.conversation_view(&conversation).await?;
                        shared.emit(ClientEvent::Conversation { conversation });
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}
