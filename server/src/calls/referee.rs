//! The call referee: which calls exist, who may do what in each, and when and why each ends.
//!
//! Pure: no I/O and no clock. Intents from devices, devices going offline or coming back, and
//! the passing of time go in (`handle`, `device_offline`, `device_online`, `handle_timeout`, each
//! with `now`); what to tell whom and what to record comes out of `poll_output`, and
//! `poll_timeout` says when time next matters. The realtime layer performs the outputs.
//!
//! Rules:
//! - An invite rings every session of the callee. The first device to accept wins; the callee's
//!   other sessions are told it was answered elsewhere.
//! - A callee already in a call (ringing or answered, either side) makes the invite end `busy`.
//! - Glare: when A invites B while B's invite to A is still ringing, A's invite becomes A's
//!   device accepting B's call. Invites are handled one at a time, so both sides agree.
//! - Only the two devices of an answered call exchange signals and media states; anyone else
//!   (another user, or another device of a participant) gets `NotFound`, the same as for a call
//!   that does not exist, and learns nothing.
//! - A participant's device offline for longer than the grace period ends the call (`failed`,
//!   or `cancelled` for a caller whose call was still ringing); a quick reconnect does not.
//! - A call to someone who blocked the caller is hidden: the caller hears it ring, the callee
//!   is never told, and it ends `declined` at the time the shell chose (or `cancelled` if the
//!   caller hangs up first). It leaves no record: the record would show in the two people's
//!   direct conversation.

use std::collections::{BTreeMap, HashMap, VecDeque};

pub use natter_protocol::CallInfo;
use natter_protocol::{CallEndReason, CallId, CallKind, CallSignal, SessionId, Timestamp, UserId};

/// Timing rules of calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefereeConfig {
    /// How long a call rings before it ends as missed.
    pub ring_timeout_ms: i64,
    /// How long a participant's device may be offline before its call ends.
    pub offline_grace_ms: i64,
}

impl Default for RefereeConfig {
    fn default() -> Self {
        Self {
            ring_timeout_ms: 30_000,
            offline_grace_ms: 15_000,
        }
    }
}

/// One signed-in device of a user, as the server authenticated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Device {
    pub user: UserId,
    pub session: SessionId,
}

/// What a device asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    Invite {
        call_id: CallId,
        callee: UserId,
        kind: CallKind,
        /// Set by the shell when the callee blocked the caller: the call never rings, and
        /// ends as declined at this time.
        hidden_until: Option<Timestamp>,
    },
    Accept {
        call_id: CallId,
    },
    Decline {
        call_id: CallId,
    },
    /// Cancel while ringing, or hang up an answered call.
    Hangup {
        call_id: CallId,
    },
    Signal {
        call_id: CallId,
        signal: CallSignal,
    },
    Media {
        call_id: CallId,
        muted: bool,
        camera_on: bool,
    },
    /// The device's media failed for good (after its own ICE restarts).
    Failed {
        call_id: CallId,
    },
}

/// Why an intent was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefereeError {
    /// No such call, or not one this device may act on (indistinguishable on purpose).
    #[error("no such call")]
    NotFound,
    #[error("you cannot call yourself")]
    SelfCall,
    /// The caller already has a call (on this or another device).
    #[error("you are already in a call")]
    AlreadyInCall,
    /// The call id is taken by another call.
    #[error("this call id is already used")]
    DuplicateCallId,
    /// Another device (or this one) answered already.
    #[error("the call was already answered")]
    AlreadyAnswered,
    /// The intent does not fit the call's state (e.g. a signal before the call is answered).
    #[error("not possible in the call's current state")]
    WrongState,
}

/// What a device is told.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// Ring: someone is calling you.
    Incoming { call: CallInfo },
    /// Your invite reached the server and rings on the callee's devices.
    Ringing { call: CallInfo },
    /// Glare: your invite `requested` became your acceptance of `call`, the callee's call to you.
    Merged { requested: CallId, call: CallInfo },
    /// The callee's device `by` answered: connect to it.
    Accepted { call_id: CallId, by: SessionId },
    /// One of your other devices answered: stop ringing.
    AnsweredElsewhere { call_id: CallId },
    Signal {
        call_id: CallId,
        from: UserId,
        signal: CallSignal,
    },
    Media {
        call_id: CallId,
        from: UserId,
        muted: bool,
        camera_on: bool,
    },
    Ended {
        call_id: CallId,
        reason: CallEndReason,
    },
}

/// Who a notice is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// Every session of the user, except one if given.
    User {
        user: UserId,
        except: Option<SessionId>,
    },
    /// One device.
    Device(Device),
}

/// A finished call, for the call history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallRecord {
    pub call: CallInfo,
    pub answered_at: Option<Timestamp>,
    pub ended_at: Timestamp,
    pub reason: CallEndReason,
}

impl CallRecord {
    /// Talk time: from answer to end; zero for a call never answered.
    pub fn duration_ms(&self) -> i64 {
        self.answered_at
            .map_or(0, |answered| (self.ended_at - answered).max(0))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Notify { to: Recipient, notice: Notice },
    Record(CallRecord),
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Ringing {
        until: Timestamp,
    },
    Answered {
        callee_session: SessionId,
        at: Timestamp,
    },
}

#[derive(Debug, Clone, Copy)]
struct Call {
    info: CallInfo,
    caller_session: SessionId,
    phase: Phase,
    /// The callee blocked the caller: only the caller knows of the call.
    hidden: bool,
}

impl Call {
    fn participant_device(&self, device: Device) -> bool {
        match self.phase {
            Phase::Answered { callee_session, .. } => {
                (device.user == self.info.caller_id && device.session == self.caller_session)
                    || (device.user == self.info.callee_id && device.session == callee_session)
            }
            Phase::Ringing { .. } => {
                device.user == self.info.caller_id && device.session == self.caller_session
            }
        }
    }

    /// The other device of an answered call.
    fn peer_of(&self, device: Device) -> Option<Device> {
        let Phase::Answered { callee_session, .. } = self.phase else {
            return None;
        };
        if device.session == self.caller_session {
            Some(Device {
                user: self.info.callee_id,
                session: callee_session,
            })
        } else {
            Some(self.caller())
        }
    }

    fn caller(&self) -> Device {
        Device {
            user: self.info.caller_id,
            session: self.caller_session,
        }
    }
}

/// The state of every call on this server.
#[derive(Debug, Default)]
pub struct Referee {
    config: RefereeConfig,
    calls: HashMap<CallId, Call>,
    /// The call each user is in (as caller or callee, ringing or answered).
    engaged: HashMap<UserId, CallId>,
    /// Participant devices that went offline, and when.
    offline_since: BTreeMap<Device, Timestamp>,
    outputs: VecDeque<Output>,
}

impl Referee {
    pub fn new(config: RefereeConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// Handles one intent of an authenticated device.
    pub fn handle(
        &mut self,
        from: Device,
        intent: Intent,
        now: Timestamp,
    ) -> Result<(), RefereeError> {
        match intent {
            Intent::Invite {
                call_id,
                callee,
                kind,
                hidden_until,
            } => self.invite(from, call_id, callee, kind, now, hidden_until),
            Intent::Accept { call_id } => self.accept(from, call_id, now),
            Intent::Decline { call_id } => {
                let call = self.call(call_id)?;
                if from.user != call.info.callee_id || call.hidden {
                    return Err(RefereeError::NotFound);
                }
                if !matches!(call.phase, Phase::Ringing { .. }) {
                    return Err(RefereeError::AlreadyAnswered);
                }
                self.end(call_id, CallEndReason::Declined, now);
                Ok(())
            }
            Intent::Hangup { call_id } => {
                let call = self.call(call_id)?;
                if !call.participant_device(from) {
                    return Err(RefereeError::NotFound);
                }
                let reason = match call.phase {
                    Phase::Ringing { .. } => CallEndReason::Cancelled,
                    Phase::Answered { .. } => CallEndReason::Completed,
                };
                self.end(call_id, reason, now);
                Ok(())
            }
            Intent::Failed { call_id } => {
                let call = self.call(call_id)?;
                if !call.participant_device(from) {
                    return Err(RefereeError::NotFound);
                }
                self.end(call_id, CallEndReason::Failed, now);
                Ok(())
            }
            Intent::Signal { call_id, signal } => {
                let peer = self.peer(from, call_id)?;
                self.notify(
                    Recipient::Device(peer),
                    Notice::Signal {
                        call_id,
                        from: from.user,
                        signal,
                    },
                );
                Ok(())
            }
            Intent::Media {
                call_id,
                muted,
                camera_on,
            } => {
                let peer = self.peer(from, call_id)?;
                self.notify(
                    Recipient::Device(peer),
                    Notice::Media {
                        call_id,
                        from: from.user,
                        muted,
                        camera_on,
                    },
                );
                Ok(())
            }
        }
    }

    /// A device's realtime connection closed; its calls end if it stays away past the grace.
    pub fn device_offline(&mut self, device: Device, now: Timestamp) {
        let in_call = self
            .engaged
            .get(&device.user)
            .and_then(|call_id| self.calls.get(call_id))
            .is_some_and(|call| call.participant_device(device));
        if in_call {
            self.offline_since.entry(device).or_insert(now);
        }
    }

    /// A device connected or reconnected. While its user's call rings it is told again (a
    /// frame lost with its old connection must not leave it silent, and a device that comes
    /// online mid-ring rings too).
    pub fn device_online(&mut self, device: Device) {
        self.offline_since.remove(&device);
        let Some(call) = self
            .engaged
            .get(&device.user)
            .and_then(|call_id| self.calls.get(call_id))
        else {
            return;
        };
        if !matches!(call.phase, Phase::Ringing { .. }) {
            return;
        }
        let notice = if device.user == call.info.callee_id {
            Notice::Incoming { call: call.info }
        } else if device == call.caller() {
            Notice::Ringing { call: call.info }
        } else {
            return;
        };
        self.notify(Recipient::Device(device), notice);
    }

    /// Ends what is due at `now`: unanswered calls and calls of devices away too long.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let rung_out: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, call)| matches!(call.phase, Phase::Ringing { until } if until <= now))
            .map(|(id, _)| *id)
            .collect();
        for call_id in rung_out {
            let reason = match self.calls.get(&call_id) {
                Some(call) if call.hidden => CallEndReason::Declined,
                _ => CallEndReason::Missed,
            };
            self.end(call_id, reason, now);
        }
        let gone: Vec<Device> = self
            .offline_since
            .iter()
            .filter(|(_, since)| **since + self.config.offline_grace_ms <= now)
            .map(|(device, _)| *device)
            .collect();
        for device in gone {
            self.offline_since.remove(&device);
            let Some(&call_id) = self.engaged.get(&device.user) else {
                continue;
            };
            let Some(call) = self.calls.get(&call_id) else {
                continue;
            };
            if !call.participant_device(device) {
                continue;
            }
            let reason = match call.phase {
                Phase::Ringing { .. } => CallEndReason::Cancelled,
                Phase::Answered { .. } => CallEndReason::Failed,
            };
            self.end(call_id, reason, now);
        }
    }

    /// When `handle_timeout` next has something to do.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let rings = self.calls.values().filter_map(|call| match call.phase {
            Phase::Ringing { until } => Some(until),
            Phase::Answered { .. } => None,
        });
        let graces = self
            .offline_since
            .values()
            .map(|since| since + self.config.offline_grace_ms);
        rings.chain(graces).min()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The call a user is in, if any.
    pub fn call_of(&self, user: UserId) -> Option<CallInfo> {
        let call_id = self.engaged.get(&user)?;
        self.calls.get(call_id).map(|call| call.info)
    }

    fn invite(
        &mut self,
        from: Device,
        call_id: CallId,
        callee: UserId,
        kind: CallKind,
        now: Timestamp,
        hidden_until: Option<Timestamp>,
    ) -> Result<(), RefereeError> {
        if callee == from.user {
            return Err(RefereeError::SelfCall);
        }
        if self.calls.contains_key(&call_id) {
            return Err(RefereeError::DuplicateCallId);
        }
        if let Some(&existing) = self.engaged.get(&from.user) {
            let glare = self.calls.get(&existing).is_some_and(|call| {
                call.info.caller_id == callee
                    && call.info.callee_id == from.user
                    && matches!(call.phase, Phase::Ringing { .. })
            });
            if !glare {
                return Err(RefereeError::AlreadyInCall);
            }
            // Both want to talk: this invite answers the call already ringing here.
            self.answer(existing, from, now);
            if let Some(call) = self.calls.get(&existing) {
                self.notify(
                    Recipient::Device(from),
                    Notice::Merged {
                        requested: call_id,
                        call: call.info,
                    },
                );
            }
            return Ok(());
        }
        let info = CallInfo {
            call_id,
            caller_id: from.user,
            callee_id: callee,
            kind,
            started_at: now,
        };
        if self.engaged.contains_key(&callee) {
            self.notify(
                Recipient::Device(from),
                Notice::Ended {
                    call_id,
                    reason: CallEndReason::Busy,
                },
            );
            if hidden_until.is_none() {
                self.outputs.push_back(Output::Record(CallRecord {
                    call: info,
                    answered_at: None,
                    ended_at: now,
                    reason: CallEndReason::Busy,
                }));
            }
            return Ok(());
        }
        self.calls.insert(
            call_id,
            Call {
                info,
                caller_session: from.session,
                phase: Phase::Ringing {
                    until: hidden_until.unwrap_or(now + self.config.ring_timeout_ms),
                },
                hidden: hidden_until.is_some(),
            },
        );
        self.engaged.insert(from.user, call_id);
        if hidden_until.is_none() {
            // A hidden call does not make the callee busy: that would tell on it.
            self.engaged.insert(callee, call_id);
            self.notify(
                Recipient::User {
                    user: callee,
                    except: None,
                },
                Notice::Incoming { call: info },
            );
        }
        self.notify(Recipient::Device(from), Notice::Ringing { call: info });
        Ok(())
    }

    fn accept(
        &mut self,
        from: Device,
        call_id: CallId,
        now: Timestamp,
    ) -> Result<(), RefereeError> {
        let call = self.call(call_id)?;
        if from.user != call.info.callee_id || call.hidden {
            return Err(RefereeError::NotFound);
        }
        if !matches!(call.phase, Phase::Ringing { .. }) {
            return Err(RefereeError::AlreadyAnswered);
        }
        self.answer(call_id, from, now);
        // The winner learns it won (a losing device gets `AlreadyAnswered` instead).
        self.notify(
            Recipient::Device(from),
            Notice::Accepted {
                call_id,
                by: from.session,
            },
        );
        Ok(())
    }

    /// The callee's device `by` answers a ringing call.
    fn answer(&mut self, call_id: CallId, by: Device, now: Timestamp) {
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        call.phase = Phase::Answered {
            callee_session: by.session,
            at: now,
        };
        let caller = call.caller();
        self.notify(
            Recipient::Device(caller),
            Notice::Accepted {
                call_id,
                by: by.session,
            },
        );
        self.notify(
            Recipient::User {
                user: by.user,
                except: Some(by.session),
            },
            Notice::AnsweredElsewhere { call_id },
        );
    }

    /// Ends a call: tells whoever still knows of it, records it, frees both users.
    fn end(&mut self, call_id: CallId, reason: CallEndReason, now: Timestamp) {
        let Some(call) = self.calls.remove(&call_id) else {
            return;
        };
        for user in [call.info.caller_id, call.info.callee_id] {
            if self.engaged.get(&user) == Some(&call_id) {
                self.engaged.remove(&user);
            }
        }
        self.offline_since.retain(|device, _| {
            !(device.user == call.info.caller_id || device.user == call.info.callee_id)
        });
        let ended = Notice::Ended { call_id, reason };
        self.notify(Recipient::Device(call.caller()), ended.clone());
        if call.hidden {
            return;
        }
        match call.phase {
            // Every device of the callee rang: all stop.
            Phase::Ringing { .. } => self.notify(
                Recipient::User {
                    user: call.info.callee_id,
                    except: None,
                },
                ended,
            ),
            Phase::Answered { callee_session, .. } => {
                let callee = Device {
                    user: call.info.callee_id,
                    session: callee_session,
                };
                self.notify(Recipient::Device(callee), ended);
            }
        }
        let answered_at = match call.phase {
            Phase::Answered { at, .. } => Some(at),
            Phase::Ringing { .. } => None,
        };
        self.outputs.push_back(Output::Record(CallRecord {
            call: call.info,
            answered_at,
            ended_at: now,
            reason,
        }));
    }

    fn call(&self, call_id: CallId) -> Result<&Call, RefereeError> {
        self.calls.get(&call_id).ok_or(RefereeError::NotFound)
    }

    /// The other device of an answered call `from` takes part in.
    fn peer(&self, from: Device, call_id: CallId) -> Result<Device, RefereeError> {
        let call = self.call(call_id)?;
        if !call.participant_device(from) {
            return Err(RefereeError::NotFound);
        }
        call.peer_of(from).ok_or(RefereeError::WrongState)
    }

    fn notify(&mut self, to: Recipient, notice: Notice) {
        self.outputs.push_back(Output::Notify { to, notice });
    }
}

#[cfg(test)]
mod tests;
