//! One client's realtime session on a WebSocket: hello, backlog, live events, heartbeats.
//!
//! Exactly-once, in-order delivery per conversation is enforced here: the connection keeps a
//! cursor per conversation, drops live events at or below it, and fills any gap above it from
//! the event log before sending the live event. Hub publishes can therefore be late, repeated
//! or reordered without a client ever noticing.

use std::{collections::HashMap, sync::Arc, time::Duration};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt, stream::SplitSink};
use natter_protocol::{ClientFrame, ConversationId, ErrorCode, Seq, ServerFrame, close_code};
use tokio::time::{Instant, MissedTickBehavior, timeout};

use crate::{
    accounts,
    auth::AuthSession,
    calls::referee::Device,
    core::Core,
    events,
    hub::{Kick, KickReason},
    live::{FrameText, Live, LiveEvent, Outbound},
    messages,
    realtime::presence,
    strict_json,
};

const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Missed heartbeats before a connection counts as dead.
const HEARTBEATS_MISSED: u32 = 3;

type Sink = SplitSink<WebSocket, Message>;

/// Why the session ended; decides the close frame.
enum End {
    ClientGone,
    Close(u16, &'static str),
}

/// Runs a connection to the end. `pre_auth` is set when the upgrade request carried a valid
/// bearer token.
pub async fn run(socket: WebSocket, core: Arc<Core>, pre_auth: Option<AuthSession>) {
    let (mut sink, mut stream) = socket.split();
    let hello = match timeout(HELLO_TIMEOUT, stream.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => strict_json::from_str::<ClientFrame>(&text).ok(),
        _ => None,
    };
    let Some(ClientFrame::Hello { token, cursors }) = hello else {
        close(
            &mut sink,
            close_code::PROTOCOL_ERROR,
            "the first frame must be hello",
        )
        .await;
        return;
    };
    let auth = match (pre_auth, token) {
        (_, Some(token)) => accounts::authenticate(&core.db, &token).await.ok(),
        (Some(auth), None) => Some(auth),
        (None, None) => None,
    };
    let Some(auth) = auth else {
        close(&mut sink, close_code::UNAUTHORIZED, "invalid session token").await;
        return;
    };

    let registration = core.hub.register(auth.user_id, auth.session_id);
    // The session may have been revoked between authentication and registration, when the
    // hub could not yet kick this connection: check again now that it can.
    if !matches!(
        accounts::session_exists(&core.db, auth.session_id).await,
        Ok(true)
    ) {
        close(&mut sink, close_code::UNAUTHORIZED, "session revoked").await;
        core.hub
            .unregister(auth.user_id, registration.connection_id);
        return;
    }
    if registration.came_online {
        let core = core.clone();
        tokio::spawn(
            async move { presence::announce(&core.db, &core.hub, auth.user_id, false).await },
        );
    }
    let mut session = Session {
        core: core.clone(),
        auth,
        sink,
        cursors: HashMap::new(),
    };
    // Before `ready`: once the client has it, a call ringing for it is already queued. (An
    // invite racing with this may ring the device twice; clients key calls by id.)
    core.calls.device_online(session.device()).await;
    let end = match session.start(cursors).await {
        Ok(()) => {
            session
                .serve(&mut stream, registration.receiver, &registration.kick)
                .await
        }
        Err(end) => end,
    };
    if let End::Close(code, reason) = end {
        close(&mut session.sink, code, reason).await;
    }
    let went_offline = core
        .hub
        .unregister(auth.user_id, registration.connection_id);
    if !core.hub.session_connected(auth.user_id, auth.session_id) {
        core.calls.device_offline(session.device()).await;
    }
    if went_offline {
        presence::announce(&core.db, &core.hub, auth.user_id, true).await;
    }
}

async fn close(sink: &mut Sink, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = timeout(WRITE_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
}

struct Session {
    core: Arc<Core>,
    auth: AuthSession,
    sink: Sink,
    /// Highest seq delivered per conversation on this connection.
    cursors: HashMap<ConversationId, Seq>,
}

impl Session {
    fn device(&self) -> Device {
        Device {
            user: self.auth.user_id,
            session: self.auth.session_id,
        }
    }

    async fn send(&mut self, text: FrameText) -> Result<(), End> {
        // Made from a `String` or a `&'static str`, so the check cannot fail; it copies nothing.
        let text = Utf8Bytes::try_from(text.into_bytes())
            .map_err(|_| End::Close(1011, "could not encode a frame"))?;
        match timeout(WRITE_TIMEOUT, self.sink.send(Message::Text(text))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::ClientGone),
            Err(_) => Err(End::Close(close_code::TOO_SLOW, "write timed out")),
        }
    }

    async fn send_frame(&mut self, frame: &ServerFrame) -> Result<(), End> {
        let json = serde_json::to_string(frame)
            .map_err(|_| End::Close(1011, "could not encode a frame"))?;
        self.send(json.into()).await
    }

    /// Sends `ready`, then everything the client missed according to its cursors.
    async fn start(
        &mut self,
        client_cursors: std::collections::BTreeMap<ConversationId, Seq>,
    ) -> Result<(), End> {
        let memberships = events::memberships(&self.core.db, self.auth.user_id)
            .await
            .map_err(|_| End::Close(1011, "database unavailable"))?;
        let contacts = crate::contacts::list(&self.core.db, self.auth.user_id)
            .await
            .map_err(|_| End::Close(1011, "database unavailable"))?;
        self.send_frame(&ServerFrame::Ready {
            user_id: self.auth.user_id,
            session_id: self.auth.session_id,
            heartbeat_interval_ms: self.core.config.heartbeat_interval().as_millis() as u64,
            online_user_ids: self.core.hub.online_among(&contacts),
        })
        .await?;
        for membership in memberships {
            let client_cursor = client_cursors.get(&membership.conversation_id).copied();
            // A conversation the client never knew and has left since is none of its business.
            if membership.left_seq.is_some() && client_cursor.is_none() {
                continue;
            }
            let up_to = membership.visible_up_to();
            if client_cursor.is_some_and(|cursor| cursor > up_to) {
                // The client has seen more than the server has (say, a database restored from
                // a backup): its copy cannot be trusted, so it reloads. A cursor below my
                // join is no such case: it counts as "from my join" (protocol 4.2), because
                // nothing before the join is mine to see, whichever membership it came from.
                self.cursors.insert(membership.conversation_id, up_to);
                self.send_frame(&ServerFrame::Resync {
                    conversation_id: membership.conversation_id,
                    last_seq: up_to,
                })
                .await?;
                continue;
            }
            let start = client_cursor.unwrap_or(0).max(membership.joined_seq - 1);
            self.cursors.insert(membership.conversation_id, start);
            self.catch_up(
                membership.conversation_id,
                up_to,
                self.core.config.resume_backlog_limit,
            )
            .await?;
        }
        Ok(())
    }

    /// Sends the events of one conversation from the cursor up to `up_to` (the log query keeps
    /// to what the user may see), or a `resync` when that is more than `limit`.
    async fn catch_up(
        &mut self,
        conversation_id: ConversationId,
        up_to: Seq,
        limit: i64,
    ) -> Result<(), End> {
        let cursor = self.cursors.get(&conversation_id).copied().unwrap_or(0);
        if cursor >= up_to {
            return Ok(());
        }
        if up_to - cursor > limit {
            self.cursors.insert(conversation_id, up_to);
            return self
                .send_frame(&ServerFrame::Resync {
                    conversation_id,
                    last_seq: up_to,
                })
                .await;
        }
        let frames = events::frames_for_member(
            &self.core.db,
            conversation_id,
            self.auth.user_id,
            cursor,
            up_to,
            limit,
        )
        .await
        .map_err(|_| End::Close(1011, "database unavailable"))?;
        let complete = (frames.len() as i64) < limit;
        for (seq, frame) in frames {
            self.send(frame).await?;
            self.core.metrics.events_delivered.inc();
            self.cursors.insert(conversation_id, seq);
        }
        if complete {
            // Events this user may not see (before they joined) were skipped, not missed.
            self.cursors.insert(conversation_id, up_to);
        }
        Ok(())
    }

    /// Delivers a live event unless already delivered, filling any gap before it first.
    async fn deliver(&mut self, live: Arc<LiveEvent>) -> Result<(), End> {
        let cursor = match self.cursors.get(&live.conversation_id) {
            Some(cursor) => *cursor,
            None => {
                // A conversation new to this connection: start from when we joined it.
                let membership =
                    events::membership(&self.core.db, self.auth.user_id, live.conversation_id)
                        .await
                        .map_err(|_| End::Close(1011, "database unavailable"))?;
                // Not a member, or one who left before this connection ever heard of the
                // conversation: none of its business.
                let Some(membership) = membership.filter(|m| m.left_seq.is_none()) else {
                    return Ok(());
                };
                let start = membership.joined_seq - 1;
                self.cursors.insert(live.conversation_id, start);
                start
            }
        };
        if live.seq <= cursor {
            return Ok(());
        }
        if live.seq == cursor + 1 {
            self.send(live.json.clone()).await?;
            self.core.metrics.events_delivered.inc();
            self.cursors.insert(live.conversation_id, live.seq);
            return Ok(());
        }
        // Events between the cursor and this one are committed (seq order is commit order)
        // but their publishes have not arrived yet: read them from the log.
        self.catch_up(
            live.conversation_id,
            live.seq,
            self.core.config.resume_backlog_limit,
        )
        .await
    }

    async fn serve(
        &mut self,
        stream: &mut futures_util::stream::SplitStream<WebSocket>,
        mut outbound: tokio::sync::mpsc::Receiver<Outbound>,
        kick: &Kick,
    ) -> End {
        let interval = self.core.config.heartbeat_interval();
        let mut heartbeat = tokio::time::interval_at(Instant::now() + interval, interval);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let shutdown = self.core.shutdown.clone();
        loop {
            let step = tokio::select! {
                _ = shutdown.cancelled() => Err(End::Close(1001, "server shutting down")),
                reason = kick.fired() => Err(match reason {
                    KickReason::SessionRevoked => End::Close(close_code::UNAUTHORIZED, "session revoked"),
                    _ => End::Close(close_code::TOO_SLOW, "too slow: reconnect and resume"),
                }),
                item = outbound.recv() => match item {
                    Some(Outbound::Event(live)) => self.deliver(live).await,
                    Some(Outbound::Frame(text) | Outbound::Vital(text)) => self.send(text).await,
                    None => Err(End::Close(1011, "hub closed")),
                },
                incoming = stream.next() => {
                    last_heard = Instant::now();
                    self.handle_incoming(incoming).await
                }
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > interval * HEARTBEATS_MISSED {
                        Err(End::Close(close_code::HEARTBEAT_TIMEOUT, "heartbeat timeout"))
                    } else {
                        match timeout(WRITE_TIMEOUT, self.sink.send(Message::Ping(Default::default()))).await {
                            Ok(Ok(())) => Ok(()),
                            _ => Err(End::ClientGone),
                        }
                    }
                }
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    async fn handle_incoming(
        &mut self,
        incoming: Option<Result<Message, axum::Error>>,
    ) -> Result<(), End> {
        let text = match incoming {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Err(End::ClientGone),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => return Ok(()),
            Some(Ok(Message::Binary(_))) => {
                return Err(End::Close(
                    close_code::PROTOCOL_ERROR,
                    "binary frames are not supported",
                ));
            }
            Some(Ok(Message::Text(text))) => text,
        };
        match strict_json::from_str::<ClientFrame>(&text) {
            Ok(ClientFrame::Typing { conversation_id }) => {
                match messages::typing(
                    &self.core.db,
                    &self.core.hub,
                    &self.core.user_limits,
                    self.auth,
                    conversation_id,
                )
                .await
                {
                    Ok(()) => Ok(()),
                    Err(crate::error::Error::NotFound) => {
                        self.send_frame(&ServerFrame::Error {
                            code: ErrorCode::NotFound,
                            message: "no such conversation".into(),
                        })
                        .await
                    }
                    Err(error) => {
                        self.send_frame(&ServerFrame::Error {
                            code: error.code(),
                            message: "the typing notice could not be passed on; try again".into(),
                        })
                        .await
                    }
                }
            }
            Ok(
                frame @ (ClientFrame::CallInvite { .. }
                | ClientFrame::CallAccept { .. }
                | ClientFrame::CallDecline { .. }
                | ClientFrame::CallHangup { .. }
                | ClientFrame::CallSignal { .. }
                | ClientFrame::CallMedia { .. }
                | ClientFrame::CallFailed { .. }),
            ) => match self
                .core
                .calls
                .handle_frame(&self.core.user_limits, self.device(), frame)
                .await
            {
                Some(refusal) => self.send_frame(&refusal).await,
                None => Ok(()),
            },
            Ok(ClientFrame::Hello { .. }) => {
                self.send_frame(&ServerFrame::Error {
                    code: ErrorCode::InvalidJson,
                    message: "hello is only valid as the first frame".into(),
                })
                .await
            }
            Err(error) => {
                self.send_frame(&ServerFrame::Error {
                    code: ErrorCode::InvalidJson,
                    message: format!("unreadable frame: {error}"),
                })
                .await
            }
        }
    }
}
