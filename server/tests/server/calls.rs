//! Calls: the ICE servers handed to devices, with TURN REST credentials.

use reqwest::{Method, StatusCode};

use crate::harness::{Backend, TestServer};

crate::on_both_backends!(devices_get_stun_and_short_lived_turn_credentials);

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
    assert_eq!(plain["ice_servers"], serde_json::json!([]));
    assert!(plain["expires_at"].is_null());

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
