//! The referee driven by intents and virtual time: each test is one call story.

use uuid::Uuid;

use super::*;

const ALICE: UserId = Uuid::from_u128(0xa);
const BOB: UserId = Uuid::from_u128(0xb);
const CAROL: UserId = Uuid::from_u128(0xc);
const CALL: CallId = Uuid::from_u128(0x100);
const OTHER_CALL: CallId = Uuid::from_u128(0x200);

fn device(user: UserId, number: u128) -> Device {
    Device {
        user,
        session: Uuid::from_u128((user.as_u128() << 8) | number),
    }
}

fn alice() -> Device {
    device(ALICE, 1)
}
fn bob_laptop() -> Device {
    device(BOB, 1)
}
fn bob_phone() -> Device {
    device(BOB, 2)
}
fn carol() -> Device {
    device(CAROL, 1)
}

fn referee() -> Referee {
    Referee::new(RefereeConfig {
        ring_timeout_ms: 30_000,
        offline_grace_ms: 15_000,
    })
}

fn drain(referee: &mut Referee) -> Vec<Output> {
    std::iter::from_fn(|| referee.poll_output()).collect()
}

fn notices_for(outputs: &[Output], recipient: Recipient) -> Vec<Notice> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Notify { to, notice } if *to == recipient => Some(notice.clone()),
            _ => None,
        })
        .collect()
}

fn records(outputs: &[Output]) -> Vec<CallRecord> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Record(record) => Some(*record),
            _ => None,
        })
        .collect()
}

fn invite(referee: &mut Referee, from: Device, call_id: CallId, callee: UserId, now: Timestamp) {
    referee
        .handle(
            from,
            Intent::Invite {
                call_id,
                callee,
                kind: CallKind::Video,
                hidden_until: None,
            },
            now,
        )
        .expect("the invite is taken");
}

/// Alice calls Bob and Bob's laptop answers at `answered_at`.
fn answered_call(answered_at: Timestamp) -> Referee {
    let mut referee = referee();
    invite(&mut referee, alice(), CALL, BOB, 0);
    referee
        .handle(bob_laptop(), Intent::Accept { call_id: CALL }, answered_at)
        .expect("bob answers");
    drain(&mut referee);
    referee
}

fn user(user: UserId) -> Recipient {
    Recipient::User { user, except: None }
}

#[test]
fn an_invite_rings_every_device_of_the_callee_and_the_first_answer_wins() {
    let mut referee = referee();
    invite(&mut referee, alice(), CALL, BOB, 1_000);
    let outputs = drain(&mut referee);
    let info = CallInfo {
        call_id: CALL,
        caller_id: ALICE,
        callee_id: BOB,
        kind: CallKind::Video,
        started_at: 1_000,
    };
    assert_eq!(
        notices_for(&outputs, user(BOB)),
        [Notice::Incoming { call: info }]
    );
    assert_eq!(
        notices_for(&outputs, Recipient::Device(alice())),
        [Notice::Ringing { call: info }]
    );

    referee
        .handle(bob_phone(), Intent::Accept { call_id: CALL }, 4_000)
        .expect("the phone answers first");
    let outputs = drain(&mut referee);
    assert_eq!(
        notices_for(&outputs, Recipient::Device(alice())),
        [Notice::Accepted {
            call_id: CALL,
            by: bob_phone().session
        }]
    );
    assert_eq!(
        notices_for(
            &outputs,
            Recipient::User {
                user: BOB,
                except: Some(bob_phone().session)
            }
        ),
        [Notice::AnsweredElsewhere { call_id: CALL }]
    );
    assert_eq!(
        referee.handle(bob_laptop(), Intent::Accept { call_id: CALL }, 4_100),
        Err(RefereeError::AlreadyAnswered)
    );
}

#[test]
fn hanging_up_an_answered_call_records_it_completed_with_its_talk_time() {
    let mut referee = answered_call(5_000);
    referee
        .handle(bob_laptop(), Intent::Hangup { call_id: CALL }, 65_000)
        .expect("bob hangs up");
    let outputs = drain(&mut referee);
    let ended = Notice::Ended {
        call_id: CALL,
        reason: CallEndReason::Completed,
    };
    for device in [alice(), bob_laptop()] {
        assert_eq!(
            notices_for(&outputs, Recipient::Device(device)),
            std::slice::from_ref(&ended)
        );
    }
    let [record] = records(&outputs)[..] else {
        panic!("one record: {outputs:?}");
    };
    assert_eq!(record.reason, CallEndReason::Completed);
    assert_eq!(record.answered_at, Some(5_000));
    assert_eq!(record.duration_ms(), 60_000);
    assert_eq!(referee.call_of(ALICE), None);
    assert_eq!(referee.call_of(BOB), None);
}

#[test]
fn declined_cancelled_and_unanswered_calls_end_with_their_reason() {
    // Declined by the callee: every device of the callee stops ringing.
    let mut referee = referee();
    invite(&mut referee, alice(), CALL, BOB, 0);
    drain(&mut referee);
    referee
        .handle(bob_phone(), Intent::Decline { call_id: CALL }, 2_000)
        .expect("bob declines");
    let outputs = drain(&mut referee);
    assert_eq!(
        notices_for(&outputs, user(BOB)),
        [Notice::Ended {
            call_id: CALL,
            reason: CallEndReason::Declined
        }]
    );
    assert_eq!(records(&outputs)[0].reason, CallEndReason::Declined);
    assert_eq!(records(&outputs)[0].duration_ms(), 0);

    // Cancelled by the caller while ringing.
    invite(&mut referee, alice(), OTHER_CALL, BOB, 10_000);
    drain(&mut referee);
    referee
        .handle(
            alice(),
            Intent::Hangup {
                call_id: OTHER_CALL,
            },
            12_000,
        )
        .expect("alice cancels");
    assert_eq!(
        records(&drain(&mut referee))[0].reason,
        CallEndReason::Cancelled
    );

    // Unanswered: missed exactly at the ring timeout, not before.
    let third = Uuid::from_u128(0x300);
    invite(&mut referee, alice(), third, BOB, 20_000);
    drain(&mut referee);
    assert_eq!(referee.poll_timeout(), Some(50_000));
    referee.handle_timeout(49_999);
    assert!(records(&drain(&mut referee)).is_empty(), "still ringing");
    referee.handle_timeout(50_000);
    let outputs = drain(&mut referee);
    assert_eq!(records(&outputs)[0].reason, CallEndReason::Missed);
    assert_eq!(
        notices_for(&outputs, Recipient::Device(alice())),
        [Notice::Ended {
            call_id: third,
            reason: CallEndReason::Missed
        }]
    );
    assert_eq!(referee.poll_timeout(), None);
}

#[test]
fn a_callee_already_in_a_call_answers_busy() {
    let mut referee = answered_call(1_000);
    invite(&mut referee, carol(), OTHER_CALL, BOB, 2_000);
    let outputs = drain(&mut referee);
    assert_eq!(
        notices_for(&outputs, Recipient::Device(carol())),
        [Notice::Ended {
            call_id: OTHER_CALL,
            reason: CallEndReason::Busy
        }]
    );
    assert!(
        notices_for(&outputs, user(BOB)).is_empty(),
        "bob is not disturbed"
    );
    assert_eq!(records(&outputs)[0].reason, CallEndReason::Busy);
    assert_eq!(referee.call_of(BOB).map(|call| call.call_id), Some(CALL));
    // A caller already in a call cannot place another one.
    assert_eq!(
        referee.handle(
            alice(),
            Intent::Invite {
                call_id: Uuid::from_u128(0x300),
                callee: CAROL,
                kind: CallKind::Voice,
                hidden_until: None,
            },
            3_000
        ),
        Err(RefereeError::AlreadyInCall)
    );
}

#[test]
fn glare_makes_one_call_that_both_sides_agree_on() {
    let mut referee = referee();
    invite(&mut referee, alice(), CALL, BOB, 0);
    drain(&mut referee);
    // Bob calls Alice at the same moment: his invite answers Alice's call.
    invite(&mut referee, bob_laptop(), OTHER_CALL, ALICE, 10);
    let outputs = drain(&mut referee);
    let merged = notices_for(&outputs, Recipient::Device(bob_laptop()));
    assert!(
        matches!(
            merged[..],
            [Notice::Merged { requested: OTHER_CALL, call }] if call.call_id == CALL
        ),
        "bob is told his invite joined alice's call: {merged:?}"
    );
    assert_eq!(
        notices_for(&outputs, Recipient::Device(alice())),
        [Notice::Accepted {
            call_id: CALL,
            by: bob_laptop().session
        }]
    );
    assert_eq!(referee.call_of(ALICE).map(|call| call.call_id), Some(CALL));
    assert_eq!(referee.call_of(BOB).map(|call| call.call_id), Some(CALL));
    // Signals now flow between the two devices of that one call.
    referee
        .handle(
            bob_laptop(),
            Intent::Signal {
                call_id: CALL,
                signal: CallSignal::Offer { sdp: "v=0".into() },
            },
            20,
        )
        .expect("bob's offer is forwarded");
    assert_eq!(
        notices_for(&drain(&mut referee), Recipient::Device(alice())).len(),
        1
    );
}

#[test]
fn signals_and_media_states_go_only_between_the_two_devices_of_the_call() {
    let mut referee = answered_call(1_000);
    let offer = CallSignal::Offer {
        sdp: "v=0 alice".into(),
    };
    referee
        .handle(
            alice(),
            Intent::Signal {
                call_id: CALL,
                signal: offer.clone(),
            },
            2_000,
        )
        .expect("forwarded");
    referee
        .handle(
            bob_laptop(),
            Intent::Media {
                call_id: CALL,
                muted: true,
                camera_on: false,
            },
            2_100,
        )
        .expect("relayed");
    let outputs = drain(&mut referee);
    assert_eq!(
        outputs,
        [
            Output::Notify {
                to: Recipient::Device(bob_laptop()),
                notice: Notice::Signal {
                    call_id: CALL,
                    from: ALICE,
                    signal: offer.clone()
                }
            },
            Output::Notify {
                to: Recipient::Device(alice()),
                notice: Notice::Media {
                    call_id: CALL,
                    from: BOB,
                    muted: true,
                    camera_on: false
                }
            },
        ]
    );

    // Outsiders, and Bob's other device, learn nothing: the same answer as for no call at all.
    for stranger in [carol(), bob_phone(), device(ALICE, 9)] {
        assert_eq!(
            referee.handle(
                stranger,
                Intent::Signal {
                    call_id: CALL,
                    signal: offer.clone()
                },
                3_000
            ),
            Err(RefereeError::NotFound),
            "{stranger:?} may not signal"
        );
        assert_eq!(
            referee.handle(stranger, Intent::Hangup { call_id: CALL }, 3_000),
            Err(RefereeError::NotFound)
        );
    }
    assert_eq!(
        referee.handle(
            carol(),
            Intent::Signal {
                call_id: Uuid::from_u128(0xdead),
                signal: offer
            },
            3_000
        ),
        Err(RefereeError::NotFound)
    );
    assert!(drain(&mut referee).is_empty(), "nothing was forwarded");
}

#[test]
fn no_signal_before_the_call_is_answered_and_no_self_calls() {
    let mut referee = referee();
    assert_eq!(
        referee.handle(
            alice(),
            Intent::Invite {
                call_id: CALL,
                callee: ALICE,
                kind: CallKind::Voice,
                hidden_until: None,
            },
            0
        ),
        Err(RefereeError::SelfCall)
    );
    invite(&mut referee, alice(), CALL, BOB, 0);
    assert_eq!(
        referee.handle(
            alice(),
            Intent::Signal {
                call_id: CALL,
                signal: CallSignal::EndOfCandidates
            },
            1
        ),
        Err(RefereeError::WrongState)
    );
    assert_eq!(
        referee.handle(alice(), Intent::Accept { call_id: CALL }, 2),
        Err(RefereeError::NotFound),
        "the caller cannot answer their own call"
    );
    assert_eq!(
        referee.handle(
            carol(),
            Intent::Invite {
                call_id: CALL,
                callee: ALICE,
                kind: CallKind::Voice,
                hidden_until: None,
            },
            3
        ),
        Err(RefereeError::DuplicateCallId)
    );
}

#[test]
fn a_device_that_stays_offline_ends_its_call_but_a_quick_reconnect_does_not() {
    let mut referee = answered_call(1_000);
    referee.device_offline(alice(), 2_000);
    assert_eq!(referee.poll_timeout(), Some(17_000));
    referee.device_online(alice());
    referee.handle_timeout(17_000);
    assert!(
        drain(&mut referee).is_empty(),
        "the call survives a reconnect"
    );
    assert_eq!(referee.poll_timeout(), None);

    // A device outside the call going offline changes nothing.
    referee.device_offline(bob_phone(), 20_000);
    assert_eq!(referee.poll_timeout(), None);

    referee.device_offline(bob_laptop(), 30_000);
    referee.handle_timeout(44_999);
    assert!(drain(&mut referee).is_empty(), "still within the grace");
    referee.handle_timeout(45_000);
    let outputs = drain(&mut referee);
    assert_eq!(records(&outputs)[0].reason, CallEndReason::Failed);
    assert_eq!(
        notices_for(&outputs, Recipient::Device(alice())),
        [Notice::Ended {
            call_id: CALL,
            reason: CallEndReason::Failed
        }]
    );

    // A caller that vanishes while ringing cancels the call.
    invite(&mut referee, alice(), OTHER_CALL, BOB, 50_000);
    drain(&mut referee);
    referee.device_offline(alice(), 51_000);
    referee.handle_timeout(66_000);
    assert_eq!(
        records(&drain(&mut referee))[0].reason,
        CallEndReason::Cancelled
    );
}

#[test]
fn a_failure_reported_by_a_device_ends_the_call_as_failed() {
    let mut referee = answered_call(1_000);
    referee
        .handle(alice(), Intent::Failed { call_id: CALL }, 9_000)
        .expect("taken");
    let outputs = drain(&mut referee);
    let [record] = records(&outputs)[..] else {
        panic!("one record: {outputs:?}");
    };
    assert_eq!(record.reason, CallEndReason::Failed);
    assert_eq!(record.duration_ms(), 8_000);
}

#[test]
fn a_device_that_connects_while_a_call_rings_is_told_of_it() {
    let mut referee = referee();
    invite(&mut referee, alice(), CALL, BOB, 0);
    let info = match drain(&mut referee).as_slice() {
        [
            Output::Notify {
                notice: Notice::Incoming { call },
                ..
            },
            ..,
        ] => *call,
        other => panic!("expected the incoming call first, got {other:?}"),
    };
    referee.device_online(bob_phone());
    assert_eq!(
        notices_for(&drain(&mut referee), Recipient::Device(bob_phone())),
        [Notice::Incoming { call: info }]
    );
    referee.device_online(alice());
    assert_eq!(
        notices_for(&drain(&mut referee), Recipient::Device(alice())),
        [Notice::Ringing { call: info }]
    );
    // Someone else's device, or any device once the call is answered, hears nothing.
    referee.device_online(carol());
    referee
        .handle(bob_phone(), Intent::Accept { call_id: CALL }, 1_000)
        .expect("bob answers");
    drain(&mut referee);
    referee.device_online(bob_laptop());
    assert_eq!(drain(&mut referee), []);
}

fn hidden_invite(referee: &mut Referee, now: Timestamp, until: Timestamp) {
    referee
        .handle(
            alice(),
            Intent::Invite {
                call_id: CALL,
                callee: BOB,
                kind: CallKind::Voice,
                hidden_until: Some(until),
            },
            now,
        )
        .expect("the invite is taken");
}

/// Bob blocked Alice: her call rings for her only and ends as declined, leaving no record.
#[test]
fn a_call_to_someone_who_blocked_the_caller_never_rings_and_ends_declined() {
    let mut referee = referee();
    hidden_invite(&mut referee, 1_000, 5_000);
    let outputs = drain(&mut referee);
    assert_eq!(
        notices_for(&outputs, Recipient::Device(alice())).len(),
        1,
        "alice hears it ring: {outputs:?}"
    );
    assert!(
        notices_for(&outputs, user(BOB)).is_empty(),
        "bob is never told: {outputs:?}"
    );
    // Bob's devices coming online are not rung, and he cannot act on it.
    referee.device_online(bob_phone());
    assert!(drain(&mut referee).is_empty());
    assert_eq!(
        referee.handle(bob_phone(), Intent::Accept { call_id: CALL }, 2_000),
        Err(RefereeError::NotFound)
    );
    // Bob is not busy: Carol can call him meanwhile.
    invite(&mut referee, carol(), OTHER_CALL, BOB, 2_500);
    assert_eq!(
        notices_for(&drain(&mut referee), user(BOB)).len(),
        1,
        "carol's call rings bob"
    );
    assert_eq!(referee.poll_timeout(), Some(5_000));
    referee.handle_timeout(5_000);
    let outputs = drain(&mut referee);
    assert_eq!(
        notices_for(&outputs, Recipient::Device(alice())),
        [Notice::Ended {
            call_id: CALL,
            reason: CallEndReason::Declined
        }]
    );
    assert!(notices_for(&outputs, user(BOB)).is_empty(), "{outputs:?}");
    assert!(records(&outputs).is_empty(), "no record: {outputs:?}");
}

#[test]
fn a_hidden_call_the_caller_hangs_up_is_cancelled_for_the_caller_only() {
    let mut referee = referee();
    hidden_invite(&mut referee, 1_000, 5_000);
    drain(&mut referee);
    referee
        .handle(alice(), Intent::Hangup { call_id: CALL }, 2_000)
        .expect("alice hangs up");
    let outputs = drain(&mut referee);
    assert_eq!(
        notices_for(&outputs, Recipient::Device(alice())),
        [Notice::Ended {
            call_id: CALL,
            reason: CallEndReason::Cancelled
        }]
    );
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    assert_eq!(referee.call_of(ALICE), None);
}
