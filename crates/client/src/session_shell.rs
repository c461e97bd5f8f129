//! The I/O shell around the [`Session`] machine: one task per client that owns the WebSocket,
//! performs the machine's outputs (connect, hello, post the outbox, apply events to the cache,
//! shape and emit views) and feeds back what happens, with the time.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use natter_protocol::{
    ClientFrame, ClientMessageId, ConversationId, EventBody, Seq, ServerFrame, UserId, limits,
};
use tokio::{net::TcpStream, sync::mpsc, task::JoinHandle};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{self, Message as WsMessage, client::IntoClientRequest, http::HeaderValue},
};

use crate::{
    account_state::AccountState,
    cache::CacheError,
    client::{ClientError, ClientEvent, PAGE_SIZE},
    outbox_posts,
    session::{ConnectionStatus, Input, OutgoingMessage, Output, Session},
    view,
};

/// Typing notices per conversation are sent at most this often.
const TYPING_INTERVAL: Duration = Duration::from_millis(limits::TYPING_MIN_INTERVAL_MS);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the facade asks of the task.
pub(crate) enum Command {
    Queue(OutgoingMessage),
    /// Give up on a queued message, whatever its state.
    Discard(ClientMessageId),
    Typing(ConversationId),
    /// A live frame (call signaling): sent if the socket is up, dropped otherwise.
    Frame(ClientFrame),
    Stop,
}

/// Live frames kept while the session is not live (a call's invite and first signals).
const MAX_WAITING_LIVE_FRAMES: usize = 256;

pub(crate) struct SessionShell {
    /// Call frames go to the call task.
    call_frames: mpsc::UnboundedSender<ServerFrame>,
    /// Live frames written while offline, sent once the session is live.
    waiting_live: Vec<ClientFrame>,
    shared: Arc<AccountState>,
    session: Session,
    socket: Option<Socket>,
    connecting: Option<JoinHandle<Result<Socket, tungstenite::Error>>>,
    posts: (mpsc::UnboundedSender<Input>, mpsc::UnboundedReceiver<Input>),
    /// The outbox message being posted, to stop when it is discarded.
    posting: Option<(ClientMessageId, JoinHandle<()>)>,
    typing_sent: HashMap<ConversationId, Instant>,
}

impl SessionShell {
    pub fn new(
        shared: Arc<AccountState>,
        session: Session,
        call_frames: mpsc::UnboundedSender<ServerFrame>,
    ) -> Self {
        Self {
            call_frames,
            waiting_live: Vec::new(),
            shared,
            session,
            socket: None,
            connecting: None,
            posts: mpsc::unbounded_channel(),
            posting: None,
            typing_sent: HashMap::new(),
        }
    }

    pub async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
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
                    Some(Command::Discard(client_id)) => self.discard(client_id).await,
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
        match output {
            Output::OpenSocket => self.open_socket()?,
            Output::SendHello { cursors } => self.send_hello(cursors).await?,
            Output::CloseSocket => self.close_socket().await,
            Output::Post(message) => self.post(message),
            Output::Apply {
                event,
                unknown_conversation,
            } => {
                let conversation_id = event.conversation_id;
                if let Err(error) = self.apply(event, unknown_conversation).await {
                    tracing::warn!(%error, %conversation_id, "event not applied; resuming from the server");
                    let cursor = self
                        .shared
                        .cache
                        .cursors()
                        .await?
                        .get(&conversation_id)
                        .copied();
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
            } => self.reload(conversation_id, last_seq).await?,
            Output::Ready {
                user_id: _,
                online_user_ids,
            } => self.ready(online_user_ids).await?,
            Output::Ephemeral(frame) => self.ephemeral(frame).await?,
            Output::Call(frame) => {
                let _ = self.call_frames.send(frame);
            }
            Output::Sent { message, .. } => {
                let files = self.shared.cache.outbox_sent(&message).await?;
                outbox_posts::remove_copies(&files);
                if let Some(view) = self.shared.message_view(&message).await? {
                    self.shared.emit(ClientEvent::Message {
                        message: view,
                        incoming: false,
                        alert: false,
                    });
                }
            }
            Output::Rejected { client_id, reason } => self.rejected(client_id, &reason).await?,
            Output::Status(status) => self.publish_status(status),
        }
        Ok(())
    }

    fn open_socket(&mut self) -> Result<(), ClientError> {
        let mut request = self
            .shared
            .api
            .websocket_url()
            .as_str()
            .into_client_request()
            .map_err(|error| ClientError::Invalid(error.to_string()))?;
        if let Some(token) = self.shared.api.token()
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
        Ok(())
    }

    async fn send_hello(
        &mut self,
        cursors: BTreeMap<ConversationId, Seq>,
    ) -> Result<(), ClientError> {
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
        Ok(())
    }

    async fn close_socket(&mut self) {
        if let Some(mut socket) = self.socket.take() {
            // Bounded: a dead peer must not hold up reconnecting.
            let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
        }
        if let Some(connecting) = self.connecting.take() {
            connecting.abort();
        }
    }

    /// Posts an outbox message in the background; its outcome comes back as an input.
    fn post(&mut self, message: OutgoingMessage) {
        let client_id = message.client_id;
        // The machine posts one at a time: an earlier post has answered already.
        let task = outbox_posts::spawn(self.shared.clone(), message, self.posts.0.clone());
        self.posting = Some((client_id, task));
    }

    /// The user gave up on a queued message: a post on its way stops, the machine moves on,
    /// and the entry, its uploads and the app's copies of its files go.
    async fn discard(&mut self, client_id: ClientMessageId) {
        if let Some((_, task)) = self.posting.take_if(|(posting, _)| *posting == client_id) {
            task.abort();
        }
        self.session
            .handle_input(Input::Discard { client_id }, Instant::now());
        if let Err(error) = outbox_posts::discard(&self.shared, client_id).await {
            tracing::warn!(%error, "a discarded message was not removed");
        }
    }

    /// The conversation's history is stale (a gap too wide to replay): fetched again.
    async fn reload(
        &self,
        conversation_id: ConversationId,
        last_seq: Seq,
    ) -> Result<(), ClientError> {
        let shared = &self.shared;
        shared.cache.reset_history(conversation_id).await?;
        shared.forget_originals(None);
        let conversation = shared.api.conversation(conversation_id).await?;
        shared
            .cache
            .store_conversation(&conversation, Some(last_seq))
            .await?;
        shared.emit_conversation(conversation_id).await?;
        shared.emit(ClientEvent::HistoryReloaded { conversation_id });
        Ok(())
    }

    /// The session is live: held frames go out, and what may have changed while away is
    /// fetched and shown again.
    async fn ready(&mut self, online_user_ids: Vec<UserId>) -> Result<(), ClientError> {
        for frame in std::mem::take(&mut self.waiting_live) {
            self.send_live(&frame).await;
        }
        let shared = &self.shared;
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
        Ok(())
    }

    async fn rejected(&self, client_id: ClientMessageId, reason: &str) -> Result<(), ClientError> {
        let shared = &self.shared;
        shared.cache.outbox_failed(client_id, reason).await?;
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
                alert: false,
            });
        }
        Ok(())
    }

    fn publish_status(&self, status: ConnectionStatus) {
        let shared = &self.shared;
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
        if let Some(message) = &applied.message {
            // The cache has it now, edited or deleted: no stale copy may stand in for it.
            shared.forget_originals(Some(message.id));
        }
        if let Some(message) = &applied.message
            && let Some(view) = shared.message_view(message).await?
        {
            let incoming = matches!(event.body, EventBody::MessageCreated { .. }) && !view.mine;
            let alert = incoming
                && shared
                    .cache
                    .conversation(conversation_id)
                    .await?
                    .is_some_and(|conversation| view::alerts(message, &conversation, me.id));
            shared.emit(ClientEvent::Message {
                message: view,
                incoming,
                alert,
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
                            alert: false,
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
                originals: &std::collections::HashMap::new(),
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
            ServerFrame::ConversationMuted {
                conversation_id,
                muted,
            } => {
                shared.cache.set_muted(conversation_id, muted).await?;
                shared.emit_conversation(conversation_id).await?;
            }
            _ => {}
        }
        Ok(())
    }
}
