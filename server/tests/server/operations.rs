//! Health, readiness, metrics, stats, the OpenAPI document.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::harness::{Backend, TestServer};

crate::on_both_backends!(operators_can_watch_the_server);

async fn operators_can_watch_the_server(backend: Backend) {
    let server = TestServer::start(backend).await;
    let get = |path: &str| reqwest::get(format!("{}{path}", server.url));
    assert_eq!(get("/healthz").await.unwrap().status(), StatusCode::OK);
    assert_eq!(get("/readyz").await.unwrap().text().await.unwrap(), "ready");

    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let _socket = bob.connect(&[]).await;
    alice.send(conversation.id, "counted").await;
    let stats: Value = get("/api/stats").await.unwrap().json().await.unwrap();
    assert_eq!(stats["users_online"], 1);
    assert_eq!(stats["connections"], 1);

    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    for expected in [
        "natter_websocket_connections 1",
        "natter_users_online 1",
        "natter_messages_sent_total 1",
        "natter_http_request_duration_seconds_bucket",
        r#"route="/api/conversations/{conversation_id}/messages""#,
    ] {
        assert!(
            metrics.contains(expected),
            "metrics lack {expected}:\n{metrics}"
        );
    }
    assert!(!metrics.contains(&alice.token), "no token in metrics");

    let document: Value = get("/api/openapi.json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/api/auth/signup",
        "/api/conversations/{conversation_id}/messages",
        "/api/search/messages",
        "/api/ws",
    ] {
        assert!(paths.contains_key(path), "OpenAPI lacks {path}");
    }
    assert!(document["components"]["schemas"]["Message"].is_object());
    let (status, _) = alice.call(Method::GET, "/api/me", None).await;
    assert_eq!(status, StatusCode::OK);
}
