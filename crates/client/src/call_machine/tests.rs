//! Call stories driven by intents, server frames, media progress and virtual time.

use std::time::{Duration, Instant};

use natter_protocol::{CallEndReason, CallInfo, CallKind, CallSignal, ClientFrame, ServerFrame};
use uuid::Uuid;

use super::*;

const ME: UserId = Uuid::from_u128(1);
const BOB: UserId = Uuid::from_u128(2);
const CALL: CallId = Uuid::from_u128(0x100);
const THEIRS: CallId = Uuid::from_u128(0x200);

fn info(call_id: CallId, caller_id: UserId, callee_id: UserId) -> CallInfo {
    CallInfo {
        call_id,
        caller_id,
        callee_id,
        kind: CallKind::Video,
        started_at: 0,
    }
}

/// The server's word that the call was answered (by the callee's session 9).
fn accepted(call_id: CallId) -> ServerFrame {
    ServerFrame::CallAccepted {
        call_id,
        by_session_id: Uuid::from_u128(9),
    }
}

fn sent(outputs: &[Output]) -> Vec<ClientFrame> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Send(frame) => Some(frame.clone()),
            _ => None,
        })
        .collect()
}

fn last_view(outputs: &[Output]) -> CallView {
    outputs
        .iter()
        .rev()
        .find_map(|output| match output {
            Output::Changed(view) => Some(view.clone()),
            _ => None,
        })
        .expect("the view changed")
}

fn place(machine: &mut CallMachine, now: Instant) -> Vec<Output> {
    machine
        .handle(
            Input::Place {
                call_id: CALL,
                callee: BOB,
                kind: CallKind::Video,
            },
            now,
        )
        .expect("placed");
    machine.drain()
}

fn frame(machine: &mut CallMachine, frame: ServerFrame, now: Instant) -> Vec<Output> {
    machine
        .handle(Input::Frame(Box::new(frame)), now)
        .expect("taken");
    machine.drain()
}

#[test]
fn an_outgoing_call_rings_connects_as_offerer_and_hangs_up() {
    let now = Instant::now();
    let mut machine = CallMachine::default();
    let outputs = place(&mut machine, now);
    assert_eq!(
        sent(&outputs),
        [ClientFrame::CallInvite {
            call_id: CALL,
            callee_id: BOB,
            kind: CallKind::Video
        }]
    );
    assert_eq!(last_view(&outputs).phase, Phase::Outgoing);
    let outputs = frame(
        &mut machine,
        ServerFrame::CallRinging {
            call: info(CALL, ME, BOB),
        },
        now,
    );
    assert!(last_view(&outputs).ringing);
    assert_eq!(
        machine.poll_timeout(),
        None,
        "ringing is the server's to time out"
    );

    let outputs = frame(&mut machine, accepted(CALL), now);
    assert!(outputs.contains(&Output::StartMedia {
        call_id: CALL,
        role: MediaRole::Offerer,
        kind: CallKind::Video
    }));
    // The answer is shown before the media starts (which waits for servers and devices), so
    // the ringback stops at once.
    let shown = outputs.iter().position(
        |output| matches!(output, Output::Changed(view) if view.phase == Phase::Connecting),
    );
    let started = outputs
        .iter()
        .position(|output| matches!(output, Output::StartMedia { .. }));
    assert!(
        shown.is_some() && shown < started,
        "connecting is shown before the media starts: {outputs:?}"
    );
    let offer = CallSignal::Offer { sdp: "v=0".into() };
    machine
        .handle(Input::LocalSignal(offer.clone()), now)
        .expect("taken");
    assert_eq!(
        sent(&machine.drain()),
        [ClientFrame::CallSignal {
            call_id: CALL,
            signal: offer
        }]
    );
    machine
        .handle(Input::Media(MediaProgress::Connected), now)
        .expect("taken");
    assert_eq!(last_view(&machine.drain()).phase, Phase::Connected);

    machine.handle(Input::SetMuted(true), now).expect("taken");
    let outputs = machine.drain();
    assert_eq!(
        sent(&outputs),
        [ClientFrame::CallMedia {
            call_id: CALL,
            muted: true,
            camera_on: true
        }]
    );
    assert!(outputs.contains(&Output::MediaSwitches {
        muted: true,
        camera_on: true
    }));

    machine.handle(Input::Hangup, now).expect("taken");
    let outputs = machine.drain();
    assert_eq!(sent(&outputs), [ClientFrame::CallHangup { call_id: CALL }]);
    assert!(outputs.contains(&Output::StopMedia));
    let view = last_view(&outputs);
    assert_eq!(view.phase, Phase::Ended);
    assert_eq!(
        view.ending,
        Some(Ending::Ended {
            reason: CallEndReason::Completed
        })
    );
}

#[test]
fn an_incoming_call_waits_for_the_servers_confirmation_before_media() {
    let now = Instant::now();
    let mut machine = CallMachine::default();
    let outputs = frame(
        &mut machine,
        ServerFrame::CallIncoming {
            call: info(CALL, BOB, ME),
        },
        now,
    );
    let view = last_view(&outputs);
    assert_eq!(
        (view.phase, view.peer_id, view.ringing),
        (Phase::Incoming, BOB, true)
    );
    // The same ring again (a reconnect) changes nothing.
    assert!(
        frame(
            &mut machine,
            ServerFrame::CallIncoming {
                call: info(CALL, BOB, ME)
            },
            now
        )
        .is_empty()
    );
    machine
        .handle(Input::Accept { camera_on: true }, now)
        .expect("accepted");
    let outputs = machine.drain();
    assert_eq!(sent(&outputs), [ClientFrame::CallAccept { call_id: CALL }]);
    assert!(
        !outputs
            .iter()
            .any(|o| matches!(o, Output::StartMedia { .. }))
    );
    let outputs = frame(
        &mut machine,
        ServerFrame::CallAccepted {
            call_id: CALL,
            by_session_id: Uuid::from_u128(7),
        },
        now,
    );
    assert!(outputs.contains(&Output::StartMedia {
        call_id: CALL,
        role: MediaRole::Answerer,
        kind: CallKind::Video
    }));
    let answer = CallSignal::Answer { sdp: "v=0".into() };
    let outputs = frame(
        &mut machine,
        ServerFrame::CallSignal {
            call_id: CALL,
            from_user_id: BOB,
            signal: answer.clone(),
        },
        now,
    );
    assert_eq!(outputs, [Output::ToMedia(answer)]);
    let outputs = frame(
        &mut machine,
        ServerFrame::CallEnded {
            call_id: CALL,
            reason: CallEndReason::Completed,
        },
        now,
    );
    assert!(outputs.contains(&Output::StopMedia));
    assert_eq!(last_view(&outputs).phase, Phase::Ended);
}

#[test]
fn answered_elsewhere_stops_ringing_without_media() {
    let now = Instant::now();
    let mut machine = CallMachine::default();
    frame(
        &mut machine,
        ServerFrame::CallIncoming {
            call: info(CALL, BOB, ME),
        },
        now,
    );
    let outputs = frame(
        &mut machine,
        ServerFrame::CallAnsweredElsewhere { call_id: CALL },
        now,
    );
    assert_eq!(outputs.len(), 1, "only the view changes: {outputs:?}");
    let view = last_view(&outputs);
    assert_eq!(view.ending, Some(Ending::AnsweredElsewhere));
    assert!(!view.ringing);
}

#[test]
fn glare_turns_my_invite_into_answering_their_call() {
    let now = Instant::now();
    let mut machine = CallMachine::default();
    place(&mut machine, now);
    let outputs = frame(
        &mut machine,
        ServerFrame::CallMerged {
            requested_call_id: CALL,
            call: info(THEIRS, BOB, ME),
        },
        now,
    );
    assert!(outputs.contains(&Output::StartMedia {
        call_id: THEIRS,
        role: MediaRole::Answerer,
        kind: CallKind::Video
    }));
    let view = last_view(&outputs);
    assert_eq!(
        (view.call_id, view.direction, view.phase),
        (THEIRS, Direction::Incoming, Phase::Connecting)
    );
    // Straight from calling to connecting: never shown ringing, so nothing offers to answer it.
    let views: Vec<Phase> = outputs
        .iter()
        .filter_map(|output| match output {
            Output::Changed(view) => Some(view.phase),
            _ => None,
        })
        .collect();
    assert_eq!(views, [Phase::Connecting], "{outputs:?}");
    assert_eq!(
        machine.handle(
            Input::Place {
                call_id: Uuid::from_u128(0x300),
                callee: BOB,
                kind: CallKind::Voice
            },
            now
        ),
        Err(CallError::Busy)
    );
}

#[test]
fn calling_the_person_whose_call_rings_here_answers_it() {
    let now = Instant::now();
    let mut machine = CallMachine::default();
    frame(
        &mut machine,
        ServerFrame::CallIncoming {
            call: info(THEIRS, BOB, ME),
        },
        now,
    );
    machine
        .handle(
            Input::Place {
                call_id: CALL,
                callee: BOB,
                kind: CallKind::Voice,
            },
            now,
        )
        .expect("placing answers");
    let outputs = machine.drain();
    assert_eq!(
        sent(&outputs),
        [ClientFrame::CallAccept { call_id: THEIRS }],
        "no second invite"
    );
    let view = last_view(&outputs);
    assert_eq!((view.call_id, view.phase), (THEIRS, Phase::Incoming));
    // Placed by voice: the camera stays off in their video call.
    assert!(!view.camera_on);
    // Anyone else still finds me busy.
    assert_eq!(
        machine.handle(
            Input::Place {
                call_id: CALL,
                callee: Uuid::from_u128(3),
                kind: CallKind::Voice
            },
            now
        ),
        Err(CallError::Busy)
    );
}

#[test]
fn accepting_twice_sends_one_accept_and_changes_nothing_more() {
    let now = Instant::now();
    let mut machine = CallMachine::default();
    frame(
        &mut machine,
        ServerFrame::CallIncoming {
            call: info(THEIRS, BOB, ME),
        },
        now,
    );
    machine
        .handle(Input::Accept { camera_on: true }, now)
        .expect("accepted");
    assert_eq!(
        sent(&machine.drain()),
        [ClientFrame::CallAccept { call_id: THEIRS }]
    );
    // A shell that answers every view of a ringing call (the CLI) asks again before the
    // server confirms: nothing is sent and no view changes, so it does not ask again.
    machine
        .handle(Input::Accept { camera_on: true }, now)
        .expect("still fine");
    assert_eq!(machine.drain(), []);
    frame(&mut machine, accepted(THEIRS), now);
    assert_eq!(
        machine.view().map(|view| view.phase),
        Some(Phase::Connecting)
    );
}

#[test]
fn silence_from_the_server_or_the_media_gives_up_in_time() {
    let now = Instant::now();
    let mut machine = CallMachine::default();
    place(&mut machine, now);
    machine.handle_timeout(now + INVITE_TIMEOUT - Duration::from_millis(1));
    assert!(machine.drain().is_empty());
    machine.handle_timeout(now + INVITE_TIMEOUT);
    let outputs = machine.drain();
    assert_eq!(sent(&outputs), [ClientFrame::CallHangup { call_id: CALL }]);
    assert_eq!(last_view(&outputs).ending, Some(Ending::TimedOut));

    // Answered, but the media never connects.
    let mut machine = CallMachine::default();
    place(&mut machine, now);
    frame(&mut machine, accepted(CALL), now);
    machine.handle_timeout(now + CONNECT_TIMEOUT);
    let outputs = machine.drain();
    assert_eq!(sent(&outputs), [ClientFrame::CallFailed { call_id: CALL }]);
    assert!(outputs.contains(&Output::StopMedia));
}

#[test]
fn failed_media_ends_the_call_as_failed_and_a_refused_invite_ends_it_refused() {
    let now = Instant::now();
    let mut machine = CallMachine::default();
    place(&mut machine, now);
    frame(&mut machine, accepted(CALL), now);
    machine
        .handle(Input::Media(MediaProgress::Reconnecting), now)
        .expect("taken");
    assert!(last_view(&machine.drain()).reconnecting);
    machine
        .handle(Input::Media(MediaProgress::Failed), now)
        .expect("taken");
    let outputs = machine.drain();
    assert_eq!(sent(&outputs), [ClientFrame::CallFailed { call_id: CALL }]);
    assert_eq!(
        last_view(&outputs).ending,
        Some(Ending::Ended {
            reason: CallEndReason::Failed
        })
    );

    let mut machine = CallMachine::default();
    place(&mut machine, now);
    let outputs = frame(
        &mut machine,
        ServerFrame::CallError {
            call_id: CALL,
            code: natter_protocol::ErrorCode::NotFound,
            message: "no such user".into(),
        },
        now,
    );
    assert_eq!(
        last_view(&outputs).ending,
        Some(Ending::Refused {
            message: "no such user".into()
        })
    );
    assert!(!machine.busy());
}

#[test]
fn losing_the_server_stops_ringing_but_not_a_call_in_progress() {
    let now = Instant::now();
    let mut machine = CallMachine::default();
    frame(
        &mut machine,
        ServerFrame::CallIncoming {
            call: info(THEIRS, BOB, ME),
        },
        now,
    );
    machine.handle(Input::ServerLost, now).expect("handled");
    let outputs = machine.drain();
    let view = last_view(&outputs);
    assert_eq!(view.phase, Phase::Ended);
    assert_eq!(view.ending, Some(Ending::ServerLost));
    assert!(
        sent(&outputs).is_empty(),
        "nothing can be sent to a lost server"
    );

    // Back in time: the server rings this device again, and it rings.
    let outputs = frame(
        &mut machine,
        ServerFrame::CallIncoming {
            call: info(THEIRS, BOB, ME),
        },
        now,
    );
    assert_eq!(last_view(&outputs).phase, Phase::Incoming);

    // It only rang here: back online, nothing is owed to the server.
    machine.handle(Input::ServerLost, now).expect("handled");
    machine.drain();
    machine.handle(Input::ServerBack, now).expect("handled");
    assert!(sent(&machine.drain()).is_empty());

    // An outgoing call that rings stops too, and is hung up once the server is back (the
    // callee's devices would ring on for a caller who gave up).
    let mut machine = CallMachine::default();
    place(&mut machine, now);
    frame(
        &mut machine,
        ServerFrame::CallRinging {
            call: info(CALL, ME, BOB),
        },
        now,
    );
    machine.handle(Input::ServerLost, now).expect("handled");
    assert_eq!(last_view(&machine.drain()).ending, Some(Ending::ServerLost));
    machine.handle(Input::ServerBack, now).expect("handled");
    assert_eq!(
        sent(&machine.drain()),
        [ClientFrame::CallHangup { call_id: CALL }]
    );
    machine.handle(Input::ServerBack, now).expect("handled");
    assert!(machine.drain().is_empty(), "hung up once");

    // A connected call goes on: its media does not need the server.
    let mut machine = CallMachine::default();
    place(&mut machine, now);
    frame(&mut machine, accepted(CALL), now);
    machine
        .handle(Input::Media(MediaProgress::Connected), now)
        .expect("handled");
    machine.drain();
    machine.handle(Input::ServerLost, now).expect("handled");
    assert!(machine.drain().is_empty());
    assert_eq!(
        machine.view().map(|view| view.phase),
        Some(Phase::Connected)
    );
}

#[test]
fn a_video_call_answered_by_voice_tells_the_peer_the_camera_is_off() {
    let now = Instant::now();
    let mut machine = CallMachine::default();
    frame(
        &mut machine,
        ServerFrame::CallIncoming {
            call: info(THEIRS, BOB, ME),
        },
        now,
    );
    machine
        .handle(Input::Accept { camera_on: false }, now)
        .expect("accepted");
    let outputs = machine.drain();
    assert_eq!(
        sent(&outputs),
        [ClientFrame::CallAccept { call_id: THEIRS }]
    );
    assert!(
        !last_view(&outputs).camera_on,
        "shown with the camera off at once"
    );

    let outputs = frame(&mut machine, accepted(THEIRS), now);
    assert_eq!(
        sent(&outputs),
        [ClientFrame::CallMedia {
            call_id: THEIRS,
            muted: false,
            camera_on: false,
        }],
        "the peer is told before any media flows"
    );
    assert!(outputs.iter().any(|output| matches!(
        output,
        Output::StartMedia {
            call_id: THEIRS,
            ..
        }
    )));
    assert!(!machine.view().expect("a call").camera_on);
}

#[test]
fn an_accept_lost_with_the_server_is_hung_up_unless_the_call_rings_again() {
    let now = Instant::now();
    let ring = |machine: &mut CallMachine| {
        frame(
            machine,
            ServerFrame::CallIncoming {
                call: info(THEIRS, BOB, ME),
            },
            now,
        )
    };
    let mut machine = CallMachine::default();
    ring(&mut machine);
    machine
        .handle(Input::Accept { camera_on: true }, now)
        .expect("accepted");
    machine.handle(Input::ServerLost, now).expect("handled");
    machine.drain();
    // My accept never arrived: the server rings this device again, and it is the user's call.
    assert_eq!(last_view(&ring(&mut machine)).phase, Phase::Incoming);
    machine.handle(Input::ServerBack, now).expect("handled");
    assert!(
        sent(&machine.drain()).is_empty(),
        "the ringing call is not hung up"
    );

    // My accept arrived (the server does not ring again): it is hung up once back.
    let mut machine = CallMachine::default();
    ring(&mut machine);
    machine
        .handle(Input::Accept { camera_on: true }, now)
        .expect("accepted");
    machine.handle(Input::ServerLost, now).expect("handled");
    machine.drain();
    machine.handle(Input::ServerBack, now).expect("handled");
    assert_eq!(
        sent(&machine.drain()),
        [ClientFrame::CallHangup { call_id: THEIRS }]
    );
}
