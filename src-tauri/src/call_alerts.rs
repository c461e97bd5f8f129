//! What makes a call impossible to miss, decided without I/O: the ringtone or ringback, the
//! ringing alerts (the always-on-top call window, the tray, the main window's attention
//! request), the incoming-call notification and the missed-call one, and when media first
//! connected. Inputs are the call's changes (with the notification setting and the time), the
//! notification server's late answers, and the notification's buttons; outputs are effects
//! the shell (`calls.rs`) performs. The ringing races fixed by hand before are tests here.
//!
//! `N` is the shell's handle of a shown notification (platform-specific), kept to replace or
//! withdraw it.

use natter_client::call_machine::{CallView, Direction, Ending, Phase};
use natter_media::ring::Tune;
use natter_protocol::CallId;

/// What the shell must do, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Effect<N> {
    /// Stop any sound, then play `tune` for the call (until the next `Sound`).
    Sound(Option<Tune>),
    /// Ringing started here: open the call window, ring the tray, ask for attention.
    RaiseAlerts,
    /// Show the incoming-call notification; its handle comes back through
    /// [`CallAlerts::notification_shown`] (notification servers can be slow).
    ShowIncomingNotification { call_id: CallId },
    /// Ringing stopped: close the call window, quiet the tray, drop the attention request.
    TakeDownAlerts,
    /// Take this incoming-call notification away, or turn it into the missed-call one.
    EndNotification { shown: Option<N>, missed: bool },
    /// The call needs the camera and microphone the settings' device test may hold.
    StopDeviceTest,
    /// The call is over: clear its pictures, leave full screen.
    CallOver,
}

/// The answer a notification's button gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept { video: bool },
    Decline,
}

#[derive(Debug)]
pub struct CallAlerts<N> {
    /// The sound wanted now, and for which call.
    sound: Option<(CallId, Tune)>,
    /// The call whose ringing alerts are up.
    alerted: Option<CallId>,
    /// The incoming-call notification shown for `alerted`.
    notification: Option<N>,
    connected_at: Option<(CallId, i64)>,
}

impl<N> Default for CallAlerts<N> {
    fn default() -> Self {
        Self {
            sound: None,
            alerted: None,
            notification: None,
            connected_at: None,
        }
    }
}

/// Which sound the call's phase wants.
fn tune_for(call: &CallView) -> Option<Tune> {
    match call.phase {
        Phase::Incoming => Some(Tune::Ringtone),
        Phase::Outgoing if call.ringing => Some(Tune::Ringback),
        _ => None,
    }
}

/// An incoming call this device never picked up (and no other of mine did).
pub fn missed_here(call: &CallView) -> bool {
    call.direction == Direction::Incoming
        && matches!(&call.ending, Some(Ending::Ended { reason }) if reason.missed_by_callee())
}

impl<N> CallAlerts<N> {
    /// When the current call's media first connected (ms since the Unix epoch).
    pub fn connected_at(&self, call_id: CallId) -> Option<i64> {
        self.connected_at
            .filter(|(id, _)| *id == call_id)
            .map(|(_, at)| at)
    }

    /// The call changed. `notify`: the person wants notifications; `now_ms`: the wall clock.
    pub fn call_changed(&mut self, call: &CallView, notify: bool, now_ms: i64) -> Vec<Effect<N>> {
        let mut effects = Vec::new();
        if call.phase == Phase::Connected && self.connected_at(call.call_id).is_none() {
            self.connected_at = Some((call.call_id, now_ms));
        }
        // The window and the tray first: the ringtone waits for a sound card to open.
        let ringing_here = call.phase == Phase::Incoming;
        if ringing_here && self.alerted != Some(call.call_id) {
            if self.alerted.is_some() {
                // Another call's alerts were still up: they go before these come.
                effects.extend(self.take_down(false));
            }
            self.alerted = Some(call.call_id);
            effects.push(Effect::RaiseAlerts);
            if notify {
                effects.push(Effect::ShowIncomingNotification {
                    call_id: call.call_id,
                });
            }
        } else if !ringing_here && self.alerted.is_some() {
            effects.extend(self.take_down(missed_here(call) && notify));
        } else if call.phase == Phase::Ended && missed_here(call) && notify {
            // Missed without ever ringing here (it rang out while this device was connecting).
            effects.push(Effect::EndNotification {
                shown: None,
                missed: true,
            });
        }
        let wanted = tune_for(call).map(|tune| (call.call_id, tune));
        if wanted != self.sound {
            self.sound = wanted;
            effects.push(Effect::Sound(wanted.map(|(_, tune)| tune)));
        }
        match call.phase {
            Phase::Connecting => effects.push(Effect::StopDeviceTest),
            Phase::Ended => effects.push(Effect::CallOver),
            _ => {}
        }
        effects
    }

    /// The notification server showed (or failed to show: `None`) the incoming-call
    /// notification of `call_id`.
    pub fn notification_shown(&mut self, call_id: CallId, shown: Option<N>) -> Vec<Effect<N>> {
        if self.alerted == Some(call_id) {
            // The same call may ring again (the server lost and back) before an earlier
            // notification of it was shown: only the newest stays.
            match std::mem::replace(&mut self.notification, shown) {
                Some(earlier) => vec![Effect::EndNotification {
                    shown: Some(earlier),
                    missed: false,
                }],
                None => Vec::new(),
            }
        } else {
            // It stopped ringing while the notification was on its way.
            vec![Effect::EndNotification {
                shown,
                missed: false,
            }]
        }
    }

    /// A notification's button: answered only if that call still rings here (a notification
    /// left on screen must not answer a later call, or one answered meanwhile).
    pub fn answer(&self, call_id: CallId, answer: Answer) -> Option<Answer> {
        (self.alerted == Some(call_id)).then_some(answer)
    }

    /// Forget the call (signed out: the client will say nothing more).
    pub fn reset(&mut self) -> Vec<Effect<N>> {
        let mut effects = Vec::new();
        if self.alerted.is_some() {
            effects.extend(self.take_down(false));
        }
        if self.sound.take().is_some() {
            effects.push(Effect::Sound(None));
        }
        self.connected_at = None;
        effects
    }

    fn take_down(&mut self, missed: bool) -> [Effect<N>; 2] {
        self.alerted = None;
        [
            Effect::TakeDownAlerts,
            Effect::EndNotification {
                shown: self.notification.take(),
                missed,
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use natter_protocol::{CallEndReason, CallKind, UserId};

    use super::*;

    /// A shown notification, by number.
    type Shown = u32;

    const FIRST: CallId = CallId::from_u128(1);
    const SECOND: CallId = CallId::from_u128(2);

    fn call(call_id: CallId, direction: Direction, phase: Phase) -> CallView {
        CallView {
            call_id,
            peer_id: UserId::from_u128(9),
            kind: CallKind::Video,
            direction,
            phase,
            ringing: false,
            reconnecting: false,
            muted: false,
            camera_on: true,
            peer_muted: false,
            peer_camera_on: true,
            ending: None,
        }
    }

    fn incoming(call_id: CallId) -> CallView {
        call(call_id, Direction::Incoming, Phase::Incoming)
    }

    fn ended(call_id: CallId, direction: Direction, ending: Ending) -> CallView {
        CallView {
            ending: Some(ending),
            ..call(call_id, direction, Phase::Ended)
        }
    }

    fn reason(reason: CallEndReason) -> Ending {
        Ending::Ended { reason }
    }

    #[test]
    fn an_incoming_call_raises_everything_once_and_rings() {
        let mut alerts = CallAlerts::<Shown>::default();
        assert_eq!(
            alerts.call_changed(&incoming(FIRST), true, 0),
            [
                Effect::RaiseAlerts,
                Effect::ShowIncomingNotification { call_id: FIRST },
                Effect::Sound(Some(Tune::Ringtone)),
            ]
        );
        // The same call changes while it rings (the caller turned the camera off): nothing
        // more, the ringtone does not start over.
        let mut changed = incoming(FIRST);
        changed.peer_camera_on = false;
        assert_eq!(alerts.call_changed(&changed, true, 10), []);
    }

    #[test]
    fn without_notifications_it_still_rings_and_no_missed_call_is_shown() {
        let mut alerts = CallAlerts::<Shown>::default();
        assert_eq!(
            alerts.call_changed(&incoming(FIRST), false, 0),
            [Effect::RaiseAlerts, Effect::Sound(Some(Tune::Ringtone))]
        );
        let missed = ended(FIRST, Direction::Incoming, reason(CallEndReason::Missed));
        assert_eq!(
            alerts.call_changed(&missed, false, 30_000),
            [
                Effect::TakeDownAlerts,
                Effect::EndNotification {
                    shown: None,
                    missed: false
                },
                Effect::Sound(None),
                Effect::CallOver,
            ]
        );
    }

    #[test]
    fn a_missed_call_turns_its_notification_into_the_missed_one() {
        let mut alerts = CallAlerts::<Shown>::default();
        alerts.call_changed(&incoming(FIRST), true, 0);
        assert_eq!(alerts.notification_shown(FIRST, Some(7)), []);
        let missed = ended(FIRST, Direction::Incoming, reason(CallEndReason::Cancelled));
        let effects = alerts.call_changed(&missed, true, 5_000);
        assert!(effects.contains(&Effect::EndNotification {
            shown: Some(7),
            missed: true
        }));
        assert!(effects.contains(&Effect::Sound(None)));
    }

    #[test]
    fn answered_elsewhere_takes_everything_down_without_a_missed_call() {
        let mut alerts = CallAlerts::<Shown>::default();
        alerts.call_changed(&incoming(FIRST), true, 0);
        alerts.notification_shown(FIRST, Some(7));
        let elsewhere = ended(FIRST, Direction::Incoming, Ending::AnsweredElsewhere);
        let effects = alerts.call_changed(&elsewhere, true, 5_000);
        assert_eq!(
            effects[..2],
            [
                Effect::TakeDownAlerts,
                Effect::EndNotification {
                    shown: Some(7),
                    missed: false
                }
            ]
        );
    }

    #[test]
    fn a_notification_shown_after_the_ringing_stopped_is_taken_away_at_once() {
        let mut alerts = CallAlerts::<Shown>::default();
        alerts.call_changed(&incoming(FIRST), true, 0);
        // Answered in the app before the slow notification server showed it.
        alerts.call_changed(
            &call(FIRST, Direction::Incoming, Phase::Connecting),
            true,
            100,
        );
        assert_eq!(
            alerts.notification_shown(FIRST, Some(7)),
            [Effect::EndNotification {
                shown: Some(7),
                missed: false
            }]
        );
    }

    #[test]
    fn a_call_ringing_again_keeps_only_its_newest_notification() {
        let mut alerts = CallAlerts::<Shown>::default();
        alerts.call_changed(&incoming(FIRST), true, 0);
        assert_eq!(alerts.notification_shown(FIRST, Some(7)), []);
        // The server was lost and came back: it rings the same call here again, and the
        // second notification arrives.
        assert_eq!(
            alerts.notification_shown(FIRST, Some(8)),
            [Effect::EndNotification {
                shown: Some(7),
                missed: false
            }]
        );
        let elsewhere = ended(FIRST, Direction::Incoming, Ending::AnsweredElsewhere);
        assert!(
            alerts
                .call_changed(&elsewhere, true, 1_000)
                .contains(&Effect::EndNotification {
                    shown: Some(8),
                    missed: false
                })
        );
    }

    #[test]
    fn missed_without_ringing_here_still_says_so() {
        let mut alerts = CallAlerts::<Shown>::default();
        let missed = ended(FIRST, Direction::Incoming, reason(CallEndReason::Missed));
        assert_eq!(
            alerts.call_changed(&missed, true, 0),
            [
                Effect::EndNotification {
                    shown: None,
                    missed: true
                },
                Effect::CallOver
            ]
        );
    }

    #[test]
    fn the_notifications_buttons_answer_only_the_call_still_ringing() {
        let mut alerts = CallAlerts::<Shown>::default();
        alerts.call_changed(&incoming(FIRST), true, 0);
        let accept = Answer::Accept { video: false };
        assert_eq!(alerts.answer(FIRST, accept), Some(accept));
        assert_eq!(alerts.answer(SECOND, Answer::Decline), None, "another call");
        alerts.call_changed(
            &call(FIRST, Direction::Incoming, Phase::Connecting),
            true,
            10,
        );
        assert_eq!(alerts.answer(FIRST, accept), None, "answered meanwhile");
    }

    #[test]
    fn a_second_incoming_call_replaces_the_first_ones_alerts() {
        let mut alerts = CallAlerts::<Shown>::default();
        alerts.call_changed(&incoming(FIRST), true, 0);
        alerts.notification_shown(FIRST, Some(7));
        let effects = alerts.call_changed(&incoming(SECOND), true, 10);
        assert_eq!(
            effects,
            [
                Effect::TakeDownAlerts,
                Effect::EndNotification {
                    shown: Some(7),
                    missed: false
                },
                Effect::RaiseAlerts,
                Effect::ShowIncomingNotification { call_id: SECOND },
                Effect::Sound(Some(Tune::Ringtone)),
            ]
        );
        // A late answer for the first one does not answer the second.
        assert_eq!(alerts.answer(FIRST, Answer::Decline), None);
    }

    #[test]
    fn my_call_plays_the_ringback_while_it_rings_there_then_counts_from_connected() {
        let mut alerts = CallAlerts::<Shown>::default();
        let mut outgoing = call(FIRST, Direction::Outgoing, Phase::Outgoing);
        assert_eq!(alerts.call_changed(&outgoing, true, 0), []);
        outgoing.ringing = true;
        assert_eq!(
            alerts.call_changed(&outgoing, true, 100),
            [Effect::Sound(Some(Tune::Ringback))]
        );
        assert_eq!(
            alerts.call_changed(
                &call(FIRST, Direction::Outgoing, Phase::Connecting),
                true,
                200
            ),
            [Effect::Sound(None), Effect::StopDeviceTest]
        );
        alerts.call_changed(
            &call(FIRST, Direction::Outgoing, Phase::Connected),
            true,
            300,
        );
        // Reconnecting and back is the same call: the timer keeps its start.
        alerts.call_changed(
            &call(FIRST, Direction::Outgoing, Phase::Connected),
            true,
            900,
        );
        assert_eq!(alerts.connected_at(FIRST), Some(300));
        assert_eq!(alerts.connected_at(SECOND), None);
    }

    #[test]
    fn signing_out_silences_and_takes_down_whatever_is_up() {
        let mut alerts = CallAlerts::<Shown>::default();
        alerts.call_changed(&incoming(FIRST), true, 0);
        alerts.notification_shown(FIRST, Some(7));
        assert_eq!(
            alerts.reset(),
            [
                Effect::TakeDownAlerts,
                Effect::EndNotification {
                    shown: Some(7),
                    missed: false
                },
                Effect::Sound(None),
            ]
        );
        assert_eq!(alerts.reset(), []);
        assert_eq!(alerts.answer(FIRST, Answer::Decline), None);
    }
}
