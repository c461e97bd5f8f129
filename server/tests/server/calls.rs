//! Calls: signaling through the server's referee over real WebSockets, the call history and
//! its unread missed calls, and the ICE servers handed to devices with TURN REST credentials.

use natter_protocol::{
    CallEndReason, CallHistory, CallId, CallKind, CallSignal, ClientFrame, Conversation, ErrorCode,
    MessagePage, ServerFrame,
};
use reqwest::{Method, StatusCode};

use crate::harness::{Backend, Client, TestServer, Ws};

crate::on_both_backends!(
    devices_get_stun_and_short_lived_turn_credentials,
    a_call_rings_every_device_connects_one_and_relays_only_between_them,
    every_way_a_call_ends_is_told_to_both_sides_and_recorded,
    a_decline_or_cancel_stops_every_callee_device_and_late_intents_get_not_found,
    a_device_connecting_mid_ring_gets_ready_then_its_backlog_then_the_call,
    the_call_history_refuses_a_bad_page_size,
);

fn invite(call_id: CallId, callee: &Client, kind: CallKind) -> ClientFrame {
    ClientFrame::CallInvite {
        call_id,
        callee_id: callee.id(),
        kind,
    }
}

async fn expect_ended(ws: &mut Ws, call_id: CallId, reason: CallEndReason) {
    assert_eq!(
        ws.next_live().await,
        ServerFrame::CallEnded { call_id, reason }
    );
}

async fn expect_error(ws: &mut Ws, call_id: CallId, code: ErrorCode) {
    match ws.next_live().await {
        ServerFrame::CallError {
            call_id: refused,
            code: got,
            ..
        } => {
            assert_eq!((refused, got), (call_id, code));
        }
        other => panic!("expected call_error {code:?}, got {other:?}"),
    }
}

async fn history(client: &Client) -> CallHistory {
    client.ok(Method::GET, "/api/calls", None).await
}

async fn a_call_rings_every_device_connects_one_and_relays_only_between_them(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.user("alice").await;
    let bob_laptop = server.user("bob").await;
    let bob_phone = bob_laptop.second_device().await;
    let carol = server.user("carol").await;
    let direct = alice.direct_with(&bob_laptop).await;
    let mut alice_ws = alice.connect(&[]).await;
    let mut laptop_ws = bob_laptop.connect(&[]).await;
    let mut phone_ws = bob_phone.connect(&[]).await;
    let mut carol_ws = carol.connect(&[]).await;

    // A stranger cannot ring anyone, and learns nothing about whether the user exists.
    let stranger_call = CallId::now_v7();
    carol_ws
        .send_frame(&invite(stranger_call, &alice, CallKind::Voice))
        .await;
    expect_error(&mut carol_ws, stranger_call, ErrorCode::NotFound).await;

    let call_id = CallId::now_v7();
    alice_ws
        .send_frame(&invite(call_id, &bob_laptop, CallKind::Video))
        .await;
    let ServerFrame::CallRinging { call } = alice_ws.next_live().await else {
        panic!("the caller hears it ringing");
    };
    assert_eq!(
        (call.call_id, call.caller_id, call.callee_id, call.kind),
        (call_id, alice.id(), bob_laptop.id(), CallKind::Video)
    );
    for ws in [&mut laptop_ws, &mut phone_ws] {
        assert_eq!(
            ws.next_live().await,
            ServerFrame::CallIncoming { call },
            "every device of the callee rings"
        );
    }
    // Signals before the answer are refused, to the caller and to anyone else.
    let offer = CallSignal::Offer {
        sdp: "v=0\r\n".into(),
    };
    let signal = |signal: &CallSignal| ClientFrame::CallSignal {
        call_id,
        signal: signal.clone(),
    };
    alice_ws.send_frame(&signal(&offer)).await;
    expect_error(&mut alice_ws, call_id, ErrorCode::Conflict).await;

    // The phone answers first: it wins, the laptop stops ringing and cannot take it any more.
    phone_ws
        .send_frame(&ClientFrame::CallAccept { call_id })
        .await;
    let phone_session = match phone_ws.ready {
        Some(ServerFrame::Ready { session_id, .. }) => session_id,
        _ => unreachable!("connected sockets are ready"),
    };
    let accepted = ServerFrame::CallAccepted {
        call_id,
        by_session_id: phone_session,
    };
    assert_eq!(phone_ws.next_live().await, accepted);
    assert_eq!(alice_ws.next_live().await, accepted);
    assert_eq!(
        laptop_ws.next_live().await,
        ServerFrame::CallAnsweredElsewhere { call_id }
    );
    laptop_ws
        .send_frame(&ClientFrame::CallAccept { call_id })
        .await;
    expect_error(&mut laptop_ws, call_id, ErrorCode::Conflict).await;

    // Offer, answer and candidates flow between the two devices, stamped by the server.
    alice_ws.send_frame(&signal(&offer)).await;
    assert_eq!(
        phone_ws.next_live().await,
        ServerFrame::CallSignal {
            call_id,
            from_user_id: alice.id(),
            signal: offer
        }
    );
    let answer = CallSignal::Answer {
        sdp: "v=0\r\na=answer\r\n".into(),
    };
    phone_ws.send_frame(&signal(&answer)).await;
    assert_eq!(
        alice_ws.next_live().await,
        ServerFrame::CallSignal {
            call_id,
            from_user_id: bob_phone.id(),
            signal: answer
        }
    );
    // The laptop (same user, other device) and Carol may not inject anything.
    let candidate = CallSignal::IceCandidate {
        candidate: "candidate:1 1 udp 2130706431 192.0.2.66 9 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
    };
    laptop_ws.send_frame(&signal(&candidate)).await;
    expect_error(&mut laptop_ws, call_id, ErrorCode::NotFound).await;
    carol_ws.send_frame(&signal(&candidate)).await;
    expect_error(&mut carol_ws, call_id, ErrorCode::NotFound).await;
    carol_ws
        .send_frame(&ClientFrame::CallHangup { call_id })
        .await;
    expect_error(&mut carol_ws, call_id, ErrorCode::NotFound).await;

    // Mute and camera state reach the peer.
    phone_ws
        .send_frame(&ClientFrame::CallMedia {
            call_id,
            muted: true,
            camera_on: false,
        })
        .await;
    assert_eq!(
        alice_ws.next_live().await,
        ServerFrame::CallMedia {
            call_id,
            from_user_id: bob_phone.id(),
            muted: true,
            camera_on: false
        }
    );

    // Hang up: both devices are told, the laptop hears nothing more of it, the call is recorded.
    alice_ws
        .send_frame(&ClientFrame::CallHangup { call_id })
        .await;
    expect_ended(&mut alice_ws, call_id, CallEndReason::Completed).await;
    expect_ended(&mut phone_ws, call_id, CallEndReason::Completed).await;
    for client in [&alice, &bob_laptop] {
        let calls = history(client).await.calls;
        assert_eq!(calls.len(), 1, "one call in the history");
        let record = calls[0];
        assert_eq!(
            (record.call_id, record.caller_id, record.callee_id),
            (call_id, alice.id(), bob_laptop.id())
        );
        assert_eq!(record.end_reason, CallEndReason::Completed);
        assert_eq!(record.kind, CallKind::Video);
        let answered_at = record.answered_at.expect("it was answered");
        assert!(record.started_at <= answered_at && answered_at <= record.ended_at);
        assert_eq!(record.duration_ms, record.ended_at - answered_at);
        assert_eq!(record.conversation_id, Some(direct.id));
    }
    // The call is in the conversation, and an answered call is not unread.
    let page: MessagePage = bob_laptop
        .ok(
            Method::GET,
            &format!("/api/conversations/{}/messages", direct.id),
            None,
        )
        .await;
    let recorded = page.messages.last().expect("the call's message");
    assert_eq!(recorded.sender_id, alice.id());
    assert_eq!(recorded.call.map(|call| call.call_id), Some(call_id));
    assert_eq!(bob_laptop.conversation(direct.id).await.unread_count, 0);
    // The record of a call cannot be rewritten by the caller.
    let (status, _) = alice
        .call(
            Method::PATCH,
            &format!("/api/conversations/{}/messages/{}", direct.id, recorded.id),
            Some(serde_json::json!({"body": "we never spoke"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn every_way_a_call_ends_is_told_to_both_sides_and_recorded(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.call_ring_seconds = 0.5;
        config.call_offline_grace_seconds = 0.3;
    })
    .await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    // Alice and Bob share only a group: the direct conversation is made for the first record.
    let group = alice.group("trio", &[&bob, &carol]).await;
    let mut alice_ws = alice.connect(&[]).await;
    let mut bob_ws = bob.connect(&[]).await;
    let mut carol_ws = carol.connect(&[]).await;

    // Missed: nobody answers before the ring timeout.
    let missed = CallId::now_v7();
    alice_ws
        .send_frame(&invite(missed, &bob, CallKind::Voice))
        .await;
    assert!(matches!(
        alice_ws.next_live().await,
        ServerFrame::CallRinging { .. }
    ));
    assert!(matches!(
        bob_ws.next_live().await,
        ServerFrame::CallIncoming { .. }
    ));
    expect_ended(&mut alice_ws, missed, CallEndReason::Missed).await;
    expect_ended(&mut bob_ws, missed, CallEndReason::Missed).await;

    // Declined.
    let declined = CallId::now_v7();
    alice_ws
        .send_frame(&invite(declined, &bob, CallKind::Video))
        .await;
    alice_ws.next_live().await;
    bob_ws.next_live().await;
    bob_ws
        .send_frame(&ClientFrame::CallDecline { call_id: declined })
        .await;
    expect_ended(&mut alice_ws, declined, CallEndReason::Declined).await;
    expect_ended(&mut bob_ws, declined, CallEndReason::Declined).await;

    // Cancelled by the caller while it rings.
    let cancelled = CallId::now_v7();
    alice_ws
        .send_frame(&invite(cancelled, &bob, CallKind::Voice))
        .await;
    alice_ws.next_live().await;
    bob_ws.next_live().await;
    alice_ws
        .send_frame(&ClientFrame::CallHangup { call_id: cancelled })
        .await;
    expect_ended(&mut alice_ws, cancelled, CallEndReason::Cancelled).await;
    expect_ended(&mut bob_ws, cancelled, CallEndReason::Cancelled).await;

    // Glare: Bob calls Alice while her call to him rings; one call, both agree on it.
    let alices = CallId::now_v7();
    let bobs = CallId::now_v7();
    alice_ws
        .send_frame(&invite(alices, &bob, CallKind::Video))
        .await;
    let ServerFrame::CallRinging { call } = alice_ws.next_live().await else {
        panic!("alice's call rings");
    };
    assert!(matches!(
        bob_ws.next_live().await,
        ServerFrame::CallIncoming { .. }
    ));
    bob_ws
        .send_frame(&invite(bobs, &alice, CallKind::Video))
        .await;
    assert_eq!(
        bob_ws.next_live().await,
        ServerFrame::CallMerged {
            requested_call_id: bobs,
            call
        }
    );
    assert!(matches!(
        alice_ws.next_live().await,
        ServerFrame::CallAccepted { call_id, .. } if call_id == alices
    ));

    // Busy: Carol calls Bob while he talks to Alice; Bob's call goes on undisturbed.
    let busy = CallId::now_v7();
    carol_ws
        .send_frame(&invite(busy, &bob, CallKind::Voice))
        .await;
    expect_ended(&mut carol_ws, busy, CallEndReason::Busy).await;

    // Failed: Bob's device loses its connection for longer than the grace period.
    drop(bob_ws);
    expect_ended(&mut alice_ws, alices, CallEndReason::Failed).await;

    let reasons = |history: CallHistory| {
        history
            .calls
            .iter()
            .map(|call| (call.call_id, call.end_reason, call.duration_ms))
            .collect::<Vec<_>>()
    };
    let bob_history = history(&bob).await;
    assert!(bob_history.calls.iter().all(|call| call.duration_ms >= 0));
    let alices_duration = bob_history
        .calls
        .iter()
        .find(|call| call.call_id == alices)
        .map_or(0, |call| call.duration_ms);
    assert_eq!(
        reasons(bob_history),
        [
            (busy, CallEndReason::Busy, 0),
            (alices, CallEndReason::Failed, alices_duration),
            (cancelled, CallEndReason::Cancelled, 0),
            (declined, CallEndReason::Declined, 0),
            (missed, CallEndReason::Missed, 0),
        ],
        "newest first, each with its reason"
    );
    assert_eq!(
        history(&carol).await.calls.len(),
        1,
        "carol sees only her own call"
    );
    let page: CallHistory = bob.ok(Method::GET, "/api/calls?limit=2", None).await;
    assert!(page.has_more);
    let older: CallHistory = bob
        .ok(
            Method::GET,
            &format!("/api/calls?limit=2&before={}", page.calls[1].started_at),
            None,
        )
        .await;
    assert_eq!(older.calls[0].call_id, cancelled);

    // Bob missed three calls (missed, cancelled, busy): each counts as unread in the
    // conversation where it is recorded, until he reads it; declined and failed do not.
    let direct_with = |other: &Client| {
        let other = other.id();
        let bob = &bob;
        async move {
            let list: natter_protocol::ConversationList =
                bob.ok(Method::GET, "/api/conversations", None).await;
            list.conversations
                .into_iter()
                .find(|conversation: &Conversation| {
                    conversation.kind == natter_protocol::ConversationKind::Direct
                        && conversation.members.iter().any(|member| member.id == other)
                })
                .expect("the direct conversation was created for the record")
        }
    };
    assert_eq!(direct_with(&alice).await.unread_count, 2);
    assert_eq!(direct_with(&carol).await.unread_count, 1);
    assert_eq!(bob.conversation(group.id).await.unread_count, 0);
    // Alice missed nothing of hers.
    let alice_side: natter_protocol::ConversationList =
        alice.ok(Method::GET, "/api/conversations", None).await;
    assert!(
        alice_side
            .conversations
            .iter()
            .all(|conversation| conversation.unread_count == 0)
    );
}

async fn devices_get_stun_and_short_lived_turn_credentials(backend: Backend) {
    // Without TURN configured, nothing is offered, and only to signed-in users.
    let server = TestServer::start(backend).await;
    let (status, _) = server
        .http()
        .call(Method::GET, "/api/calls/ice-servers", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let alice = server.user("alice").await;
    let (status, plain) = alice
        .call(Method::GET, "/api/calls/ice-servers", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // Every field is sent: `expires_at` is null (not left out) when no TURN is offered.
    assert_eq!(
        plain,
        serde_json::json!({"ice_servers": [], "expires_at": null})
    );

    let server = TestServer::start_with(backend, |config| {
        config.stun_urls = vec!["stun:turn.example.org:3478".into()];
        config.turn_urls = vec!["turn:turn.example.org:3478?transport=udp".into()];
        config.turn_secret = Some("a shared secret for coturn".parse().expect("long enough"));
        config.turn_credential_ttl_seconds = 600;
    })
    .await;
    let alice = server.user("alice").await;
    let before = natter_server::util::now_ms() / 1000;
    let (status, answer) = alice
        .call(Method::GET, "/api/calls/ice-servers", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let servers = answer["ice_servers"].as_array().expect("a list");
    assert_eq!(servers.len(), 2, "{answer}");
    assert_eq!(servers[0]["urls"][0], "stun:turn.example.org:3478");
    assert!(servers[0]["username"].is_null());
    let turn = &servers[1];
    assert_eq!(turn["urls"][0], "turn:turn.example.org:3478?transport=udp");
    // TURN REST scheme: "<expiry>:<user id>", expiring ttl seconds from now.
    let username = turn["username"].as_str().expect("a username");
    let (expiry, user) = username.split_once(':').expect("expiry:user");
    assert_eq!(user, alice.id().to_string());
    let expiry: i64 = expiry.parse().expect("unix seconds");
    assert!(
        (before + 600..=before + 601).contains(&expiry),
        "expiry {expiry} is not 600 s after {before}"
    );
    assert_eq!(answer["expires_at"], expiry * 1000);
    let credential = turn["credential"].as_str().expect("a credential");
    assert_eq!(
        credential.len(),
        28,
        "base64 of a 20-byte HMAC-SHA1: {credential}"
    );
    assert!(
        !answer.to_string().contains("a shared secret"),
        "the secret itself is never sent"
    );
}

/// Protocol 4.8: a decline (from any callee device) or a cancel ends the call for the caller's
/// device and every device of the callee, the decliner included. Afterwards, and from anyone
/// who is not the call's callee (or, for a hang-up, not its caller's device), `call_accept`,
/// `call_decline` and `call_hangup` get `call_error` `not_found`, and change nothing.
async fn a_decline_or_cancel_stops_every_callee_device_and_late_intents_get_not_found(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let alice = server.user("alice").await;
    let alice_phone = alice.second_device().await;
    let bob_laptop = server.user("bob").await;
    let bob_phone = bob_laptop.second_device().await;
    let carol = server.user("carol").await;
    alice.group("trio", &[&bob_laptop, &carol]).await;
    let mut alice_ws = alice.connect(&[]).await;
    let mut alice_phone_ws = alice_phone.connect(&[]).await;
    let mut laptop_ws = bob_laptop.connect(&[]).await;
    let mut phone_ws = bob_phone.connect(&[]).await;
    let mut carol_ws = carol.connect(&[]).await;

    for reason in [CallEndReason::Declined, CallEndReason::Cancelled] {
        let call_id = CallId::now_v7();
        alice_ws
            .send_frame(&invite(call_id, &bob_laptop, CallKind::Voice))
            .await;
        assert!(matches!(
            alice_ws.next_live().await,
            ServerFrame::CallRinging { .. }
        ));
        for ws in [&mut laptop_ws, &mut phone_ws] {
            assert!(matches!(
                ws.next_live().await,
                ServerFrame::CallIncoming { .. }
            ));
        }
        // While it rings, nobody but the callee can answer or decline it, and nobody but the
        // caller's own device can hang it up.
        for intent in [
            ClientFrame::CallAccept { call_id },
            ClientFrame::CallDecline { call_id },
            ClientFrame::CallHangup { call_id },
        ] {
            carol_ws.send_frame(&intent).await;
            expect_error(&mut carol_ws, call_id, ErrorCode::NotFound).await;
        }
        alice_phone_ws
            .send_frame(&ClientFrame::CallHangup { call_id })
            .await;
        expect_error(&mut alice_phone_ws, call_id, ErrorCode::NotFound).await;

        match reason {
            CallEndReason::Declined => {
                laptop_ws
                    .send_frame(&ClientFrame::CallDecline { call_id })
                    .await
            }
            _ => {
                alice_ws
                    .send_frame(&ClientFrame::CallHangup { call_id })
                    .await
            }
        }
        for ws in [&mut alice_ws, &mut laptop_ws, &mut phone_ws] {
            expect_ended(ws, call_id, reason).await;
        }
        // A late answer from the other device: the call is gone.
        phone_ws
            .send_frame(&ClientFrame::CallAccept { call_id })
            .await;
        expect_error(&mut phone_ws, call_id, ErrorCode::NotFound).await;
        laptop_ws
            .send_frame(&ClientFrame::CallDecline { call_id })
            .await;
        expect_error(&mut laptop_ws, call_id, ErrorCode::NotFound).await;
    }
    // The caller's other device heard nothing of either call.
    alice_phone_ws
        .send_frame(&ClientFrame::CallHangup {
            call_id: CallId::now_v7(),
        })
        .await;
    assert!(matches!(
        alice_phone_ws.next_live().await,
        ServerFrame::CallError { .. }
    ));
}

/// Protocol 4.5 and 4.8: `ready` always comes first, then the backlog, then the
/// `call_incoming` of a call that rings while the device connects.
async fn a_device_connecting_mid_ring_gets_ready_then_its_backlog_then_the_call(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let direct = alice.direct_with(&bob).await;
    let said = alice.send(direct.id, "call me").await;
    let mut alice_ws = alice.connect(&[]).await;
    let call_id = CallId::now_v7();
    alice_ws
        .send_frame(&invite(call_id, &bob, CallKind::Video))
        .await;
    assert!(matches!(
        alice_ws.next_live().await,
        ServerFrame::CallRinging { .. }
    ));
    // `connect` checks that the first frame is `ready`.
    let mut bob_ws = bob.connect(&[]).await;
    let mut backlog = Vec::new();
    loop {
        match bob_ws.next().await {
            ServerFrame::Event(event) => backlog.push(event.seq),
            ServerFrame::Presence { .. } => continue,
            ServerFrame::CallIncoming { call } => {
                assert_eq!(call.call_id, call_id);
                break;
            }
            other => panic!("expected the backlog, then call_incoming; got {other:?}"),
        }
    }
    assert_eq!(
        backlog.last(),
        Some(&said.seq),
        "the whole backlog comes before the call: {backlog:?}"
    );
}

/// Protocol 1.5: a page size out of range is `422 validation_failed`, as on every list; a
/// `limit` that is not a number is `400 invalid_parameter`.
async fn the_call_history_refuses_a_bad_page_size(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.user("alice").await;
    for (query, status, code) in [
        (
            "limit=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "limit=201",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        ("limit=abc", StatusCode::BAD_REQUEST, "invalid_parameter"),
        (
            "before=yesterday",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
    ] {
        let (got, body) = alice
            .call(Method::GET, &format!("/api/calls?{query}"), None)
            .await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{query}: {body}"
        );
    }
    let page: CallHistory = alice.ok(Method::GET, "/api/calls?limit=200", None).await;
    assert!(page.calls.is_empty());
}
