//! Crashes: the real server process killed at any moment (as by `kill -9`) while clients send.
//! An acknowledged message is never lost, and a message resent with its `client_id` after a
//! crash (as every client's outbox does when it could not tell whether a send arrived) is
//! never stored twice.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
};

use natter_protocol::{AuthResponse, Conversation, CreateConversationRequest, MessagePage};
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::harness::{Backend, Http, ServerProcess, WAIT, postgres};

crate::on_both_backends!(no_acknowledged_message_is_lost_or_stored_twice_across_kill_9);

/// What the writers know after a round.
#[derive(Default)]
struct Ledger {
    /// Answered 200 or 201: the server promised to keep these.
    acknowledged: BTreeSet<Uuid>,
    /// Sent, but the server died before answering: stored or not, nobody knows.
    unsure: Vec<Uuid>,
}

fn http(server: &ServerProcess, token: Option<&str>) -> Http {
    Http {
        client: reqwest::Client::new(),
        base: server.url(),
        token: token.map(str::to_owned),
    }
}

async fn signup(server: &ServerProcess, name: &str) -> AuthResponse {
    let (status, body) = http(server, None)
        .call(
            Method::POST,
            "/api/auth/signup",
            Some(json!({"username": name, "display_name": name, "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    serde_json::from_value(body).expect("an auth response")
}

/// Sends one message: true when acknowledged, false when the server could not answer.
async fn send(client: &reqwest::Client, url: &str, token: &str, client_id: Uuid) -> bool {
    try_send(client, url, token, client_id).await.is_some()
}

async fn try_send(client: &reqwest::Client, url: &str, token: &str, client_id: Uuid) -> Option<()> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({"client_id": client_id, "body": format!("message {client_id}")}))
        .send()
        .await
        .ok()?;
    let status = response.status();
    // The answer itself can be cut off by the crash: then it was not acknowledged.
    response.bytes().await.ok()?;
    assert!(
        status == StatusCode::CREATED || status == StatusCode::OK,
        "a send was refused with {status}"
    );
    Some(())
}

/// After how many acknowledged sends round `crash` crashes: early and late, differently
/// each time.
fn crash_point(crash: usize) -> usize {
    1 + (7 * crash) % 40
}

async fn no_acknowledged_message_is_lost_or_stored_twice_across_kill_9(backend: Backend) {
    let (crashes, database) = match backend {
        Backend::Sqlite => (25, None),
        Backend::Postgres => (10, Some(postgres().new_database().await)),
    };
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut args = vec![
        "--auth-attempts-per-ip-per-minute",
        "0",
        "--login-attempts-per-account-per-minute",
        "0",
    ];
    if let Some(url) = &database {
        args.extend(["--database-url", url.as_str()]);
    }
    let mut server = ServerProcess::start(data.path(), &args);
    let alice = signup(&server, "alice").await;
    let bob = signup(&server, "bob").await;
    let conversation: Conversation = {
        let (status, body) = http(&server, Some(&alice.token))
            .call(
                Method::POST,
                "/api/conversations",
                Some(
                    serde_json::to_value(CreateConversationRequest::Direct {
                        user_id: bob.user.id,
                    })
                    .expect("a request"),
                ),
            )
            .await;
        assert!(status.is_success(), "{status}: {body}");
        serde_json::from_value(body).expect("a conversation")
    };
    let messages = format!("/api/conversations/{}/messages", conversation.id);
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    for crash in 0..crashes {
        let url = format!("{}{messages}", server.url());
        // First, what the last crash left unsure is resent with the same client_id.
        let unsure = std::mem::take(&mut ledger.lock().expect("ledger").unsure);
        let client = reqwest::Client::new();
        for client_id in unsure {
            let answered = send(&client, &url, &alice.token, client_id).await;
            assert!(answered, "a resend after the restart is answered");
            ledger
                .lock()
                .expect("ledger")
                .acknowledged
                .insert(client_id);
        }
        // Four writers send until the server dies under them.
        let (acked, mut acks) = tokio::sync::watch::channel(0usize);
        let acked = Arc::new(acked);
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let (client, url, token) = (client.clone(), url.clone(), alice.token.clone());
                let (ledger, acked) = (ledger.clone(), acked.clone());
                tokio::spawn(async move {
                    loop {
                        let client_id = Uuid::now_v7();
                        if send(&client, &url, &token, client_id).await {
                            ledger
                                .lock()
                                .expect("ledger")
                                .acknowledged
                                .insert(client_id);
                            acked.send_modify(|count| *count += 1);
                        } else {
                            ledger.lock().expect("ledger").unsure.push(client_id);
                            return;
                        }
                    }
                })
            })
            .collect();
        // Crash at a different point each round, while sends are in flight.
        let crash_after = crash_point(crash);
        tokio::time::timeout(WAIT, acks.wait_for(|count| *count >= crash_after))
            .await
            .expect("the writers make progress")
            .expect("the writers are running");
        server.kill();
        for writer in writers {
            tokio::time::timeout(WAIT, writer)
                .await
                .expect("a writer notices the crash")
                .expect("a writer does not panic");
        }
        server = ServerProcess::start(data.path(), &args);
    }

    let url = format!("{}{messages}", server.url());
    let unsure = std::mem::take(&mut ledger.lock().expect("ledger").unsure);
    let client = reqwest::Client::new();
    for client_id in unsure {
        assert!(
            send(&client, &url, &alice.token, client_id).await,
            "a resend after the last restart is answered"
        );
        ledger
            .lock()
            .expect("ledger")
            .acknowledged
            .insert(client_id);
    }

    // Everything stored, read back as bob sees it.
    let reader = http(&server, Some(&bob.token));
    let mut stored: HashMap<Uuid, usize> = HashMap::new();
    let mut last_seq = 0;
    loop {
        let (status, body) = reader
            .call(
                Method::GET,
                &format!("{messages}?after={last_seq}&limit=200"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: MessagePage = serde_json::from_value(body).expect("a page");
        for message in &page.messages {
            assert!(message.seq > last_seq, "history comes in seq order, once");
            last_seq = message.seq;
            *stored.entry(message.client_id).or_default() += 1;
        }
        if !page.has_more {
            break;
        }
    }
    let acknowledged = &ledger.lock().expect("ledger").acknowledged;
    let doubled: Vec<_> = stored.iter().filter(|(_, count)| **count > 1).collect();
    assert!(doubled.is_empty(), "stored twice: {doubled:?}");
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|client_id| !stored.contains_key(client_id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged messages were lost across {crashes} crashes: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    assert_eq!(
        stored.len(),
        acknowledged.len(),
        "nothing stored that no client sent"
    );
    assert!(
        acknowledged.len() >= (0..crashes).map(crash_point).sum::<usize>(),
        "every round sent before its crash"
    );
}
