//! The realtime session as a state machine without I/O: connect, reconnect with backoff,
//! resume from per-conversation cursors, and the outbox that sends queued messages in order.
//!
//! Inputs (socket events, server frames, results of sends, time) come in through
//! [`Session::handle_input`] and [`Session::handle_timeout`]; what to do comes out of
//! [`Session::poll_output`]. The session never reads the clock and owns no sockets, so its tests
//! drive it faster than real time. `runtime.rs` is the task that performs the outputs.
//!
//! The rules that make "never loses, never repeats" hold on the client side:
//! - cursors only move forward, one event at a time; an event at or below the cursor is a
//!   duplicate and is dropped;
//! - every (re)connection says `hello` with all cursors, so the server replays what was missed;
//! - the outbox sends one message at a time, oldest first, and only while the session is live;
//!   a send that failed for a reason worth retrying is retried with the same client id (the
//!   server stores it once), one the server refused for good is reported and skipped.

use std::{
    collections::{BTreeMap, VecDeque},
    time::{Duration, Instant},
};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use natter_protocol::{
    ClientMessageId, ConversationId, Event, EventBody, Message, Seq, ServerFrame, UserId,
    close_code,
};
use serde::Serialize;

/// Tunables of the session; the defaults suit a desktop app.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// First reconnect delay; it doubles on every failed attempt (plus jitter of up to the delay
    /// itself, so clients dropped together do not come back together).
    pub reconnect_min: Duration,
    /// The delay stops growing here (before jitter).
    pub reconnect_max: Duration,
    /// A connection that was live this long counts as healthy: the next reconnect starts from
    /// `reconnect_min` again.
    pub healthy_after: Duration,
    /// From opening the socket to `ready`.
    pub handshake_timeout: Duration,
    /// Silence allowed on a live socket, in heartbeat intervals of the server, before the
    /// connection is considered dead.
    pub missed_heartbeats: u32,
    /// First retry delay of an outbox send that failed for a retryable reason.
    pub send_retry_min: Duration,
    pub send_retry_max: Duration,
    /// Seed for the jitter; `None` seeds from the OS. Tests pass one to be deterministic.
    pub jitter_seed: Option<u64>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            reconnect_min: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(15),
            healthy_after: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            missed_heartbeats: 3,
            send_retry_min: Duration::from_millis(500),
            send_retry_max: Duration::from_secs(15),
            jitter_seed: None,
        }
    }
}

impl SessionConfig {
    fn backoff(&self, min: Duration, max: Duration, salt: u64) -> ExponentialBackoff {
        let builder = ExponentialBuilder::new()
            .with_min_delay(min)
            .with_max_delay(max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times();
        match self.jitter_seed {
            Some(seed) => builder.with_jitter_seed(seed ^ salt).build(),
            None => builder.build(),
        }
    }
}

/// A message waiting in the outbox. The client id is chosen when the user sends it and never
/// changes, which is what makes retries safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub client_id: ClientMessageId,
    pub conversation_id: ConversationId,
    pub body: String,
    /// The message this one answers.
    pub reply_to: Option<natter_protocol::MessageId>,
    /// Files to upload and attach, in order.
    pub files: Vec<OutgoingFile>,
}

/// A file of a queued message: where it is on this device, and how far its upload got.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutgoingFile {
    pub path: std::path::PathBuf,
    pub name: String,
    pub size: u64,
    /// The upload, once started: resumed after a cut or a restart.
    #[serde(default)]
    pub upload: Option<crate::api::UploadTarget>,
    /// The finished upload's attachment id.
    #[serde(default)]
    pub attachment: Option<natter_protocol::AttachmentId>,
    /// A copy the app made for this message (a pasted picture): removed once the message is
    /// sent or discarded.
    #[serde(default)]
    pub owned: bool,
}

/// Why an outbox send did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// The server was unreachable or overloaded: try again later.
    Retryable(String),
    /// The server is rate limiting this user: try again no sooner than `wait` from now.
    Throttled { reason: String, wait: Duration },
    /// The server refused the message for good (too long, not a member any more, …).
    Rejected(String),
    /// The session token is no longer valid.
    Unauthorized,
}

#[derive(Debug, Clone)]
pub enum Input {
    /// Signed in: start connecting.
    Start,
    /// The WebSocket is open; `hello` must be sent.
    SocketOpened,
    /// Connecting failed, or the socket broke without a close frame.
    SocketFailed { reason: String },
    /// The server closed the socket.
    SocketClosed { code: Option<u16>, reason: String },
    /// A frame from the server.
    Frame(ServerFrame),
    /// Traffic that is not a frame (a ping): the connection is alive.
    Heard,
    /// The user wrote a message; it is already on disk.
    Queue(OutgoingMessage),
    SendSucceeded {
        client_id: ClientMessageId,
        message: Message,
    },
    SendFailed {
        client_id: ClientMessageId,
        failure: SendFailure,
    },
    /// The user gave up on a queued message (sending, waiting or failed): it leaves the
    /// outbox, and the next one goes out. A post already on its way is the shell's to stop;
    /// if the server stored it anyway, its event shows it like any other message.
    Discard { client_id: ClientMessageId },
    /// An event handed out by [`Output::Apply`] could not be applied (the local store failed,
    /// or the conversation could not be fetched): rewind that conversation's cursor and resume
    /// from the server again.
    ApplyFailed {
        conversation_id: ConversationId,
        cursor: Option<Seq>,
    },
    /// Sign out or shut down.
    Stop,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    OpenSocket,
    /// Send `hello` with these cursors (the task adds the token).
    SendHello {
        cursors: BTreeMap<ConversationId, Seq>,
    },
    CloseSocket,
    /// Post this outbox message; answer with `SendSucceeded` or `SendFailed`.
    Post(OutgoingMessage),
    /// A new durable event, in order: store it, then move the stored cursor to `event.seq`.
    /// `unknown_conversation` is set for the first event of a conversation the client has no
    /// cursor for: fetch the conversation first.
    Apply {
        event: Event,
        unknown_conversation: bool,
    },
    /// Too much was missed: reload the conversation and its newest history through REST; its
    /// cursor is now `last_seq`.
    Reload {
        conversation_id: ConversationId,
        last_seq: Seq,
    },
    /// The session is live as this user.
    Ready {
        user_id: UserId,
        online_user_ids: Vec<UserId>,
    },
    /// Typing and presence frames: not durable, shown while live.
    Ephemeral(ServerFrame),
    /// A `call_*` frame, for the call in progress.
    Call(ServerFrame),
    /// The outbox message is stored on the server.
    Sent {
        client_id: ClientMessageId,
        message: Message,
    },
    /// The server refused the outbox message for good.
    Rejected {
        client_id: ClientMessageId,
        reason: String,
    },
    Status(ConnectionStatus),
}

/// What the user sees of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Not started, or stopped.
    Idle,
    Connecting,
    Online,
    /// Waiting before the next attempt.
    Offline {
        #[serde(skip)]
        retry_at: Instant,
    },
    /// The server refused the session token; nothing more will be tried.
    SignedOut,
}

#[derive(Debug)]
enum Phase {
    Idle,
    Connecting {
        deadline: Instant,
    },
    AwaitingReady {
        deadline: Instant,
    },
    Live {
        since: Instant,
        silence_limit: Duration,
        last_heard: Instant,
    },
    Waiting {
        until: Instant,
    },
    SignedOut,
    Stopped,
}

pub struct Session {
    config: SessionConfig,
    phase: Phase,
    user_id: Option<UserId>,
    cursors: BTreeMap<ConversationId, Seq>,
    reconnect: ExponentialBackoff,
    outbox: VecDeque<OutgoingMessage>,
    in_flight: Option<ClientMessageId>,
    send_retry_at: Option<Instant>,
    send_backoff: ExponentialBackoff,
    outputs: VecDeque<Output>,
    status: ConnectionStatus,
}

impl Session {
    /// A session resuming from stored cursors, with the outbox as it was left on disk.
    pub fn new(
        config: SessionConfig,
        cursors: BTreeMap<ConversationId, Seq>,
        outbox: Vec<OutgoingMessage>,
    ) -> Session {
        let reconnect = config.backoff(config.reconnect_min, config.reconnect_max, 1);
        let send_backoff = config.backoff(config.send_retry_min, config.send_retry_max, 2);
        Session {
            config,
            phase: Phase::Idle,
            user_id: None,
            cursors,
            reconnect,
            outbox: outbox.into(),
            in_flight: None,
            send_retry_at: None,
            send_backoff,
            outputs: VecDeque::new(),
            status: ConnectionStatus::Idle,
        }
    }

    pub fn status(&self) -> ConnectionStatus {
        self.status
    }

    pub fn cursor(&self, conversation_id: ConversationId) -> Option<Seq> {
        self.cursors.get(&conversation_id).copied()
    }

    /// Messages still waiting, oldest first (the one in flight included).
    pub fn pending(&self) -> impl Iterator<Item = &OutgoingMessage> {
        self.outbox.iter()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The next moment [`Session::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let phase_deadline = match self.phase {
            Phase::Connecting { deadline } | Phase::AwaitingReady { deadline } => Some(deadline),
            Phase::Live {
                last_heard,
                silence_limit,
                ..
            } => Some(last_heard + silence_limit),
            Phase::Waiting { until } => Some(until),
            Phase::Idle | Phase::SignedOut | Phase::Stopped => None,
        };
        let send_retry = match self.phase {
            Phase::Live { .. } if self.in_flight.is_none() && !self.outbox.is_empty() => {
                self.send_retry_at
            }
            _ => None,
        };
        [phase_deadline, send_retry].into_iter().flatten().min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Connecting { deadline } | Phase::AwaitingReady { deadline }
                if now >= deadline =>
            {
                self.outputs.push_back(Output::CloseSocket);
                self.wait_before_reconnect(now, false);
            }
            Phase::Live {
                last_heard,
                silence_limit,
                since,
            } if now >= last_heard + silence_limit => {
                // The server pings every heartbeat interval; this much silence means the
                // connection is dead even if the OS has not noticed yet.
                self.outputs.push_back(Output::CloseSocket);
                let healthy = now.duration_since(since) >= self.config.healthy_after;
                self.wait_before_reconnect(now, healthy);
            }
            Phase::Waiting { until } if now >= until => self.connect(now),
            _ => {}
        }
        if self.send_retry_at.is_some_and(|at| now >= at) {
            self.send_retry_at = None;
        }
        self.pump_outbox();
    }

    pub fn handle_input(&mut self, input: Input, now: Instant) {
        match input {
            Input::Start => {
                if matches!(self.phase, Phase::Idle | Phase::Waiting { .. }) {
                    self.connect(now);
                }
            }
            Input::SocketOpened => {
                if let Phase::Connecting { .. } = self.phase {
                    self.phase = Phase::AwaitingReady {
                        deadline: now + self.config.handshake_timeout,
                    };
                    self.outputs.push_back(Output::SendHello {
                        cursors: self.cursors.clone(),
                    });
                }
            }
            Input::SocketFailed { reason } => self.lost(now, None, &reason),
            Input::SocketClosed { code, reason } => self.lost(now, code, &reason),
            Input::Heard => self.heard(now),
            Input::Frame(frame) => {
                self.heard(now);
                self.frame(frame, now);
            }
            Input::Queue(message) => {
                if !self.outbox.iter().any(|m| m.client_id == message.client_id) {
                    self.outbox.push_back(message);
                }
            }
            Input::Discard { client_id } => self.settled(client_id),
            Input::SendSucceeded { client_id, message } => {
                self.settled(client_id);
                self.send_backoff =
                    self.config
                        .backoff(self.config.send_retry_min, self.config.send_retry_max, 2);
                self.outputs.push_back(Output::Sent { client_id, message });
            }
            Input::SendFailed { client_id, failure } => match failure {
                SendFailure::Retryable(_) | SendFailure::Throttled { .. } => {
                    if self.in_flight == Some(client_id) {
                        self.in_flight = None;
                        let backoff = self
                            .send_backoff
                            .next()
                            .unwrap_or(self.config.send_retry_max);
                        let delay = match failure {
                            SendFailure::Throttled { wait, .. } => backoff.max(wait),
                            _ => backoff,
                        };
                        self.send_retry_at = Some(now + delay);
                    }
                }
                SendFailure::Rejected(reason) => {
                    self.settled(client_id);
                    self.outputs
                        .push_back(Output::Rejected { client_id, reason });
                }
                SendFailure::Unauthorized => {
                    if self.in_flight == Some(client_id) {
                        self.in_flight = None;
                    }
                    self.sign_out();
                }
            },
            Input::ApplyFailed {
                conversation_id,
                cursor,
            } => {
                match cursor {
                    Some(seq) => self.cursors.insert(conversation_id, seq),
                    None => self.cursors.remove(&conversation_id),
                };
                if matches!(self.phase, Phase::Live { .. } | Phase::AwaitingReady { .. }) {
                    self.outputs.push_back(Output::CloseSocket);
                    self.wait_before_reconnect(now, false);
                }
            }
            Input::Stop => {
                if matches!(
                    self.phase,
                    Phase::Connecting { .. } | Phase::AwaitingReady { .. } | Phase::Live { .. }
                ) {
                    self.outputs.push_back(Output::CloseSocket);
                }
                self.phase = Phase::Stopped;
                self.set_status(ConnectionStatus::Idle);
            }
        }
        self.pump_outbox();
    }

    fn frame(&mut self, frame: ServerFrame, now: Instant) {
        match frame {
            ServerFrame::Ready {
                user_id,
                heartbeat_interval_ms,
                online_user_ids,
                ..
            } => {
                if !matches!(self.phase, Phase::AwaitingReady { .. }) {
                    return;
                }
                let interval = Duration::from_millis(heartbeat_interval_ms.max(1));
                // One interval of slack on top: the server's ping timer and ours are not aligned.
                let silence_limit = interval * (self.config.missed_heartbeats + 1);
                self.phase = Phase::Live {
                    since: now,
                    silence_limit,
                    last_heard: now,
                };
                self.user_id = Some(user_id);
                self.send_retry_at = None;
                self.set_status(ConnectionStatus::Online);
                self.outputs.push_back(Output::Ready {
                    user_id,
                    online_user_ids,
                });
            }
            ServerFrame::Event(event) => self.event(event),
            ServerFrame::Resync {
                conversation_id,
                last_seq,
            } => {
                self.cursors.insert(conversation_id, last_seq);
                self.outputs.push_back(Output::Reload {
                    conversation_id,
                    last_seq,
                });
            }
            frame @ (ServerFrame::Typing { .. }
            | ServerFrame::Presence { .. }
            | ServerFrame::ConversationMuted { .. }) => {
                self.outputs.push_back(Output::Ephemeral(frame));
            }
            ServerFrame::Error { code, message } => {
                tracing::warn!(?code, message, "the server refused a frame");
            }
            frame @ (ServerFrame::CallIncoming { .. }
            | ServerFrame::CallRinging { .. }
            | ServerFrame::CallMerged { .. }
            | ServerFrame::CallAccepted { .. }
            | ServerFrame::CallAnsweredElsewhere { .. }
            | ServerFrame::CallSignal { .. }
            | ServerFrame::CallMedia { .. }
            | ServerFrame::CallEnded { .. }
            | ServerFrame::CallError { .. }) => self.outputs.push_back(Output::Call(frame)),
        }
    }

    fn event(&mut self, event: Event) {
        let conversation_id = event.conversation_id;
        let cursor = self.cursors.get(&conversation_id).copied();
        if cursor.is_some_and(|cursor| event.seq <= cursor) {
            return;
        }
        if let Some(cursor) = cursor
            && event.seq > cursor + 1
        {
            // The server never skips; if it ever did, history is reloaded rather than trusted.
            self.outputs.push_back(Output::Reload {
                conversation_id,
                last_seq: event.seq,
            });
        }
        self.cursors.insert(conversation_id, event.seq);
        if let EventBody::MessageCreated { message } = &event.body
            && Some(message.sender_id) == self.user_id
        {
            // Sent from this device in an earlier run, or the event outran the POST's answer.
            self.delivered_by_event(message);
        }
        let removes_me = matches!(
            &event.body,
            EventBody::MemberRemoved { user_id, .. } if Some(*user_id) == self.user_id
        );
        self.outputs.push_back(Output::Apply {
            event,
            unknown_conversation: cursor.is_none(),
        });
        if removes_me {
            // Nothing more comes from this conversation; a later re-add starts a new cursor.
            self.cursors.remove(&conversation_id);
        }
    }

    fn delivered_by_event(&mut self, message: &Message) {
        let client_id = message.client_id;
        let queued = self.outbox.iter().any(|m| m.client_id == client_id);
        if queued && self.in_flight != Some(client_id) {
            self.settled(client_id);
            self.outputs.push_back(Output::Sent {
                client_id,
                message: message.clone(),
            });
        }
    }

    fn settled(&mut self, client_id: ClientMessageId) {
        self.outbox.retain(|m| m.client_id != client_id);
        if self.in_flight == Some(client_id) {
            self.in_flight = None;
        }
    }

    fn heard(&mut self, now: Instant) {
        if let Phase::Live { last_heard, .. } = &mut self.phase {
            *last_heard = now;
        }
    }

    fn connect(&mut self, now: Instant) {
        self.phase = Phase::Connecting {
            deadline: now + self.config.handshake_timeout,
        };
        self.set_status(ConnectionStatus::Connecting);
        self.outputs.push_back(Output::OpenSocket);
    }

    fn lost(&mut self, now: Instant, code: Option<u16>, reason: &str) {
        let healthy = match self.phase {
            Phase::Live { since, .. } => now.duration_since(since) >= self.config.healthy_after,
            Phase::Connecting { .. } | Phase::AwaitingReady { .. } => false,
            // A late report about a socket already given up on.
            _ => return,
        };
        tracing::info!(?code, reason, "realtime connection lost");
        if code == Some(close_code::UNAUTHORIZED) {
            // The socket is already gone: nothing to close.
            self.phase = Phase::Idle;
            self.sign_out();
            return;
        }
        self.wait_before_reconnect(now, healthy);
    }

    fn wait_before_reconnect(&mut self, now: Instant, healthy: bool) {
        if healthy {
            self.reconnect =
                self.config
                    .backoff(self.config.reconnect_min, self.config.reconnect_max, 1);
        }
        let delay = self.reconnect.next().unwrap_or(self.config.reconnect_max);
        let until = now + delay;
        self.phase = Phase::Waiting { until };
        self.set_status(ConnectionStatus::Offline { retry_at: until });
    }

    fn sign_out(&mut self) {
        if matches!(
            self.phase,
            Phase::Connecting { .. } | Phase::AwaitingReady { .. } | Phase::Live { .. }
        ) {
            self.outputs.push_back(Output::CloseSocket);
        }
        self.phase = Phase::SignedOut;
        self.set_status(ConnectionStatus::SignedOut);
    }

    fn pump_outbox(&mut self) {
        if !matches!(self.phase, Phase::Live { .. })
            || self.in_flight.is_some()
            || self.send_retry_at.is_some()
        {
            return;
        }
        if let Some(next) = self.outbox.front() {
            self.in_flight = Some(next.client_id);
            self.outputs.push_back(Output::Post(next.clone()));
        }
    }

    fn set_status(&mut self, status: ConnectionStatus) {
        if self.status != status {
            self.status = status;
            self.outputs.push_back(Output::Status(status));
        }
    }
}

#[cfg(test)]
mod tests;
