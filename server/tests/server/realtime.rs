//! The realtime WebSocket: live delivery, resume without loss or repeats, presence, typing,
//! membership changes, slow clients, shutdown.

use futures_util::SinkExt;
use natter_protocol::{EventBody, ServerFrame, close_code};
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::harness::{Backend, TestServer, Ws, eventually, raw_socket};

crate::on_both_backends!(
    messages_arrive_live,
    resume_delivers_exactly_what_was_missed,
    nothing_is_lost_across_a_server_restart,
    presence_follows_connections,
    dead_connections_go_offline_by_heartbeat,
    typing_reaches_only_the_others,
    membership_changes_start_and_stop_delivery,
    a_slow_client_is_cut_off_without_slowing_others,
    shutdown_closes_sockets_cleanly,
    sockets_require_a_valid_hello,
    a_cursor_ahead_of_the_server_gets_a_resync,
    a_cursor_below_my_join_replays_from_the_join,
);

async fn a_cursor_ahead_of_the_server_gets_a_resync(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let sent = alice.send(conversation.id, "hi").await;
    // As after the server's database was restored from an older backup.
    let mut socket = bob.connect(&[(conversation.id, sent.seq + 50)]).await;
    assert_eq!(
        socket.next().await,
        ServerFrame::Resync {
            conversation_id: conversation.id,
            last_seq: sent.seq
        }
    );
    // From there on, delivery continues normally.
    let next = alice.send(conversation.id, "again").await;
    assert_eq!(socket.next_durable().await.seq, next.seq);
}

/// Protocol 4.2: "a cursor below the seq at which I joined counts as 'from my join'"; a
/// `resync` is only for a cursor above the server's or a gap past the resume limit.
async fn a_cursor_below_my_join_replays_from_the_join(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, carol) = (server.user("alice").await, server.user("carol").await);
    let group = alice.group("g", &[]).await;
    for n in 0..3 {
        alice.send(group.id, &format!("before carol {n}")).await;
    }
    let members = format!("/api/conversations/{}/members", group.id);
    let add_carol = || async {
        alice
            .ok::<serde_json::Value>(
                Method::POST,
                &members,
                Some(json!({"user_ids": [carol.id()]})),
            )
            .await;
        carol.conversation(group.id).await.last_seq
    };
    let joined = add_carol().await;
    let missed = alice.send(group.id, "one missed message").await;
    // The replay is the join, then the one message, and nothing from before the join.
    for cursor in [0, joined - 1] {
        let socket = carol.connect(&[(group.id, cursor)]).await;
        expect_replay(socket, cursor, joined, missed.seq).await;
    }

    // Removed and added again: a cursor from the first membership (or 0) replays from the
    // second join, not a resync.
    alice
        .call(Method::DELETE, &format!("{members}/{}", carol.id()), None)
        .await;
    alice.send(group.id, "while carol was out").await;
    let rejoined = add_carol().await;
    let after = alice.send(group.id, "after the second join").await;
    for cursor in [0, joined, missed.seq] {
        let socket = carol.connect(&[(group.id, cursor)]).await;
        expect_replay(socket, cursor, rejoined, after.seq).await;
    }
}

/// The backlog after `cursor` is the `members_added` at `joined`, then the message at `next`.
async fn expect_replay(mut socket: Ws, cursor: i64, joined: i64, next: i64) {
    let first = socket.next_durable().await;
    assert_eq!(
        (
            first.seq,
            matches!(first.body, EventBody::MembersAdded { .. })
        ),
        (joined, true),
        "cursor {cursor}: the replay starts with my join, got {first:?}"
    );
    assert_eq!(socket.next_durable().await.seq, next, "cursor {cursor}");
}

fn message_body(event: &natter_protocol::Event) -> &str {
    match &event.body {
        EventBody::MessageCreated { message } => &message.body,
        other => panic!("expected a new message, got {other:?}"),
    }
}

async fn messages_arrive_live(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let mut bob_socket = bob
        .connect(&[(conversation.id, conversation.last_seq)])
        .await;
    let sent = alice.send(conversation.id, "live!").await;
    let event = bob_socket.next_durable().await;
    assert_eq!(event.conversation_id, conversation.id);
    assert_eq!(event.seq, sent.seq);
    assert_eq!(message_body(&event), "live!");
    match event.body {
        EventBody::MessageCreated { message } => assert_eq!(
            message.sender_id,
            alice.id(),
            "the server stamps the sender"
        ),
        _ => unreachable!(),
    }
}

async fn resume_delivers_exactly_what_was_missed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let first = alice.send(conversation.id, "before the drop").await;

    // A client that never had a cursor gets the conversation from its creation.
    let mut socket = bob.connect(&[]).await;
    let created = socket.next_durable().await;
    assert!(
        matches!(created.body, EventBody::ConversationCreated { .. }),
        "{created:?}"
    );
    assert_eq!(
        message_body(&socket.next_durable().await),
        "before the drop"
    );
    drop(socket);

    // While bob is away: messages, an edit, a delete.
    let mut missed = Vec::new();
    for index in 0..5 {
        missed.push(
            alice
                .send(conversation.id, &format!("missed {index}"))
                .await,
        );
    }
    alice
        .call(
            Method::PATCH,
            &format!(
                "/api/conversations/{}/messages/{}",
                conversation.id, missed[0].id
            ),
            Some(json!({"body": "missed 0, edited"})),
        )
        .await;

    let mut socket = bob.connect(&[(conversation.id, first.seq)]).await;
    let mut seqs = Vec::new();
    for expected in ["missed 0", "missed 1", "missed 2", "missed 3", "missed 4"] {
        let event = socket.next_durable().await;
        assert_eq!(message_body(&event), expected);
        seqs.push(event.seq);
    }
    let edit = socket.next_durable().await;
    assert!(
        matches!(edit.body, EventBody::MessageEdited { .. }),
        "{edit:?}"
    );
    seqs.push(edit.seq);
    assert!(
        seqs.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "in order without gaps: {seqs:?}"
    );
    // Nothing is repeated: the next frame is the next new message.
    let after = alice.send(conversation.id, "after the resume").await;
    let event = socket.next_durable().await;
    assert_eq!(event.seq, after.seq);
    assert_eq!(event.seq, edit.seq + 1);
}

async fn nothing_is_lost_across_a_server_restart(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let mut socket = bob
        .connect(&[(conversation.id, conversation.last_seq)])
        .await;
    let before = alice.send(conversation.id, "before restart").await;
    assert_eq!(socket.next_durable().await.seq, before.seq);
    let server = server.restart().await;
    assert_eq!(
        socket.closed().await,
        1001,
        "the server says it is going away"
    );
    let after = alice.send(conversation.id, "after restart").await;
    let mut socket = bob.connect(&[(conversation.id, before.seq)]).await;
    let event = socket.next_durable().await;
    assert_eq!(event.seq, after.seq);
    assert_eq!(message_body(&event), "after restart");
    drop(server);
}

async fn presence_follows_connections(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let cursor = [(conversation.id, conversation.last_seq)];
    let mut bob_socket = bob.connect(&cursor).await;
    assert!(matches!(
        &bob_socket.ready,
        Some(ServerFrame::Ready { online_user_ids, .. }) if online_user_ids.is_empty()
    ));

    let alice_laptop = alice.connect(&cursor).await;
    assert_eq!(
        bob_socket.next().await,
        ServerFrame::Presence {
            user_id: alice.id(),
            online: true,
            last_seen_at: None
        }
    );
    // A second device changes nothing; closing one of two changes nothing either.
    let alice_phone = alice.connect(&cursor).await;
    assert!(matches!(
        &alice_phone.ready,
        Some(ServerFrame::Ready { online_user_ids, .. }) if online_user_ids == &vec![bob.id()]
    ));
    drop(alice_laptop);
    let member = bob.conversation(conversation.id).await;
    let alice_seen = member
        .members
        .iter()
        .find(|user| user.id == alice.id())
        .unwrap();
    assert!(alice_seen.presence.expect("contacts see presence").online);
    drop(alice_phone);
    match bob_socket.next().await {
        ServerFrame::Presence {
            user_id,
            online: false,
            last_seen_at: Some(_),
        } => assert_eq!(user_id, alice.id()),
        other => panic!("expected alice offline, got {other:?}"),
    }
    let alice_now: natter_protocol::User = bob
        .ok(Method::GET, &format!("/api/users/{}", alice.id()), None)
        .await;
    let presence = alice_now.presence.expect("contacts see presence");
    assert!(!presence.online);
    assert!(presence.last_seen_at.is_some());
    // Someone who shares no conversation with alice learns nothing of it.
    let stranger = server.user("stranger").await;
    let seen_by_stranger: natter_protocol::User = stranger
        .ok(Method::GET, &format!("/api/users/{}", alice.id()), None)
        .await;
    assert_eq!(seen_by_stranger.presence, None);
    let page: natter_protocol::UserPage = stranger
        .ok(
            Method::GET,
            &format!("/api/users?query={}", alice.user.username),
            None,
        )
        .await;
    assert_eq!(page.users.len(), 1);
    assert_eq!(page.users[0].presence, None);
    let me: natter_protocol::User = alice.ok(Method::GET, "/api/me", None).await;
    assert!(me.presence.is_some(), "users see their own presence");
}

async fn dead_connections_go_offline_by_heartbeat(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.heartbeat_seconds = 0.2).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let mut bob_socket = bob
        .connect(&[(conversation.id, conversation.last_seq)])
        .await;
    // Alice says hello and then never reads again: she answers no pings, like a vanished laptop.
    let mut alice_raw = raw_socket(&server.url, None).await.unwrap();
    let hello = json!({"type": "hello", "token": alice.token, "cursors": {conversation.id.to_string(): conversation.last_seq}});
    alice_raw
        .send(WsMessage::text(hello.to_string()))
        .await
        .unwrap();
    assert_eq!(
        bob_socket.next().await,
        ServerFrame::Presence {
            user_id: alice.id(),
            online: true,
            last_seen_at: None
        }
    );
    let started = std::time::Instant::now();
    match bob_socket.next().await {
        ServerFrame::Presence {
            user_id,
            online: false,
            ..
        } => assert_eq!(user_id, alice.id()),
        other => panic!("expected alice to time out, got {other:?}"),
    }
    // Three missed heartbeats of 0.2 s; generous upper bound for a loaded machine.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    drop(alice_raw);
}

async fn typing_reaches_only_the_others(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob, carol) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
    );
    let group = alice.group("g", &[&bob, &carol]).await;
    let cursor = [(group.id, group.last_seq)];
    let mut alice_socket = alice.connect(&cursor).await;
    let mut carol_socket = carol.connect(&cursor).await;
    // Presence frames from the connects come first; skip to what matters.
    let mut bob_socket = bob.connect(&cursor).await;
    // A burst of notices (a key press each): passed on once, the rest dropped.
    for _ in 0..5 {
        bob_socket
            .send_text(&json!({"type": "typing", "conversation_id": group.id}).to_string())
            .await;
    }
    for socket in [&mut alice_socket, &mut carol_socket] {
        loop {
            match socket.next().await {
                ServerFrame::Presence { .. } => continue,
                ServerFrame::Typing {
                    conversation_id,
                    user_id,
                    expires_in_ms,
                } => {
                    assert_eq!((conversation_id, user_id), (group.id, bob.id()));
                    assert!(expires_in_ms > 0);
                    break;
                }
                other => panic!("expected typing, got {other:?}"),
            }
        }
    }
    // Bob does not get his own typing back, and alice gets no more of the burst: for both,
    // the next thing is the message after it.
    let marker = alice.send(group.id, "marker").await;
    loop {
        match alice_socket.next().await {
            ServerFrame::Presence { .. } => continue,
            ServerFrame::Event(event) => {
                assert_eq!(event.seq, marker.seq);
                break;
            }
            other => panic!("alice got {other:?} before the marker"),
        }
    }
    loop {
        match bob_socket.next().await {
            ServerFrame::Presence { .. } => continue,
            ServerFrame::Event(event) => {
                assert_eq!(event.seq, marker.seq);
                break;
            }
            other => panic!("bob got {other:?} before the marker"),
        }
    }
    // Typing into a conversation one is not in is refused, every time: the one-a-second
    // throttle must not turn a repeat into a silent success.
    let stranger = server.user("stranger").await;
    let mut stranger_socket = stranger.connect(&[]).await;
    let unknown = uuid::Uuid::now_v7();
    for conversation_id in [group.id.to_string(), unknown.to_string()] {
        for attempt in 0..3 {
            stranger_socket
                .send_text(
                    &json!({"type": "typing", "conversation_id": conversation_id}).to_string(),
                )
                .await;
            match stranger_socket.next().await {
                ServerFrame::Error { code, .. } => assert_eq!(
                    code,
                    natter_protocol::ErrorCode::NotFound,
                    "typing frame {attempt} into {conversation_id}"
                ),
                other => panic!("typing frame {attempt} into {conversation_id}: got {other:?}"),
            }
            let (status, body) = stranger
                .call(
                    Method::POST,
                    &format!("/api/conversations/{conversation_id}/typing"),
                    None,
                )
                .await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (reqwest::StatusCode::NOT_FOUND, Some("not_found")),
                "POST typing {attempt} into {conversation_id}: {body}"
            );
        }
    }
}

async fn membership_changes_start_and_stop_delivery(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, carol) = (server.user("alice").await, server.user("carol").await);
    let group = alice.group("g", &[]).await;
    let earlier = alice.send(group.id, "before carol").await;
    let side = alice.direct_with(&carol).await;
    let mut carol_socket = carol.connect(&[(side.id, side.last_seq)]).await;

    alice
        .ok::<serde_json::Value>(
            Method::POST,
            &format!("/api/conversations/{}/members", group.id),
            Some(json!({"user_ids": [carol.id()]})),
        )
        .await;
    let added = carol_socket.next_durable().await;
    assert_eq!(added.conversation_id, group.id);
    assert!(
        matches!(&added.body, EventBody::MembersAdded { user_ids, .. } if user_ids == &vec![carol.id()])
    );
    assert_eq!(
        carol.conversation(group.id).await.last_message,
        None,
        "the preview does not show what was said before she joined"
    );
    // An edit of a message from before she joined would reveal it: she does not get it, live
    // or on resume.
    alice
        .call(
            Method::PATCH,
            &format!("/api/conversations/{}/messages/{}", group.id, earlier.id),
            Some(json!({"body": "before carol, edited"})),
        )
        .await;
    alice.send(group.id, "welcome").await;
    assert_eq!(message_body(&carol_socket.next_durable().await), "welcome");
    let mut resumed = carol
        .connect(&[(group.id, added.seq), (side.id, side.last_seq)])
        .await;
    assert_eq!(message_body(&resumed.next_durable().await), "welcome");
    drop(resumed);
    // History from before she joined stays hidden.
    let history: natter_protocol::MessagePage = carol
        .ok(
            Method::GET,
            &format!("/api/conversations/{}/messages", group.id),
            None,
        )
        .await;
    assert!(history.messages.iter().all(|m| m.id != earlier.id));
    assert_eq!(history.messages.len(), 1);

    alice
        .call(
            Method::DELETE,
            &format!("/api/conversations/{}/members/{}", group.id, carol.id()),
            None,
        )
        .await;
    let removed = carol_socket.next_durable().await;
    assert!(
        matches!(removed.body, EventBody::MemberRemoved { user_id, .. } if user_id == carol.id())
    );
    alice.send(group.id, "after carol left").await;
    let marker = alice.send(side.id, "marker").await;
    let next = carol_socket.next_durable().await;
    assert_eq!(
        (next.conversation_id, next.seq),
        (side.id, marker.seq),
        "nothing from the group after removal"
    );

    // Resuming from an old cursor does not leak what happened after she left.
    let mut again = carol
        .connect(&[(group.id, earlier.seq), (side.id, marker.seq)])
        .await;
    let mut group_events = Vec::new();
    let marker2 = alice.send(side.id, "marker 2").await;
    loop {
        let event = again.next_durable().await;
        if event.conversation_id == side.id {
            assert_eq!(event.seq, marker2.seq);
            break;
        }
        group_events.push(event);
    }
    assert!(matches!(
        group_events.last().map(|e| &e.body),
        Some(EventBody::MemberRemoved { .. })
    ));
    assert!(group_events.iter().all(|e| e.seq <= removed.seq));
}

async fn a_slow_client_is_cut_off_without_slowing_others(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.ws_queue_frames = 16).await;
    let (alice, slow, fast) = (
        server.user("alice").await,
        server.user("slow").await,
        server.user("fast").await,
    );
    let group = alice.group("firehose", &[&slow, &fast]).await;
    let cursor = [(group.id, group.last_seq)];
    let mut slow_socket = slow.connect(&cursor).await;
    let mut fast_socket = fast.connect(&cursor).await;
    // Big messages fill the socket buffers quickly; the slow client then stops reading.
    let body = "€".repeat(4000);
    let count = 600;
    let mut last_seq = 0;
    let fast_reader = tokio::spawn(async move {
        let mut received = 0;
        while received < count {
            if let ServerFrame::Event(_) = fast_socket.next().await {
                received += 1;
            }
        }
        received
    });
    for _ in 0..count {
        last_seq = alice.send(group.id, &body).await.seq;
    }
    assert_eq!(
        fast_reader.await.unwrap(),
        count,
        "the fast client got everything"
    );
    // The slow one was disconnected as too slow (after whatever was already in flight).
    assert_eq!(slow_socket.closed().await, close_code::TOO_SLOW);
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("natter_slow_clients_disconnected_total 1"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("slow"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // It resumes later and catches up on the last message like any reconnecting client.
    let mut resumed = slow.connect(&[(group.id, last_seq - 1)]).await;
    assert_eq!(resumed.next_durable().await.seq, last_seq);
}

async fn shutdown_closes_sockets_cleanly(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.user("alice").await;
    let mut socket = alice.connect(&[]).await;
    let stopping = tokio::spawn(server.stop());
    assert_eq!(socket.closed().await, 1001);
    stopping.await.unwrap();
}

async fn sockets_require_a_valid_hello(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.user("alice").await;
    // A bad token in the upgrade request is refused before upgrading.
    let refused = raw_socket(&server.url, Some("nat_not-a-real-token")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("expected 401, got {other:?}"),
    }
    // A good token in the header, then a hello without one.
    let stream = raw_socket(&server.url, Some(&alice.token)).await.unwrap();
    let mut header_authenticated = Ws::before_hello(stream);
    header_authenticated.send_text(r#"{"type":"hello"}"#).await;
    assert!(matches!(
        header_authenticated.next().await,
        ServerFrame::Ready { .. }
    ));
    // A wrong token in hello.
    let stream = raw_socket(&server.url, None).await.unwrap();
    let mut ws = Ws::before_hello(stream);
    ws.send_text(r#"{"type":"hello","token":"nat_wrong"}"#)
        .await;
    assert_eq!(ws.closed().await, close_code::UNAUTHORIZED);
    // Anything else first.
    for first in [
        r#"{"type":"typing","conversation_id":"00000000-0000-0000-0000-000000000000"}"#,
        "not json",
        r#"{"type":"hello","token":5}"#,
    ] {
        let stream = raw_socket(&server.url, None).await.unwrap();
        let mut ws = Ws::before_hello(stream);
        ws.send_text(first).await;
        assert_eq!(ws.closed().await, close_code::PROTOCOL_ERROR, "{first}");
    }
    // A frame larger than the limit ends the connection.
    let mut ws = alice.connect(&[]).await;
    ws.send_text(&"x".repeat(100 * 1024)).await;
    let code = ws.closed().await;
    assert!(
        code == 1009 || code == 1006,
        "oversized frame closed with {code}"
    );
    // A good session keeps working after an unreadable frame.
    let mut ws = alice.connect(&[]).await;
    ws.send_text("{nonsense").await;
    assert!(matches!(ws.next().await, ServerFrame::Error { .. }));
    // Only the two good sessions remain counted; every refused one was cleaned up.
    let stats = eventually("refused sockets to be forgotten", || async {
        let stats: serde_json::Value = reqwest::get(format!("{}/api/stats", server.url))
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (stats["connections"] == 2).then_some(stats)
    })
    .await;
    assert_eq!(stats["users_online"], 1);
    drop(header_authenticated);
}
