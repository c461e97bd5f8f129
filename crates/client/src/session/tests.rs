//! The session driven by hand, with virtual time: every rule of the module docs, one story each.

use super::*;
use natter_protocol::EventBody;
use uuid::Uuid;

const ME: Uuid = Uuid::from_u128(1);
const BOB: Uuid = Uuid::from_u128(2);
const CHAT: Uuid = Uuid::from_u128(10);
const HEARTBEAT_MS: u64 = 1_000;

fn config() -> SessionConfig {
    SessionConfig {
        jitter_seed: Some(7),
        ..SessionConfig::default()
    }
}

fn drain(session: &mut Session) -> Vec<Output> {
    std::iter::from_fn(|| session.poll_output()).collect()
}

fn ready() -> ServerFrame {
    ServerFrame::Ready {
        user_id: ME,
        session_id: Uuid::from_u128(99),
        heartbeat_interval_ms: HEARTBEAT_MS,
        online_user_ids: vec![BOB],
    }
}

fn message(seq: Seq, sender_id: UserId, client_id: Uuid) -> Message {
    Message {
        id: Uuid::from_u128(1000 + seq as u128),
        conversation_id: CHAT,
        seq,
        sender_id,
        client_id,
        body: format!("message {seq}"),
        created_at: 0,
        edited_at: None,
        deleted_at: None,
        call: None,
        reply_to: None,
        mentions: Vec::new(),
        reactions: Vec::new(),
        attachments: Vec::new(),
    }
}

fn created(seq: Seq, sender_id: UserId, client_id: Uuid) -> ServerFrame {
    ServerFrame::Event(Event {
        conversation_id: CHAT,
        seq,
        at: 0,
        body: EventBody::MessageCreated {
            message: message(seq, sender_id, client_id),
        },
    })
}

fn outgoing(n: u128) -> OutgoingMessage {
    OutgoingMessage {
        client_id: Uuid::from_u128(500 + n),
        conversation_id: CHAT,
        body: format!("draft {n}"),
        reply_to: None,
        files: Vec::new(),
    }
}

/// Starts a session with these cursors and brings it live at `now`.
fn live_session(cursors: &[(ConversationId, Seq)], now: Instant) -> Session {
    let mut session = Session::new(config(), cursors.iter().copied().collect(), Vec::new());
    session.handle_input(Input::Start, now);
    session.handle_input(Input::SocketOpened, now);
    session.handle_input(Input::Frame(ready()), now);
    drain(&mut session);
    session
}

fn applied_seqs(outputs: &[Output]) -> Vec<Seq> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Apply { event, .. } => Some(event.seq),
            _ => None,
        })
        .collect()
}

fn posts(outputs: &[Output]) -> Vec<ClientMessageId> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Post(message) => Some(message.client_id),
            _ => None,
        })
        .collect()
}

#[test]
fn connecting_says_hello_with_every_cursor_and_goes_online_on_ready() {
    let now = Instant::now();
    let mut session = Session::new(config(), [(CHAT, 41)].into(), Vec::new());
    session.handle_input(Input::Start, now);
    assert_eq!(
        drain(&mut session),
        vec![
            Output::Status(ConnectionStatus::Connecting),
            Output::OpenSocket
        ]
    );
    session.handle_input(Input::SocketOpened, now);
    assert_eq!(
        drain(&mut session),
        vec![Output::SendHello {
            cursors: [(CHAT, 41)].into()
        }]
    );
    session.handle_input(Input::Frame(ready()), now);
    assert_eq!(
        drain(&mut session),
        vec![
            Output::Status(ConnectionStatus::Online),
            Output::Ready {
                user_id: ME,
                online_user_ids: vec![BOB]
            }
        ]
    );
}

#[test]
fn events_at_or_below_the_cursor_are_dropped_and_the_rest_applied_in_order() {
    let now = Instant::now();
    let mut session = live_session(&[(CHAT, 5)], now);
    for seq in [4, 5, 6, 6, 7] {
        session.handle_input(Input::Frame(created(seq, BOB, Uuid::now_v7())), now);
    }
    assert_eq!(applied_seqs(&drain(&mut session)), vec![6, 7]);
    assert_eq!(session.cursor(CHAT), Some(7));
}

#[test]
fn the_first_event_of_an_unknown_conversation_asks_to_fetch_it() {
    let now = Instant::now();
    let mut session = live_session(&[], now);
    session.handle_input(Input::Frame(created(3, BOB, Uuid::now_v7())), now);
    session.handle_input(Input::Frame(created(4, BOB, Uuid::now_v7())), now);
    let unknown: Vec<bool> = drain(&mut session)
        .into_iter()
        .filter_map(|output| match output {
            Output::Apply {
                unknown_conversation,
                ..
            } => Some(unknown_conversation),
            _ => None,
        })
        .collect();
    assert_eq!(unknown, vec![true, false]);
}

#[test]
fn a_gap_in_seq_triggers_a_reload_of_that_conversation() {
    let now = Instant::now();
    let mut session = live_session(&[(CHAT, 5)], now);
    session.handle_input(Input::Frame(created(9, BOB, Uuid::now_v7())), now);
    let outputs = drain(&mut session);
    assert!(outputs.contains(&Output::Reload {
        conversation_id: CHAT,
        last_seq: 9
    }));
    assert_eq!(applied_seqs(&outputs), vec![9]);
}

#[test]
fn resync_moves_the_cursor_and_asks_for_a_reload() {
    let now = Instant::now();
    let mut session = live_session(&[(CHAT, 5)], now);
    session.handle_input(
        Input::Frame(ServerFrame::Resync {
            conversation_id: CHAT,
            last_seq: 5000,
        }),
        now,
    );
    assert_eq!(
        drain(&mut session),
        vec![Output::Reload {
            conversation_id: CHAT,
            last_seq: 5000
        }]
    );
    assert_eq!(session.cursor(CHAT), Some(5000));
}

#[test]
fn a_failed_apply_rewinds_the_cursor_and_reconnects() {
    let now = Instant::now();
    let mut session = live_session(&[(CHAT, 5)], now);
    session.handle_input(Input::Frame(created(6, BOB, Uuid::now_v7())), now);
    drain(&mut session);
    session.handle_input(
        Input::ApplyFailed {
            conversation_id: CHAT,
            cursor: Some(5),
        },
        now,
    );
    let outputs = drain(&mut session);
    assert_eq!(outputs.first(), Some(&Output::CloseSocket));
    assert_eq!(session.cursor(CHAT), Some(5));
    let retry_at = session.poll_timeout().expect("a reconnect is scheduled");
    session.handle_timeout(retry_at);
    session.handle_input(Input::SocketOpened, retry_at);
    assert!(drain(&mut session).contains(&Output::SendHello {
        cursors: [(CHAT, 5)].into()
    }));
}

#[test]
fn reconnect_delays_grow_with_jitter_up_to_a_cap_and_reset_after_a_healthy_connection() {
    let start = Instant::now();
    let config = config();
    let mut session = Session::new(config.clone(), BTreeMap::new(), Vec::new());
    session.handle_input(Input::Start, start);
    let mut now = start;
    let mut delays = Vec::new();
    for _ in 0..12 {
        session.handle_input(
            Input::SocketFailed {
                reason: "connection refused".into(),
            },
            now,
        );
        let retry_at = session.poll_timeout().expect("a retry is scheduled");
        delays.push(retry_at - now);
        now = retry_at;
        session.handle_timeout(now);
        assert!(drain(&mut session).contains(&Output::OpenSocket));
    }
    assert!(delays[0] >= config.reconnect_min && delays[0] <= config.reconnect_min * 2);
    assert!(
        delays[5] > delays[0] * 4,
        "delays must grow exponentially: {delays:?}"
    );
    for delay in &delays {
        assert!(*delay <= config.reconnect_max * 2, "capped: {delays:?}");
    }
    assert!(
        delays[11] >= config.reconnect_max,
        "reaches the cap: {delays:?}"
    );

    // Live long enough to count as healthy: the next drop starts from the minimum again.
    session.handle_input(Input::SocketOpened, now);
    session.handle_input(Input::Frame(ready()), now);
    for _ in 0..30 {
        now += Duration::from_millis(HEARTBEAT_MS);
        session.handle_input(Input::Heard, now);
    }
    session.handle_input(
        Input::SocketClosed {
            code: Some(1001),
            reason: "going away".into(),
        },
        now,
    );
    let retry_at = session.poll_timeout().expect("a retry is scheduled");
    assert!(retry_at - now <= config.reconnect_min * 2);
}

#[test]
fn jitter_spreads_clients_that_were_dropped_together() {
    let now = Instant::now();
    let first_delays: Vec<Duration> = (0..8)
        .map(|seed| {
            let config = SessionConfig {
                jitter_seed: Some(seed),
                ..SessionConfig::default()
            };
            let mut session = Session::new(config, BTreeMap::new(), Vec::new());
            session.handle_input(Input::Start, now);
            session.handle_input(
                Input::SocketFailed {
                    reason: "refused".into(),
                },
                now,
            );
            session.poll_timeout().expect("a retry is scheduled") - now
        })
        .collect();
    let mut distinct = first_delays.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() > 4, "delays: {first_delays:?}");
}

#[test]
fn silence_for_several_heartbeats_means_a_dead_connection() {
    let now = Instant::now();
    let mut session = live_session(&[], now);
    let deadline = session.poll_timeout().expect("a liveness deadline");
    assert_eq!(deadline - now, Duration::from_millis(HEARTBEAT_MS * 4));
    // A ping just before the deadline keeps it alive.
    let later = now + Duration::from_millis(HEARTBEAT_MS * 3);
    session.handle_input(Input::Heard, later);
    session.handle_timeout(deadline);
    assert!(drain(&mut session).is_empty());
    let deadline = session.poll_timeout().expect("a liveness deadline");
    session.handle_timeout(deadline);
    let outputs = drain(&mut session);
    assert_eq!(outputs.first(), Some(&Output::CloseSocket));
    assert!(matches!(session.status(), ConnectionStatus::Offline { .. }));
}

#[test]
fn a_handshake_that_never_completes_is_abandoned() {
    let now = Instant::now();
    let mut session = Session::new(config(), BTreeMap::new(), Vec::new());
    session.handle_input(Input::Start, now);
    session.handle_input(Input::SocketOpened, now);
    drain(&mut session);
    let deadline = session.poll_timeout().expect("a handshake deadline");
    assert_eq!(deadline - now, SessionConfig::default().handshake_timeout);
    session.handle_timeout(deadline);
    assert_eq!(drain(&mut session).first(), Some(&Output::CloseSocket));
}

#[test]
fn the_outbox_waits_for_a_live_session_then_sends_one_at_a_time_in_order() {
    let now = Instant::now();
    let queued = vec![outgoing(1), outgoing(2)];
    let mut session = Session::new(config(), BTreeMap::new(), queued);
    session.handle_input(Input::Queue(outgoing(3)), now);
    session.handle_input(Input::Start, now);
    session.handle_input(Input::SocketOpened, now);
    assert!(
        posts(&drain(&mut session)).is_empty(),
        "nothing before ready"
    );
    session.handle_input(Input::Frame(ready()), now);
    assert_eq!(posts(&drain(&mut session)), vec![outgoing(1).client_id]);
    for n in 1..=3 {
        let sent = outgoing(n);
        session.handle_input(
            Input::SendSucceeded {
                client_id: sent.client_id,
                message: message(n as Seq + 1, ME, sent.client_id),
            },
            now,
        );
        let expected: Vec<_> = (n < 3)
            .then(|| outgoing(n + 1).client_id)
            .into_iter()
            .collect();
        assert_eq!(posts(&drain(&mut session)), expected);
    }
    assert_eq!(session.pending().count(), 0);
}

#[test]
fn discarding_the_message_in_flight_sends_the_next_and_a_late_answer_settles_nothing_else() {
    let now = Instant::now();
    let mut session = live_session(&[], now);
    session.handle_input(Input::Queue(outgoing(1)), now);
    session.handle_input(Input::Queue(outgoing(2)), now);
    session.handle_input(Input::Queue(outgoing(3)), now);
    assert_eq!(posts(&drain(&mut session)), vec![outgoing(1).client_id]);
    session.handle_input(
        Input::Discard {
            client_id: outgoing(1).client_id,
        },
        now,
    );
    assert_eq!(
        posts(&drain(&mut session)),
        vec![outgoing(2).client_id],
        "the next message goes out at once"
    );
    // Discarding one still waiting takes it out of the line.
    session.handle_input(
        Input::Discard {
            client_id: outgoing(3).client_id,
        },
        now,
    );
    // The discarded post's failure arrives late: it neither holds up nor resends anything.
    session.handle_input(
        Input::SendFailed {
            client_id: outgoing(1).client_id,
            failure: SendFailure::Retryable("cut".into()),
        },
        now,
    );
    assert!(posts(&drain(&mut session)).is_empty());
    session.handle_input(
        Input::SendSucceeded {
            client_id: outgoing(2).client_id,
            message: message(2, ME, outgoing(2).client_id),
        },
        now,
    );
    assert!(
        posts(&drain(&mut session)).is_empty(),
        "the discarded third message is never posted"
    );
    assert_eq!(session.pending().count(), 0);
}

#[test]
fn a_retryable_failure_resends_the_same_message_later_and_a_rejection_moves_on() {
    let now = Instant::now();
    let mut session = live_session(&[], now);
    session.handle_input(Input::Queue(outgoing(1)), now);
    session.handle_input(Input::Queue(outgoing(2)), now);
    assert_eq!(posts(&drain(&mut session)), vec![outgoing(1).client_id]);
    session.handle_input(
        Input::SendFailed {
            client_id: outgoing(1).client_id,
            failure: SendFailure::Retryable("503".into()),
        },
        now,
    );
    assert!(posts(&drain(&mut session)).is_empty(), "not at once");
    let retry_at = session.poll_timeout().expect("a retry is scheduled");
    assert!(retry_at > now);
    session.handle_timeout(retry_at);
    assert_eq!(
        posts(&drain(&mut session)),
        vec![outgoing(1).client_id],
        "the same message, with the same client id, first again"
    );
    session.handle_input(
        Input::SendFailed {
            client_id: outgoing(1).client_id,
            failure: SendFailure::Rejected("too long".into()),
        },
        retry_at,
    );
    let outputs = drain(&mut session);
    assert!(outputs.contains(&Output::Rejected {
        client_id: outgoing(1).client_id,
        reason: "too long".into()
    }));
    assert_eq!(posts(&outputs), vec![outgoing(2).client_id]);
}

#[test]
fn a_rate_limited_send_waits_as_long_as_the_server_asked() {
    let now = Instant::now();
    let mut session = live_session(&[], now);
    session.handle_input(Input::Queue(outgoing(1)), now);
    assert_eq!(posts(&drain(&mut session)), vec![outgoing(1).client_id]);
    // Longer than the first backoff (500 ms), shorter than the session's silence limit.
    let wait = Duration::from_secs(3);
    session.handle_input(
        Input::SendFailed {
            client_id: outgoing(1).client_id,
            failure: SendFailure::Throttled {
                reason: "rate_limited".into(),
                wait,
            },
        },
        now,
    );
    let retry_at = session.poll_timeout().expect("a retry is scheduled");
    assert_eq!(
        retry_at,
        now + wait,
        "not before the server's wait, nor later"
    );
    session.handle_timeout(now + wait - Duration::from_millis(1));
    assert!(
        posts(&drain(&mut session)).is_empty(),
        "not before the wait"
    );
    session.handle_timeout(retry_at);
    assert_eq!(posts(&drain(&mut session)), vec![outgoing(1).client_id]);
}

#[test]
fn my_message_arriving_as_an_event_settles_it_in_the_outbox() {
    let now = Instant::now();
    let mut session = live_session(&[(CHAT, 1)], now);
    session.handle_input(Input::Queue(outgoing(1)), now);
    session.handle_input(Input::Queue(outgoing(2)), now);
    drain(&mut session);
    // Message 2 was stored by an earlier run whose answer was lost.
    session.handle_input(Input::Frame(created(2, ME, outgoing(2).client_id)), now);
    let outputs = drain(&mut session);
    assert!(outputs.iter().any(
        |output| matches!(output, Output::Sent { client_id, .. } if *client_id == outgoing(2).client_id)
    ));
    let pending: Vec<_> = session.pending().map(|m| m.client_id).collect();
    assert_eq!(pending, vec![outgoing(1).client_id]);
}

#[test]
fn an_unauthorized_close_signs_out_and_stops_reconnecting() {
    let now = Instant::now();
    let mut session = live_session(&[], now);
    session.handle_input(
        Input::SocketClosed {
            code: Some(close_code::UNAUTHORIZED),
            reason: "revoked".into(),
        },
        now,
    );
    assert_eq!(
        drain(&mut session),
        vec![Output::Status(ConnectionStatus::SignedOut)]
    );
    assert_eq!(session.poll_timeout(), None);
}

#[test]
fn being_removed_from_a_conversation_forgets_its_cursor() {
    let now = Instant::now();
    let mut session = live_session(&[(CHAT, 3)], now);
    session.handle_input(
        Input::Frame(ServerFrame::Event(Event {
            conversation_id: CHAT,
            seq: 4,
            at: 0,
            body: EventBody::MemberRemoved {
                user_id: ME,
                removed_by: BOB,
            },
        })),
        now,
    );
    assert_eq!(applied_seqs(&drain(&mut session)), vec![4]);
    assert_eq!(session.cursor(CHAT), None);
}
