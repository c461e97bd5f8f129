//! The referee at work: call frames from sockets and the passing of time go in, frames to
//! devices and records for the history come out.
//!
//! One referee per server node, behind a mutex held only for the pure `handle` call (never
//! across an await); its outputs are then performed in order. A timer task sleeps until the
//! referee's next deadline (ring timeouts, offline grace periods).
//!
//! The switchboard holds what performing takes (the database for the history, `live::Live` for
//! the frames, the metrics), so that the socket and the timer task only hand it inputs.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use natter_protocol::{ClientFrame, ErrorCode, ServerFrame, UserId};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{
    blocks,
    calls::{
        history,
        referee::{
            Device, Intent, Notice, Output, Recipient, Referee, RefereeConfig, RefereeError,
        },
    },
    contacts,
    db::Db,
    live::{Live, Outbound},
    metrics::{CallLabels, Metrics},
    rate_limit::UserRateLimits,
    util::now_ms,
};

/// How long a call to someone who blocked the caller rings (for the caller only) before it
/// ends as declined.
const HIDDEN_RING_MS: std::ops::Range<i64> = 3_000..7_000;

async fn callee_blocked_caller(
    db: &Db,
    callee: UserId,
    caller: UserId,
) -> crate::error::Result<bool> {
    let mut connection = db.pool.acquire().await?;
    blocks::has_blocked(&mut connection, callee, caller).await
}

pub struct Switchboard {
    referee: Mutex<Referee>,
    /// Woken when an intent may have moved the next deadline.
    deadline_changed: Notify,
    db: Db,
    live: Arc<dyn Live>,
    metrics: Arc<Metrics>,
}

impl Switchboard {
    pub fn new(config: RefereeConfig, db: Db, live: Arc<dyn Live>, metrics: Arc<Metrics>) -> Self {
        Self {
            referee: Mutex::new(Referee::new(config)),
            deadline_changed: Notify::new(),
            db,
            live,
            metrics,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Referee> {
        // The referee's state stays consistent between calls to it: keep serving after a panic.
        self.referee
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `step` on the referee and takes what it produced.
    fn step<T>(&self, step: impl FnOnce(&mut Referee) -> T) -> (T, Vec<Output>) {
        let mut referee = self.lock();
        let result = step(&mut referee);
        let outputs = std::iter::from_fn(|| referee.poll_output()).collect();
        drop(referee);
        self.deadline_changed.notify_one();
        (result, outputs)
    }

    /// Handles a call frame from an authenticated device. Returns the `call_error` to send back
    /// when it is refused, or `None` when it was taken (or was not a call frame).
    pub async fn handle_frame(
        &self,
        limits: &UserRateLimits,
        from: Device,
        frame: ClientFrame,
    ) -> Option<ServerFrame> {
        let mut intent = intent_of(frame)?;
        let call_id = call_id_of(&intent);
        let refuse = |code, message: &str| {
            Some(ServerFrame::CallError {
                call_id,
                code,
                message: message.to_owned(),
            })
        };
        if let Intent::Invite { callee, .. } = intent
            && callee != from.user
        {
            // Only people who share a conversation can call each other; anyone else gets the
            // same answer as for a user who does not exist.
            match contacts::share_a_conversation(&self.db, from.user, callee).await {
                Ok(true) => {}
                Ok(false) => return refuse(ErrorCode::NotFound, "no such user"),
                Err(error) => {
                    tracing::error!(%error, "could not check who may call whom");
                    return refuse(ErrorCode::Unavailable, "the server cannot take calls now");
                }
            }
            if let Err(error) = limits.check_call(from.user) {
                return refuse(ErrorCode::RateLimited, &error.to_string());
            }
            match callee_blocked_caller(&self.db, callee, from.user).await {
                Ok(false) => {}
                Ok(true) => {
                    if let Intent::Invite { hidden_until, .. } = &mut intent {
                        // Declined after a while, as a person would: an instant refusal would
                        // tell the caller they are blocked.
                        let after = rand::random_range(HIDDEN_RING_MS);
                        *hidden_until = Some(now_ms() + after);
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "could not check blocks");
                    return refuse(ErrorCode::Unavailable, "the server cannot take calls now");
                }
            }
        }
        let (result, outputs) = self.step(|referee| referee.handle(from, intent, now_ms()));
        self.perform(outputs).await;
        match result {
            Ok(()) => None,
            Err(error) => {
                let code = match error {
                    RefereeError::NotFound => ErrorCode::NotFound,
                    RefereeError::SelfCall => ErrorCode::ValidationFailed,
                    RefereeError::AlreadyInCall
                    | RefereeError::DuplicateCallId
                    | RefereeError::AlreadyAnswered
                    | RefereeError::WrongState => ErrorCode::Conflict,
                };
                refuse(code, &error.to_string())
            }
        }
    }

    /// A device's realtime connection is up: it may resume its call.
    pub async fn device_online(&self, device: Device) {
        let ((), outputs) = self.step(|referee| referee.device_online(device));
        self.perform(outputs).await;
    }

    /// A device's last realtime connection closed.
    pub async fn device_offline(&self, device: Device) {
        let ((), outputs) = self.step(|referee| referee.device_offline(device, now_ms()));
        self.perform(outputs).await;
    }

    /// Ends calls as their deadlines pass, until `shutdown` is cancelled.
    pub async fn run_timers(&self, shutdown: &CancellationToken) {
        loop {
            let deadline = self.lock().poll_timeout();
            let wait = async {
                match deadline {
                    Some(at) => {
                        let millis = u64::try_from(at - now_ms()).unwrap_or(0);
                        tokio::time::sleep(Duration::from_millis(millis)).await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.deadline_changed.notified() => continue,
                () = wait => {}
            }
            let ((), outputs) = self.step(|referee| referee.handle_timeout(now_ms()));
            self.perform(outputs).await;
        }
    }

    /// Records the finished calls, then sends the notices in the order the referee produced them:
    /// a device told `call_ended` finds the call in the history and its conversation.
    async fn perform(&self, mut outputs: Vec<Output>) {
        outputs.sort_by_key(|output| !matches!(output, Output::Record(_)));
        for output in outputs {
            match output {
                Output::Notify { to, notice } => {
                    let Ok(json) = serde_json::to_string(&frame_of(notice)) else {
                        tracing::error!("could not encode a call frame");
                        continue;
                    };
                    let frame = Outbound::Vital(json.into());
                    match to {
                        Recipient::User { user, except } => self.live.send_to_sessions_of(
                            user,
                            &|session| Some(session) != except,
                            frame,
                        ),
                        Recipient::Device(device) => self.live.send_to_sessions_of(
                            device.user,
                            &|session| session == device.session,
                            frame,
                        ),
                    }
                }
                Output::Record(record) => {
                    self.metrics
                        .calls_ended
                        .get_or_create(&CallLabels {
                            reason: record.reason.as_str().to_owned(),
                        })
                        .inc();
                    if let Err(error) = history::record(&self.db, &*self.live, record).await {
                        tracing::error!(%error, call_id = %record.call.call_id, "could not record a call");
                    }
                }
            }
        }
    }
}

/// The referee's intent for a call frame; `None` for frames that are not about calls.
fn intent_of(frame: ClientFrame) -> Option<Intent> {
    Some(match frame {
        ClientFrame::CallInvite {
            call_id,
            callee_id,
            kind,
        } => Intent::Invite {
            call_id,
            callee: callee_id,
            kind,
            hidden_until: None,
        },
        ClientFrame::CallAccept { call_id } => Intent::Accept { call_id },
        ClientFrame::CallDecline { call_id } => Intent::Decline { call_id },
        ClientFrame::CallHangup { call_id } => Intent::Hangup { call_id },
        ClientFrame::CallSignal { call_id, signal } => Intent::Signal { call_id, signal },
        ClientFrame::CallMedia {
            call_id,
            muted,
            camera_on,
        } => Intent::Media {
            call_id,
            muted,
            camera_on,
        },
        ClientFrame::CallFailed { call_id } => Intent::Failed { call_id },
        ClientFrame::Hello { .. } | ClientFrame::Typing { .. } => return None,
    })
}

fn call_id_of(intent: &Intent) -> natter_protocol::CallId {
    match intent {
        Intent::Invite { call_id, .. }
        | Intent::Accept { call_id }
        | Intent::Decline { call_id }
        | Intent::Hangup { call_id }
        | Intent::Signal { call_id, .. }
        | Intent::Media { call_id, .. }
        | Intent::Failed { call_id } => *call_id,
    }
}

fn frame_of(notice: Notice) -> ServerFrame {
    match notice {
        Notice::Incoming { call } => ServerFrame::CallIncoming { call },
        Notice::Ringing { call } => ServerFrame::CallRinging { call },
        Notice::Merged { requested, call } => ServerFrame::CallMerged {
            requested_call_id: requested,
            call,
        },
        Notice::Accepted { call_id, by } => ServerFrame::CallAccepted {
            call_id,
            by_session_id: by,
        },
        Notice::AnsweredElsewhere { call_id } => ServerFrame::CallAnsweredElsewhere { call_id },
        Notice::Signal {
            call_id,
            from,
            signal,
        } => ServerFrame::CallSignal {
            call_id,
            from_user_id: from,
            signal,
        },
        Notice::Media {
            call_id,
            from,
            muted,
            camera_on,
        } => ServerFrame::CallMedia {
            call_id,
            from_user_id: from,
            muted,
            camera_on,
        },
        Notice::Ended { call_id, reason } => ServerFrame::CallEnded { call_id, reason },
    }
}
