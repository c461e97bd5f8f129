//! Direct and group conversations, membership, the conversation list.

use natter_protocol::{Conversation, ConversationKind, ConversationList};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Backend, TestServer};

crate::on_both_backends!(
    one_direct_conversation_per_pair,
    groups_are_managed_by_their_owner,
    list_is_ordered_by_activity_with_preview_and_unread,
    non_members_cannot_tell_a_conversation_exists,
);

async fn one_direct_conversation_per_pair(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let (status, first) = alice
        .call(
            Method::POST,
            "/api/conversations",
            Some(json!({"kind": "direct", "user_id": bob.id()})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // From either side, it is the same conversation.
    let (status, again) = bob
        .call(
            Method::POST,
            "/api/conversations",
            Some(json!({"kind": "direct", "user_id": alice.id()})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["id"], again["id"]);
    let conversation: Conversation = serde_json::from_value(again).unwrap();
    assert_eq!(conversation.kind, ConversationKind::Direct);
    assert_eq!(conversation.members.len(), 2);

    let (status, body) = alice
        .call(
            Method::POST,
            "/api/conversations",
            Some(json!({"kind": "direct", "user_id": alice.id()})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = alice
        .call(
            Method::POST,
            "/api/conversations",
            Some(json!({"kind": "direct", "user_id": uuid::Uuid::now_v7()})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Direct conversations cannot be left or grown.
    let (status, _) = alice
        .call(
            Method::DELETE,
            &format!(
                "/api/conversations/{}/members/{}",
                conversation.id,
                alice.id()
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn groups_are_managed_by_their_owner(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob, carol, dave) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
        server.user("dave").await,
    );
    let group = alice.group("Tea party", &[&bob, &carol]).await;
    assert_eq!(group.kind, ConversationKind::Group);
    assert_eq!(group.name.as_deref(), Some("Tea party"));
    assert_eq!(group.owner_id, Some(alice.id()));
    assert_eq!(group.members.len(), 3);
    let members_path = format!("/api/conversations/{}/members", group.id);

    // A member who is not the owner cannot add or remove anyone, or rename.
    let (status, _) = bob
        .call(
            Method::POST,
            &members_path,
            Some(json!({"user_ids": [dave.id()]})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = bob
        .call(
            Method::DELETE,
            &format!("{members_path}/{}", carol.id()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = bob
        .call(
            Method::PATCH,
            &format!("/api/conversations/{}", group.id),
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The owner adds and removes.
    let grown: Conversation = alice
        .ok(
            Method::POST,
            &members_path,
            Some(json!({"user_ids": [dave.id()]})),
        )
        .await;
    assert_eq!(grown.members.len(), 4);
    let (status, _) = alice
        .call(
            Method::DELETE,
            &format!("{members_path}/{}", carol.id()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = carol
        .call(
            Method::GET,
            &format!("/api/conversations/{}", group.id),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a removed member no longer sees the group"
    );
    let renamed: Conversation = alice
        .ok(
            Method::PATCH,
            &format!("/api/conversations/{}", group.id),
            Some(json!({"name": "Mad tea party"})),
        )
        .await;
    assert_eq!(renamed.name.as_deref(), Some("Mad tea party"));

    // Anyone can leave; when the owner leaves, the longest-standing member takes over.
    let (status, _) = alice
        .call(
            Method::DELETE,
            &format!("{members_path}/{}", alice.id()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let after = bob.conversation(group.id).await;
    assert_eq!(after.owner_id, Some(bob.id()));
    let mut names: Vec<_> = after
        .members
        .iter()
        .map(|m| m.display_name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["bob", "dave"]);
    let (status, _) = dave
        .call(
            Method::DELETE,
            &format!("{members_path}/{}", dave.id()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(bob.conversation(group.id).await.members.len(), 1);

    let (status, body) = alice
        .call(
            Method::POST,
            "/api/conversations",
            Some(json!({"kind": "group", "name": "", "member_ids": []})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let too_many: Vec<uuid::Uuid> = (0..300).map(|_| uuid::Uuid::now_v7()).collect();
    let (status, _) = alice
        .call(
            Method::POST,
            "/api/conversations",
            Some(json!({"kind": "group", "name": "big", "member_ids": too_many})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn list_is_ordered_by_activity_with_preview_and_unread(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob, carol) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
    );
    let with_bob = alice.direct_with(&bob).await;
    let with_carol = alice.direct_with(&carol).await;
    bob.send(with_bob.id, "one").await;
    bob.send(with_bob.id, "two").await;
    carol.send(with_carol.id, "hello").await;
    let list: ConversationList = alice.ok(Method::GET, "/api/conversations", None).await;
    let ids: Vec<_> = list.conversations.iter().map(|c| c.id).collect();
    assert_eq!(ids, [with_carol.id, with_bob.id], "newest activity first");
    assert_eq!(
        list.conversations[0].last_message.as_ref().unwrap().body,
        "hello"
    );
    assert_eq!(list.conversations[1].unread_count, 2);
    assert_eq!(list.conversations[0].unread_count, 1);
    // My own messages never count as unread for me.
    let bobs: ConversationList = bob.ok(Method::GET, "/api/conversations", None).await;
    assert_eq!(bobs.conversations[0].unread_count, 0);
    // New activity moves a conversation to the top.
    bob.send(with_bob.id, "three").await;
    let list: ConversationList = alice.ok(Method::GET, "/api/conversations", None).await;
    assert_eq!(list.conversations[0].id, with_bob.id);
    assert_eq!(
        list.conversations[0].last_message.as_ref().unwrap().body,
        "three"
    );
}

async fn non_members_cannot_tell_a_conversation_exists(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob, eve) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("eve").await,
    );
    let private = alice.direct_with(&bob).await;
    let message = alice.send(private.id, "secret").await;
    let missing = uuid::Uuid::now_v7();
    let probes = |conversation: uuid::Uuid| {
        vec![
            (
                Method::GET,
                format!("/api/conversations/{conversation}"),
                None,
            ),
            (
                Method::GET,
                format!("/api/conversations/{conversation}/messages"),
                None,
            ),
            (
                Method::POST,
                format!("/api/conversations/{conversation}/messages"),
                Some(json!({"client_id": uuid::Uuid::now_v7(), "body": "let me in"})),
            ),
            (
                Method::PATCH,
                format!("/api/conversations/{conversation}/messages/{}", message.id),
                Some(json!({"body": "edited by eve"})),
            ),
            (
                Method::DELETE,
                format!("/api/conversations/{conversation}/messages/{}", message.id),
                None,
            ),
            (
                Method::POST,
                format!("/api/conversations/{conversation}/read"),
                Some(json!({"message_id": message.id})),
            ),
            (
                Method::POST,
                format!("/api/conversations/{conversation}/typing"),
                None,
            ),
            (
                Method::POST,
                format!("/api/conversations/{conversation}/members"),
                Some(json!({"user_ids": [eve.id()]})),
            ),
            (
                Method::PATCH,
                format!("/api/conversations/{conversation}"),
                Some(json!({"name": "x"})),
            ),
        ]
    };
    for ((method, path, body), (_, missing_path, missing_body)) in
        probes(private.id).into_iter().zip(probes(missing))
    {
        let existing = eve.call(method.clone(), &path, body).await;
        let absent = eve.call(method.clone(), &missing_path, missing_body).await;
        assert_eq!(
            existing.0,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            existing.1
        );
        assert_eq!(
            existing, absent,
            "{method} {path} must look like a missing conversation"
        );
    }
    // Nothing eve tried changed anything.
    let history: natter_protocol::MessagePage = alice
        .ok(
            Method::GET,
            &format!("/api/conversations/{}/messages", private.id),
            None,
        )
        .await;
    assert_eq!(history.messages.len(), 1);
    assert_eq!(history.messages[0].body, "secret");
    assert_eq!(history.messages[0].edited_at, None);
    // And search does not reach into it.
    let results: natter_protocol::SearchResults = eve
        .ok(Method::GET, "/api/search/messages?query=secret", None)
        .await;
    assert!(results.messages.is_empty());
}
