//! One device's call as a state machine without I/O: idle → outgoing or incoming → connecting →
//! connected → ended. Driven by the user's intents, the server's `call_*` frames, the media
//! engine's state and the passing of time (passed in); it says what to send, when to start and
//! stop the media, and what the call looks like now.

use std::time::{Duration, Instant};

use natter_protocol::{
    CallEndReason, CallId, CallInfo, CallKind, CallSignal, ClientFrame, ServerFrame, UserId,
};
use serde::Serialize;

/// How long an invite may wait for the server's `call_ringing`.
pub const INVITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long media may take to connect once the call is answered.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// outgoing: my invite rings (ringback plays); incoming: ringing here (the call window shows
/// Accept/Decline); connecting: answered, media connecting; connected; ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(rename = "CallPhase"))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// My invite is on its way or ringing on the callee's devices.
    Outgoing,
    /// Someone calls me: ringing here.
    Incoming,
    /// Answered; media is connecting.
    Connecting,
    Connected,
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(
    feature = "typescript",
    derive(ts_rs::TS),
    ts(rename = "CallDirection")
)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Outgoing,
    Incoming,
}

/// Why the call ended, from this device's side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(rename = "CallEnding"))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ending {
    /// The server ended it (and recorded it) for this reason.
    Ended { reason: CallEndReason },
    /// Another of my devices took it.
    AnsweredElsewhere,
    /// The server refused an intent of mine (a user I may not call, already in a call, …).
    Refused { message: String },
    /// This device gave up (no answer from the server, media never connected).
    TimedOut,
    /// This device lost the server before the call was answered: it could not have answered
    /// (or heard the answer), and would never hear that the call ended. An incoming call that
    /// still rings when the device comes back rings again.
    ServerLost,
}

/// The call as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct CallView {
    pub call_id: CallId,
    pub peer_id: UserId,
    pub kind: CallKind,
    pub direction: Direction,
    pub phase: Phase,
    /// The callee's devices are ringing (outgoing calls).
    pub ringing: bool,
    /// Media dropped and is being restored.
    pub reconnecting: bool,
    /// My microphone.
    pub muted: bool,
    /// My camera (video calls).
    pub camera_on: bool,
    pub peer_muted: bool,
    pub peer_camera_on: bool,
    /// Why it ended (`ended_text` says it for people).
    pub ending: Option<Ending>,
}

/// Which side of the WebRTC negotiation this device takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaRole {
    /// The caller's device makes the offer.
    Offerer,
    Answerer,
}

/// The media engine's state, as the machine needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaProgress {
    Connected,
    Reconnecting,
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Place {
        call_id: CallId,
        callee: UserId,
        kind: CallKind,
    },
    /// Answer the ringing call, with my camera on or not (a video call answered by voice).
    Accept {
        camera_on: bool,
    },
    Decline,
    Hangup,
    SetMuted(bool),
    SetCamera(bool),
    Frame(Box<ServerFrame>),
    Media(MediaProgress),
    /// A signal the media engine wants sent to the other device.
    LocalSignal(CallSignal),
    /// The connection to the server dropped.
    ServerLost,
    /// The connection to the server is back.
    ServerBack,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Send(ClientFrame),
    StartMedia {
        call_id: CallId,
        role: MediaRole,
        kind: CallKind,
    },
    StopMedia,
    /// A signal from the other device, for the media engine.
    ToMedia(CallSignal),
    /// Apply to the media engine.
    MediaSwitches {
        muted: bool,
        camera_on: bool,
    },
    Changed(CallView),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("already in a call")]
    Busy,
    #[error("no call to do that to")]
    NoCall,
    /// Raised by the shell (`calls.rs`), which opens the camera before it is turned on.
    #[error("no camera opens (none is connected, or another program is using it)")]
    NoCamera,
}

#[derive(Debug, Default)]
pub struct CallMachine {
    call: Option<CallView>,
    /// When the current phase must have moved on.
    deadline: Option<Instant>,
    /// My accept is on its way (the server confirms with `call_accepted`).
    accepting: bool,
    /// Calls ended here when the server was lost, that the server may still think go on (my
    /// invite, or my accept, may have reached it): hung up when the server is back.
    lost: Vec<CallId>,
    outputs: Vec<Output>,
}

impl CallMachine {
    pub fn view(&self) -> Option<&CallView> {
        self.call.as_ref()
    }

    /// In a call that has not ended.
    pub fn busy(&self) -> bool {
        self.call
            .as_ref()
            .is_some_and(|call| call.phase != Phase::Ended)
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn drain(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outputs)
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|deadline| deadline <= now) {
            self.deadline = None;
            let Some(call) = self.call.as_ref() else {
                return;
            };
            let call_id = call.call_id;
            let frame = if call.phase == Phase::Connecting {
                ClientFrame::CallFailed { call_id }
            } else {
                ClientFrame::CallHangup { call_id }
            };
            self.outputs.push(Output::Send(frame));
            self.end(Ending::TimedOut);
        }
    }

    pub fn handle(&mut self, input: Input, now: Instant) -> Result<(), CallError> {
        match input {
            Input::Place {
                call_id,
                callee,
                kind,
            } => {
                // Calling the person whose call rings here is answering it: the server merges
                // invites that cross the same way, but this one had arrived first.
                if let Some(call) = &self.call
                    && call.phase == Phase::Incoming
                    && call.peer_id == callee
                {
                    if self.accepting {
                        return Ok(());
                    }
                    return self.handle(
                        Input::Accept {
                            camera_on: kind == CallKind::Video,
                        },
                        now,
                    );
                }
                if self.busy() {
                    return Err(CallError::Busy);
                }
                self.call = Some(CallView {
                    call_id,
                    peer_id: callee,
                    kind,
                    direction: Direction::Outgoing,
                    phase: Phase::Outgoing,
                    ringing: false,
                    reconnecting: false,
                    muted: false,
                    camera_on: kind == CallKind::Video,
                    peer_muted: false,
                    peer_camera_on: kind == CallKind::Video,
                    ending: None,
                });
                self.accepting = false;
                self.deadline = Some(now + INVITE_TIMEOUT);
                self.outputs.push(Output::Send(ClientFrame::CallInvite {
                    call_id,
                    callee_id: callee,
                    kind,
                }));
                self.changed();
            }
            Input::Accept { camera_on } => {
                let call = self.current(Phase::Incoming)?;
                if self.accepting {
                    // Already on its way: a second accept would be refused by the server, and
                    // a refused accept ends the call.
                    return Ok(());
                }
                self.accepting = true;
                self.outputs
                    .push(Output::Send(ClientFrame::CallAccept { call_id: call }));
                if let Some(view) = self.call.as_mut() {
                    // Turned off while it rang stays off.
                    view.camera_on &= camera_on;
                }
                self.changed();
            }
            Input::Decline => {
                let call = self.current(Phase::Incoming)?;
                self.outputs
                    .push(Output::Send(ClientFrame::CallDecline { call_id: call }));
                self.end(Ending::Ended {
                    reason: CallEndReason::Declined,
                });
            }
            Input::Hangup => {
                let call = self.call.as_ref().ok_or(CallError::NoCall)?;
                let call_id = call.call_id;
                match call.phase {
                    Phase::Incoming => return self.handle(Input::Decline, now),
                    Phase::Ended => return Err(CallError::NoCall),
                    Phase::Outgoing | Phase::Connecting | Phase::Connected => {}
                }
                let reason = if call.phase == Phase::Outgoing {
                    CallEndReason::Cancelled
                } else {
                    CallEndReason::Completed
                };
                self.outputs
                    .push(Output::Send(ClientFrame::CallHangup { call_id }));
                self.end(Ending::Ended { reason });
            }
            Input::SetMuted(muted) => self.switch(Some(muted), None)?,
            Input::SetCamera(on) => self.switch(None, Some(on))?,
            Input::Frame(frame) => self.frame(*frame, now),
            Input::Media(progress) => self.media(progress),
            Input::ServerLost => {
                // A call in progress keeps going: its media is peer to peer and the server waits
                // for this device to come back. Ringing must stop: nothing would end it (the
                // server tells a device that comes back of a call still ringing, not of one
                // that ended meanwhile).
                let Some(call) = self.call.as_ref() else {
                    return Ok(());
                };
                let call_id = call.call_id;
                let started_here = match call.phase {
                    Phase::Outgoing => true,
                    Phase::Incoming => self.accepting,
                    _ => return Ok(()),
                };
                self.end(Ending::ServerLost);
                // A call that only rang here needs nothing more: if it still rings when this
                // device is back, the server rings it again.
                if started_here {
                    self.lost.push(call_id);
                }
            }
            Input::ServerBack => {
                for call_id in std::mem::take(&mut self.lost) {
                    // One that rings here again (my accept never arrived) is the user's again.
                    if !self.is_current(call_id) {
                        self.outputs
                            .push(Output::Send(ClientFrame::CallHangup { call_id }));
                    }
                }
            }
            Input::LocalSignal(signal) => {
                if let Some(call) = &self.call
                    && matches!(call.phase, Phase::Connecting | Phase::Connected)
                {
                    self.outputs.push(Output::Send(ClientFrame::CallSignal {
                        call_id: call.call_id,
                        signal,
                    }));
                }
            }
        }
        Ok(())
    }

    /// The current call's id if it is in `phase`.
    fn current(&self, phase: Phase) -> Result<CallId, CallError> {
        self.call
            .as_ref()
            .filter(|call| call.phase == phase)
            .map(|call| call.call_id)
            .ok_or(CallError::NoCall)
    }

    fn switch(&mut self, muted: Option<bool>, camera_on: Option<bool>) -> Result<(), CallError> {
        let call = self.call.as_mut().ok_or(CallError::NoCall)?;
        if call.phase == Phase::Ended {
            return Err(CallError::NoCall);
        }
        call.muted = muted.unwrap_or(call.muted);
        call.camera_on = camera_on.unwrap_or(call.camera_on) && call.kind == CallKind::Video;
        let (call_id, muted, camera_on, phase) =
            (call.call_id, call.muted, call.camera_on, call.phase);
        self.outputs
            .push(Output::MediaSwitches { muted, camera_on });
        if matches!(phase, Phase::Connecting | Phase::Connected) {
            self.outputs.push(Output::Send(ClientFrame::CallMedia {
                call_id,
                muted,
                camera_on,
            }));
        }
        self.changed();
        Ok(())
    }

    fn is_current(&self, call_id: CallId) -> bool {
        self.call
            .as_ref()
            .is_some_and(|call| call.call_id == call_id && call.phase != Phase::Ended)
    }

    fn frame(&mut self, frame: ServerFrame, now: Instant) {
        match frame {
            ServerFrame::CallRinging { call } if self.is_current(call.call_id) => {
                if let Some(view) = self.call.as_mut() {
                    view.ringing = true;
                }
                self.deadline = None;
                self.changed();
            }
            ServerFrame::CallIncoming { call } => {
                // A repeat of the ringing call, or one for a device already busy here (the
                // server rings every device; this one stays out of it).
                if self.busy() {
                    return;
                }
                self.incoming(call);
            }
            ServerFrame::CallMerged {
                requested_call_id,
                call,
            } if self.is_current(requested_call_id) => {
                // Glare: my invite became my answer to their call. It goes straight to
                // connecting: shown ringing even for a moment, it would offer to be answered.
                let mut view = incoming_view(call);
                view.ringing = false;
                self.call = Some(view);
                self.accepting = false;
                self.connecting(MediaRole::Answerer, now);
            }
            ServerFrame::CallAccepted { call_id, .. } if self.is_current(call_id) => {
                let Some(call) = self.call.as_ref() else {
                    return;
                };
                match (call.direction, call.phase) {
                    (Direction::Outgoing, Phase::Outgoing) => {
                        self.connecting(MediaRole::Offerer, now);
                    }
                    (Direction::Incoming, Phase::Incoming) if self.accepting => {
                        self.connecting(MediaRole::Answerer, now);
                    }
                    _ => {}
                }
            }
            ServerFrame::CallAnsweredElsewhere { call_id } if self.is_current(call_id) => {
                self.end(Ending::AnsweredElsewhere);
            }
            ServerFrame::CallSignal {
                call_id, signal, ..
            } if self.is_current(call_id) => {
                self.outputs.push(Output::ToMedia(signal));
            }
            ServerFrame::CallMedia {
                call_id,
                muted,
                camera_on,
                ..
            } if self.is_current(call_id) => {
                if let Some(call) = self.call.as_mut() {
                    call.peer_muted = muted;
                    call.peer_camera_on = camera_on;
                }
                self.changed();
            }
            ServerFrame::CallEnded { call_id, reason } if self.is_current(call_id) => {
                self.end(Ending::Ended { reason });
            }
            ServerFrame::CallError {
                call_id, message, ..
            } if self.is_current(call_id) => {
                let Some(call) = self.call.as_ref() else {
                    return;
                };
                // A refused invite or accept ends the attempt; a refused signal (say, one
                // crossing the hang-up) changes nothing.
                if call.phase == Phase::Outgoing
                    || (call.phase == Phase::Incoming && self.accepting)
                {
                    self.end(Ending::Refused { message });
                }
            }
            _ => {}
        }
    }

    fn incoming(&mut self, call: CallInfo) {
        // Ringing again after the server was lost: it is not to be hung up.
        self.lost.retain(|lost| *lost != call.call_id);
        self.call = Some(incoming_view(call));
        self.accepting = false;
        self.deadline = None;
        self.changed();
    }

    fn connecting(&mut self, role: MediaRole, now: Instant) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        call.phase = Phase::Connecting;
        call.ringing = false;
        let (call_id, kind, muted, camera_on) =
            (call.call_id, call.kind, call.muted, call.camera_on);
        self.deadline = Some(now + CONNECT_TIMEOUT);
        // Shown first: starting the media waits for the ICE servers and the devices, and the
        // ringtone, ringback and call window must stop the moment the call is answered.
        self.changed();
        // The peer assumes a fresh call's microphone and camera are on; switched before the
        // answer (a video call answered by voice, muted while ringing), it is told now.
        if muted || camera_on != (kind == CallKind::Video) {
            self.outputs.push(Output::Send(ClientFrame::CallMedia {
                call_id,
                muted,
                camera_on,
            }));
        }
        self.outputs.push(Output::StartMedia {
            call_id,
            role,
            kind,
        });
    }

    fn media(&mut self, progress: MediaProgress) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        if !matches!(call.phase, Phase::Connecting | Phase::Connected) {
            return;
        }
        match progress {
            MediaProgress::Connected => {
                call.phase = Phase::Connected;
                call.reconnecting = false;
                self.deadline = None;
            }
            MediaProgress::Reconnecting => call.reconnecting = true,
            MediaProgress::Failed => {
                let call_id = call.call_id;
                self.outputs
                    .push(Output::Send(ClientFrame::CallFailed { call_id }));
                self.end(Ending::Ended {
                    reason: CallEndReason::Failed,
                });
                return;
            }
        }
        self.changed();
    }

    fn end(&mut self, ending: Ending) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        let had_media = matches!(call.phase, Phase::Connecting | Phase::Connected);
        call.phase = Phase::Ended;
        call.ringing = false;
        call.reconnecting = false;
        call.ending = Some(ending);
        self.deadline = None;
        self.accepting = false;
        if had_media {
            self.outputs.push(Output::StopMedia);
        }
        self.changed();
    }

    fn changed(&mut self) {
        if let Some(call) = &self.call {
            self.outputs.push(Output::Changed(call.clone()));
        }
    }
}

/// A call to me, ringing here.
fn incoming_view(call: CallInfo) -> CallView {
    CallView {
        call_id: call.call_id,
        peer_id: call.caller_id,
        kind: call.kind,
        direction: Direction::Incoming,
        phase: Phase::Incoming,
        ringing: true,
        reconnecting: false,
        muted: false,
        camera_on: call.kind == CallKind::Video,
        peer_muted: false,
        peer_camera_on: call.kind == CallKind::Video,
        ending: None,
    }
}

#[cfg(test)]
mod tests;
