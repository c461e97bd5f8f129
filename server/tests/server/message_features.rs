//! Replies, reactions, mentions and muting a conversation (protocol 2.2, 3.3, 3.4, 4.4).

use natter_protocol::{Conversation, EventBody, Message, MessagePage, ServerFrame};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Backend, Client, TestServer};

crate::on_both_backends!(
    a_reply_names_a_message_of_its_conversation,
    reactions_are_one_per_user_and_emoji_live_and_in_history,
    reactions_refuse_what_is_not_an_emoji_and_deleted_messages,
    mentions_are_the_members_a_message_names,
    muting_is_mine_alone_and_reaches_my_devices,
);

fn messages_path(conversation: &Conversation) -> String {
    format!("/api/conversations/{}/messages", conversation.id)
}

async fn reply(client: &Client, conversation: &Conversation, body: &str, to: Message) -> Message {
    client
        .ok(
            Method::POST,
            &messages_path(conversation),
            Some(json!({"client_id": uuid::Uuid::now_v7(), "body": body, "reply_to": to.id})),
        )
        .await
}

/// Percent-encodes an emoji for the path, as a client must.
fn reaction_path(message: &Message, emoji: &str) -> String {
    let encoded: String = emoji.bytes().map(|byte| format!("%{byte:02X}")).collect();
    format!(
        "/api/conversations/{}/messages/{}/reactions/{encoded}",
        message.conversation_id, message.id
    )
}

async fn a_reply_names_a_message_of_its_conversation(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob, carol) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
    );
    let direct = alice.direct_with(&bob).await;
    let original = alice.send(direct.id, "Thursday?").await;
    let answer = reply(&bob, &direct, "Yes!", original.clone()).await;
    assert_eq!(answer.reply_to, Some(original.id));

    // The original is fetched one by one, as a client does for a quote not at hand.
    let path = format!("{}/{}", messages_path(&direct), original.id);
    let fetched: Message = bob.ok(Method::GET, &path, None).await;
    assert_eq!(fetched, original);
    let (status, _) = carol.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a non-member learns nothing");

    // A message of another conversation, or one from before I joined, cannot be answered.
    let group = alice.group("Book club", &[&bob]).await;
    let early = alice.send(group.id, "before carol").await;
    let (status, error) = alice
        .call(
            Method::POST,
            &messages_path(&group),
            Some(json!({"client_id": uuid::Uuid::now_v7(), "body": "x", "reply_to": original.id})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("reply_to")),
        "the error names the field: {error}"
    );
    let (status, _) = alice
        .call(
            Method::POST,
            &format!("/api/conversations/{}/members", group.id),
            Some(json!({"user_ids": [carol.id()]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = carol
        .call(
            Method::POST,
            &messages_path(&group),
            Some(json!({"client_id": uuid::Uuid::now_v7(), "body": "x", "reply_to": early.id})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A deleted original: the reply keeps pointing at it, and fetching it shows the tombstone.
    let (status, _) = alice.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let tombstone: Message = bob.ok(Method::GET, &path, None).await;
    assert!(tombstone.deleted_at.is_some() && tombstone.body.is_empty());
    let history: MessagePage = bob.ok(Method::GET, &messages_path(&direct), None).await;
    assert_eq!(
        history.messages.last().map(|message| message.reply_to),
        Some(Some(original.id))
    );

    // A resend is the same message only with the same reply_to.
    let client_id = uuid::Uuid::now_v7();
    let first = json!({"client_id": client_id, "body": "again", "reply_to": answer.id});
    let (status, _) = bob
        .call(Method::POST, &messages_path(&direct), Some(first.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = bob
        .call(Method::POST, &messages_path(&direct), Some(first))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = bob
        .call(
            Method::POST,
            &messages_path(&direct),
            Some(json!({"client_id": client_id, "body": "again"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
}

async fn reactions_are_one_per_user_and_emoji_live_and_in_history(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let message = alice.send(conversation.id, "Party on Friday").await;
    let mut bob_socket = bob.connect(&[(conversation.id, message.seq)]).await;

    let reacted: Message = bob
        .ok(Method::PUT, &reaction_path(&message, "👍"), None)
        .await;
    assert_eq!(reacted.reactions.len(), 1);
    assert_eq!(reacted.reactions[0].emoji, "👍");
    assert_eq!(reacted.reactions[0].user_ids, [bob.id()]);
    let event = bob_socket.next_durable().await;
    assert_eq!(
        event.body,
        EventBody::ReactionAdded {
            message_id: message.id,
            user_id: bob.id(),
            emoji: "👍".into()
        }
    );

    // Again: nothing changes and no event is sent (the next event is alice's reaction).
    let again: Message = bob
        .ok(Method::PUT, &reaction_path(&message, "👍"), None)
        .await;
    assert_eq!(again.reactions, reacted.reactions);
    let both: Message = alice
        .ok(Method::PUT, &reaction_path(&message, "👍"), None)
        .await;
    assert_eq!(both.reactions[0].user_ids, [bob.id(), alice.id()]);
    let event = bob_socket.next_durable().await;
    assert_eq!(event.seq, message.seq + 2, "one event per change");
    assert!(
        matches!(event.body, EventBody::ReactionAdded { user_id, .. } if user_id == alice.id())
    );

    // Another emoji goes after the first; a skin tone is its own emoji.
    let party: Message = alice
        .ok(Method::PUT, &reaction_path(&message, "🎉"), None)
        .await;
    let tone: Message = bob
        .ok(Method::PUT, &reaction_path(&message, "👍🏽"), None)
        .await;
    assert_eq!(
        tone.reactions
            .iter()
            .map(|reaction| reaction.emoji.as_str())
            .collect::<Vec<_>>(),
        ["👍", "🎉", "👍🏽"]
    );
    assert_eq!(party.reactions.len(), 2);

    // Taken back: bob leaves the 👍 entry, then the 👍🏽 entry disappears.
    let _: Message = bob
        .ok(Method::DELETE, &reaction_path(&message, "👍"), None)
        .await;
    let left: Message = bob
        .ok(Method::DELETE, &reaction_path(&message, "👍🏽"), None)
        .await;
    assert_eq!(
        left.reactions
            .iter()
            .map(|reaction| (reaction.emoji.as_str(), reaction.user_ids.clone()))
            .collect::<Vec<_>>(),
        [("👍", vec![alice.id()]), ("🎉", vec![alice.id()])]
    );
    let _ = bob_socket.next_durable().await; // 🎉
    let _ = bob_socket.next_durable().await; // 👍🏽
    let event = bob_socket.next_durable().await;
    assert_eq!(
        event.body,
        EventBody::ReactionRemoved {
            message_id: message.id,
            user_id: bob.id(),
            emoji: "👍".into()
        }
    );
    // Removing what is not there sends nothing either.
    let _: Message = bob
        .ok(Method::DELETE, &reaction_path(&message, "👍"), None)
        .await;

    // History, the single message and the conversation's last message all carry them.
    let history: MessagePage = bob
        .ok(Method::GET, &messages_path(&conversation), None)
        .await;
    assert_eq!(history.messages[0].reactions, left.reactions);
    let listed = bob.conversation(conversation.id).await;
    assert_eq!(
        listed.last_message.map(|last| last.reactions),
        Some(left.reactions.clone())
    );

    // A device resuming from before the message replays every change in order.
    let mut replay = bob.connect(&[(conversation.id, message.seq)]).await;
    let mut kinds = Vec::new();
    for _ in 0..5 {
        kinds.push(match replay.next_durable().await.body {
            EventBody::ReactionAdded { emoji, .. } => format!("+{emoji}"),
            EventBody::ReactionRemoved { emoji, .. } => format!("-{emoji}"),
            other => panic!("unexpected {other:?}"),
        });
    }
    assert_eq!(kinds, ["+👍", "+👍", "+🎉", "+👍🏽", "-👍"]);
}

async fn reactions_refuse_what_is_not_an_emoji_and_deleted_messages(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob, carol) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
    );
    let conversation = alice.direct_with(&bob).await;
    let message = alice.send(conversation.id, "hello").await;
    for not_one in ["a", "👍👍", "👍 ", "", ":+1:"] {
        let path = if not_one.is_empty() {
            format!("{}/%20", reaction_path(&message, "").trim_end_matches('/'))
        } else {
            reaction_path(&message, not_one)
        };
        let (status, body) = bob.call(Method::PUT, &path, None).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{not_one:?} is refused: {body}"
        );
    }
    // With or without the emoji presentation selector, a heart is one reaction.
    let _: Message = bob
        .ok(Method::PUT, &reaction_path(&message, "\u{2764}"), None)
        .await;
    let hearts: Message = alice
        .ok(
            Method::PUT,
            &reaction_path(&message, "\u{2764}\u{fe0f}"),
            None,
        )
        .await;
    assert_eq!(hearts.reactions.len(), 1, "{:?}", hearts.reactions);
    assert_eq!(hearts.reactions[0].emoji, "\u{2764}\u{fe0f}");

    let (status, _) = carol
        .call(Method::PUT, &reaction_path(&message, "👍"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a non-member");

    // Twenty different emoji at most.
    let many = [
        "😀", "😃", "😄", "😁", "😆", "😅", "🤣", "😂", "🙂", "🙃", "😉", "😊", "😇", "🥰", "😍",
        "🤩", "😘", "😗", "😚",
    ];
    for emoji in many {
        let _: Message = bob
            .ok(Method::PUT, &reaction_path(&message, emoji), None)
            .await;
    }
    let (status, _) = bob
        .call(Method::PUT, &reaction_path(&message, "🐢"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "a 21st emoji");
    let _: Message = alice
        .ok(Method::PUT, &reaction_path(&message, "😀"), None)
        .await;

    // A deleted message loses its reactions and takes no more.
    let path = format!("{}/{}", messages_path(&conversation), message.id);
    let tombstone: Message = alice.ok(Method::DELETE, &path, None).await;
    assert!(tombstone.reactions.is_empty());
    let (status, _) = bob
        .call(Method::PUT, &reaction_path(&message, "👍"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let fetched: Message = bob.ok(Method::GET, &path, None).await;
    assert!(fetched.reactions.is_empty());
}

async fn mentions_are_the_members_a_message_names(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob, carol, dave) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
        server.user("dave").await,
    );
    let group = alice.group("Book club", &[&bob, &carol]).await;
    let (bob_name, carol_name, dave_name) = (
        &bob.user.username,
        carol.user.username.to_uppercase(),
        &dave.user.username,
    );
    let sent = alice
        .send(
            group.id,
            &format!(
                "@{carol_name}, and @{dave_name} (not here), mail {bob_name}@example.com, \
                 `@{bob_name}` is code; @{carol_name} again"
            ),
        )
        .await;
    assert_eq!(sent.mentions, [carol.id()]);

    let path = format!("{}/{}", messages_path(&group), sent.id);
    let edited: Message = alice
        .ok(
            Method::PATCH,
            &path,
            Some(json!({"body": format!("@{bob_name}. and @{carol_name}")})),
        )
        .await;
    assert_eq!(edited.mentions, [bob.id(), carol.id()]);
    let history: MessagePage = carol.ok(Method::GET, &messages_path(&group), None).await;
    assert_eq!(
        history
            .messages
            .last()
            .map(|message| message.mentions.clone()),
        Some(vec![bob.id(), carol.id()])
    );
    let tombstone: Message = alice.ok(Method::DELETE, &path, None).await;
    assert!(tombstone.mentions.is_empty());
}

async fn muting_is_mine_alone_and_reaches_my_devices(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob, carol) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
    );
    let group = alice.group("Book club", &[&bob]).await;
    assert!(!alice.conversation(group.id).await.muted);
    let laptop = alice.second_device().await;
    let mut laptop_socket = laptop.connect(&[(group.id, group.last_seq)]).await;

    let mute = format!("/api/conversations/{}/mute", group.id);
    let (status, _) = alice.call(Method::PUT, &mute, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        laptop_socket.next_live().await,
        ServerFrame::ConversationMuted {
            conversation_id: group.id,
            muted: true
        }
    );
    assert!(alice.conversation(group.id).await.muted);
    assert!(
        laptop.conversation(group.id).await.muted,
        "every device of mine"
    );
    assert!(!bob.conversation(group.id).await.muted, "nobody else's");
    let (status, _) = alice.call(Method::PUT, &mute, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "muting again is fine");

    let (status, _) = carol.call(Method::PUT, &mute, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a non-member");

    let (status, _) = alice.call(Method::DELETE, &mute, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        laptop_socket.next_live().await,
        ServerFrame::ConversationMuted {
            conversation_id: group.id,
            muted: true
        }
    );
    assert_eq!(
        laptop_socket.next_live().await,
        ServerFrame::ConversationMuted {
            conversation_id: group.id,
            muted: false
        }
    );
    assert!(!alice.conversation(group.id).await.muted);
}
