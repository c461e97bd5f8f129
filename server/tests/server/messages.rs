//! Sending, idempotency, history, edits, deletes, receipts, unread counts, search.

use natter_protocol::{ConversationList, Message, MessagePage, ReadState, SearchResults};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Backend, TestServer};

crate::on_both_backends!(
    resending_the_same_client_id_stores_once,
    history_pages_both_ways,
    senders_edit_and_delete_their_own_messages,
    receipts_and_unread_counts_follow_every_device,
    search_finds_words_in_my_conversations_only,
    windows_line_breaks_are_kept_as_line_breaks,
);

/// Text pasted on Windows carries CR LF: it is accepted and stored with LF line breaks
/// (protocol 1.5), on send, on a resend of the same `client_id`, and on edit. Every field of a
/// message is sent, `call` included (protocol 1.3).
async fn windows_line_breaks_are_kept_as_line_breaks(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let path = format!("/api/conversations/{}/messages", conversation.id);
    let request =
        json!({"client_id": uuid::Uuid::now_v7(), "body": "first line\r\nsecond line\r\n"});
    let (status, sent) = alice.call(Method::POST, &path, Some(request.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["body"], "first line\nsecond line\n");
    assert!(
        sent.as_object()
            .is_some_and(|fields| fields.get("call") == Some(&serde_json::Value::Null)),
        "`call` is sent as null on a plain message: {sent}"
    );
    let (status, resent) = alice.call(Method::POST, &path, Some(request)).await;
    assert_eq!(
        (status, &resent),
        (StatusCode::OK, &sent),
        "the resend is the same message"
    );
    let (status, edited) = alice
        .call(
            Method::PATCH,
            &format!("{path}/{}", sent["id"].as_str().expect("an id")),
            Some(json!({"body": "edited\rold mac\r\nwindows"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["body"], "edited\nold mac\nwindows");
}

async fn resending_the_same_client_id_stores_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let path = format!("/api/conversations/{}/messages", conversation.id);
    let client_id = uuid::Uuid::now_v7();
    let body = json!({"client_id": client_id, "body": "only once"});
    let (first_status, first) = alice.call(Method::POST, &path, Some(body.clone())).await;
    let (second_status, second) = alice.call(Method::POST, &path, Some(body)).await;
    assert_eq!(first_status, StatusCode::CREATED);
    assert_eq!(second_status, StatusCode::OK);
    assert_eq!(first, second, "the resend returns the stored message");
    let history: MessagePage = bob.ok(Method::GET, &path, None).await;
    assert_eq!(history.messages.len(), 1);

    // The same id for something else is a client bug, refused without storing anything.
    let (status, error) = alice
        .call(
            Method::POST,
            &path,
            Some(json!({"client_id": client_id, "body": "different"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"]["code"], "idempotency_conflict");
    // Another sender may happen to use the same id: ids are per sender.
    let (status, _) = bob
        .call(
            Method::POST,
            &path,
            Some(json!({"client_id": client_id, "body": "mine"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let history: MessagePage = bob.ok(Method::GET, &path, None).await;
    assert_eq!(
        history
            .messages
            .iter()
            .map(|m| m.body.as_str())
            .collect::<Vec<_>>(),
        ["only once", "mine"]
    );
}

async fn history_pages_both_ways(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let mut sent = Vec::new();
    for index in 0..25 {
        sent.push(
            alice
                .send(conversation.id, &format!("message {index}"))
                .await,
        );
    }
    let path = format!("/api/conversations/{}/messages", conversation.id);
    let newest: MessagePage = bob.ok(Method::GET, &format!("{path}?limit=10"), None).await;
    assert!(newest.has_more);
    assert_eq!(newest.messages.first().unwrap().body, "message 15");
    assert_eq!(newest.messages.last().unwrap().body, "message 24");
    // Scrolling up.
    let mut collected: Vec<Message> = newest.messages.clone();
    let mut before = newest.messages[0].seq;
    loop {
        let page: MessagePage = bob
            .ok(
                Method::GET,
                &format!("{path}?limit=10&before={before}"),
                None,
            )
            .await;
        collected.splice(0..0, page.messages.clone());
        if !page.has_more {
            break;
        }
        before = page.messages[0].seq;
    }
    assert_eq!(collected, sent, "every message once, in order");
    // Catching up forward from a known position.
    let after = sent[19].seq;
    let page: MessagePage = bob
        .ok(Method::GET, &format!("{path}?after={after}&limit=3"), None)
        .await;
    assert_eq!(
        page.messages
            .iter()
            .map(|m| m.body.as_str())
            .collect::<Vec<_>>(),
        ["message 20", "message 21", "message 22"]
    );
    assert!(page.has_more);
    let (status, _) = bob
        .call(Method::GET, &format!("{path}?after=1&before=9"), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = bob
        .call(Method::GET, &format!("{path}?limit=201"), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn senders_edit_and_delete_their_own_messages(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let message = alice.send(conversation.id, "helo").await;
    let path = format!(
        "/api/conversations/{}/messages/{}",
        conversation.id, message.id
    );
    let mut bob_socket = bob.connect(&[(conversation.id, message.seq)]).await;

    let (status, _) = bob
        .call(Method::PATCH, &path, Some(json!({"body": "bob was here"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = bob.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let edited: Message = alice
        .ok(Method::PATCH, &path, Some(json!({"body": "hello"})))
        .await;
    assert_eq!(edited.body, "hello");
    assert!(edited.edited_at.is_some());
    let event = bob_socket.next_durable().await;
    assert!(
        matches!(&event.body, natter_protocol::EventBody::MessageEdited { message } if message.body == "hello"),
        "{event:?}"
    );

    let deleted: Message = alice.ok(Method::DELETE, &path, None).await;
    assert!(deleted.deleted_at.is_some());
    assert_eq!(deleted.body, "", "a tombstone keeps no text");
    let event = bob_socket.next_durable().await;
    assert!(
        matches!(
            event.body,
            natter_protocol::EventBody::MessageDeleted { .. }
        ),
        "{event:?}"
    );
    let history: MessagePage = bob
        .ok(
            Method::GET,
            &format!("/api/conversations/{}/messages", conversation.id),
            None,
        )
        .await;
    assert_eq!(history.messages, vec![deleted.clone()]);
    // Deleting again changes nothing; editing a tombstone is refused.
    let again: Message = alice.ok(Method::DELETE, &path, None).await;
    assert_eq!(again, deleted);
    let (status, _) = alice
        .call(Method::PATCH, &path, Some(json!({"body": "back"})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = alice
        .call(
            Method::PATCH,
            &format!(
                "/api/conversations/{}/messages/{}",
                conversation.id,
                uuid::Uuid::now_v7()
            ),
            Some(json!({"body": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn receipts_and_unread_counts_follow_every_device(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let messages = [
        alice.send(conversation.id, "1").await,
        alice.send(conversation.id, "2").await,
        alice.send(conversation.id, "3").await,
    ];
    assert_eq!(unread(&bob, conversation.id).await, 3);
    // A second device of bob's, and alice watching for receipts.
    let (status, login) = server
        .http()
        .call(
            Method::POST,
            "/api/auth/login",
            Some(json!({"username": bob.user.username, "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let bob_phone_token = login["token"].as_str().unwrap().to_owned();
    let last_seq = messages[2].seq;
    let mut bob_phone = crate::harness::Ws::connect(
        &server.url,
        &bob_phone_token,
        &[(conversation.id, last_seq)],
    )
    .await;
    let mut alice_socket = alice.connect(&[(conversation.id, last_seq)]).await;

    let read_path = format!("/api/conversations/{}/read", conversation.id);
    let state: ReadState = bob
        .ok(
            Method::POST,
            &read_path,
            Some(json!({"message_id": messages[1].id})),
        )
        .await;
    assert_eq!(state.unread_count, 1);
    assert_eq!(state.read_seq, messages[1].seq);
    for socket in [&mut bob_phone, &mut alice_socket] {
        let event = socket.next_durable().await;
        match event.body {
            natter_protocol::EventBody::ReadReceipt { user_id, read_seq } => {
                assert_eq!(user_id, bob.id());
                assert_eq!(read_seq, messages[1].seq);
            }
            other => panic!("expected a receipt, got {other:?}"),
        }
    }
    // The read position never moves back.
    let state: ReadState = bob
        .ok(
            Method::POST,
            &read_path,
            Some(json!({"message_id": messages[0].id})),
        )
        .await;
    assert_eq!(state.read_seq, messages[1].seq);
    assert_eq!(state.unread_count, 1);
    // The other device sees the same count.
    let mut phone = server.http();
    phone.token = Some(bob_phone_token);
    let (_, list) = phone.call(Method::GET, "/api/conversations", None).await;
    let list: ConversationList = serde_json::from_value(list).unwrap();
    assert_eq!(list.conversations[0].unread_count, 1);
    // Alice's view of the conversation says how far each member has read.
    let seen_by_alice = alice.conversation(conversation.id).await;
    let positions = &seen_by_alice.read_positions;
    assert_eq!(positions.len(), 2, "one position per member: {positions:?}");
    let bobs = positions
        .iter()
        .find(|position| position.user_id == bob.id())
        .expect("bob's read position");
    assert_eq!(bobs.read_seq, messages[1].seq);
    // Deleted messages stop counting.
    alice
        .call(
            Method::DELETE,
            &format!(
                "/api/conversations/{}/messages/{}",
                conversation.id, messages[2].id
            ),
            None,
        )
        .await;
    assert_eq!(unread(&bob, conversation.id).await, 0);
}

async fn search_finds_words_in_my_conversations_only(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob, carol) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
    );
    let ours = alice.direct_with(&bob).await;
    let theirs = bob.direct_with(&carol).await;
    alice
        .send(ours.id, "Meeting about the quarterly budget")
        .await;
    alice.send(ours.id, "lunch?").await;
    let newest = bob
        .send(ours.id, "the budget meeting moved to Friday")
        .await;
    carol
        .send(theirs.id, "budget secrets between bob and carol")
        .await;

    let results: SearchResults = alice
        .ok(
            Method::GET,
            "/api/search/messages?query=budget%20meet",
            None,
        )
        .await;
    assert_eq!(
        results.messages.len(),
        2,
        "prefix terms, all required: {:?}",
        results.messages
    );
    assert_eq!(results.messages[0].id, newest.id, "newest first");
    assert!(
        results
            .messages
            .iter()
            .all(|m| m.conversation_id == ours.id)
    );
    // Pages.
    let page: SearchResults = alice
        .ok(
            Method::GET,
            "/api/search/messages?query=budget&limit=1",
            None,
        )
        .await;
    let cursor = page.next_cursor.expect("a next page");
    let page: SearchResults = alice
        .ok(
            Method::GET,
            &format!("/api/search/messages?query=budget&limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.next_cursor, None);
    // Bob is in both conversations and finds all three.
    let results: SearchResults = bob
        .ok(Method::GET, "/api/search/messages?query=BUDGET", None)
        .await;
    assert_eq!(results.messages.len(), 3);
    // Query syntax is never interpreted.
    for query in ["budget%22%20OR%20*", "NEAR(budget)", "budget%20%26%20!x"] {
        let (status, body) = alice
            .call(
                Method::GET,
                &format!("/api/search/messages?query={query}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
    }
    let (status, _) = alice
        .call(Method::GET, "/api/search/messages?query=%2A%2A%2A", None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn unread(client: &crate::harness::Client, conversation_id: uuid::Uuid) -> i64 {
    client.conversation(conversation_id).await.unread_count
}
