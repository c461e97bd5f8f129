//! Bad input gets a clear JSON error with a stable code, never a 5xx, and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Backend, TestServer};

crate::on_both_backends!(
    malformed_requests_get_json_errors,
    hostile_input_never_causes_a_server_error
);

async fn raw(
    server: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", server.url))
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{status}: not a JSON body: {text:?}"));
    (status, body)
}

/// method, path, token, content type, body, expected status, expected code
type Case<'a> = (
    Method,
    String,
    Option<&'a str>,
    Option<&'a str>,
    Vec<u8>,
    StatusCode,
    &'a str,
);

async fn malformed_requests_get_json_errors(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let messages = format!("/api/conversations/{}/messages", conversation.id);
    let token = Some(alice.token.as_str());
    let json_type = Some("application/json");
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            messages.clone(),
            token,
            json_type,
            b"{not json".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Method::POST,
            messages.clone(),
            token,
            json_type,
            br#"{"client_id": 5, "body": "x"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Method::POST,
            messages.clone(),
            token,
            json_type,
            br#"{"body": "no id"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Method::POST,
            messages.clone(),
            token,
            json_type,
            b"{\"client_id\":\"0190a1b2-0000-7000-8000-000000000001\",\"body\":\"\xff\xfe\"}"
                .to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Method::POST,
            messages.clone(),
            token,
            Some("text/plain"),
            br#"{"client_id":"0190a1b2-0000-7000-8000-000000000001","body":"x"}"#.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            messages.clone(),
            token,
            json_type,
            vec![b' '; 70 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            Method::POST,
            messages.clone(),
            token,
            json_type,
            serde_json::to_vec(
                &json!({"client_id": uuid::Uuid::now_v7(), "body": "x".repeat(4001)}),
            )
            .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            Method::POST,
            messages.clone(),
            token,
            json_type,
            serde_json::to_vec(&json!({"client_id": uuid::Uuid::now_v7(), "body": " \n "}))
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Method::POST,
            messages.clone(),
            None,
            json_type,
            b"{}".to_vec(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            Method::POST,
            messages.clone(),
            Some("nat_forged"),
            json_type,
            b"{}".to_vec(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            Method::GET,
            "/api/conversations/not-a-uuid".into(),
            token,
            None,
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            Method::GET,
            format!("{messages}?before=yesterday"),
            token,
            None,
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            Method::GET,
            "/api/nothing/here".into(),
            token,
            None,
            vec![],
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::PUT,
            messages.clone(),
            token,
            None,
            vec![],
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (method, path, token, content_type, body, expected_status, expected_code) in cases {
        let (status, body) = raw(&server, method.clone(), &path, token, content_type, body).await;
        assert_eq!(status, expected_status, "{method} {path}: {body}");
        assert_eq!(
            body["error"]["code"], expected_code,
            "{method} {path}: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let history: natter_protocol::MessagePage = bob.ok(Method::GET, &messages, None).await;
    assert!(
        history.messages.is_empty(),
        "no bad request stored anything"
    );
}

/// A deterministic stream of hostile bodies against every JSON endpoint.
async fn hostile_input_never_causes_a_server_error(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let message = alice.send(conversation.id, "target").await;
    let id = conversation.id;
    let endpoints = [
        (Method::POST, "/api/auth/signup".to_owned()),
        (Method::POST, "/api/auth/login".to_owned()),
        (Method::PATCH, "/api/me".to_owned()),
        (Method::POST, "/api/conversations".to_owned()),
        (Method::POST, format!("/api/conversations/{id}/messages")),
        (
            Method::PATCH,
            format!("/api/conversations/{id}/messages/{}", message.id),
        ),
        (Method::POST, format!("/api/conversations/{id}/read")),
        (Method::POST, format!("/api/conversations/{id}/members")),
        (Method::PATCH, format!("/api/conversations/{id}")),
        (Method::GET, "/api/users?query=%00%ff&limit=-1".to_owned()),
        (
            Method::GET,
            "/api/search/messages?query=%E2%80%AE%00".to_owned(),
        ),
    ];
    let strings = [
        json!(""),
        json!("\u{0}"),
        json!("💬".repeat(5000)),
        json!("' OR 1=1; --"),
        json!("<img src=x onerror=alert(1)>"),
        json!(-1),
        json!(1e308),
        json!(i64::MAX),
        json!(null),
        json!(true),
        json!([]),
        json!({}),
        json!(vec!["x"; 300]),
        json!(uuid::Uuid::nil()),
        json!("00000000-0000-0000-0000-00000000000g"),
    ];
    let fields = [
        "username",
        "display_name",
        "password",
        "status_text",
        "kind",
        "user_id",
        "member_ids",
        "name",
        "client_id",
        "body",
        "message_id",
        "user_ids",
    ];
    let mut checked = 0;
    for (method, path) in &endpoints {
        for (index, value) in strings.iter().enumerate() {
            let mut body = serde_json::Map::new();
            for (offset, field) in fields.iter().enumerate() {
                if (index + offset) % 3 != 0 {
                    body.insert((*field).to_owned(), value.clone());
                }
            }
            body.insert(
                "kind".into(),
                json!(["direct", "group", "bogus"][index % 3]),
            );
            let (status, body) = alice
                .call(method.clone(), path, Some(Value::Object(body)))
                .await;
            assert!(
                status.is_client_error() || status.is_success(),
                "{method} {path} → {status}: {body}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, endpoints.len() * strings.len());
    // The server is still healthy and the target message untouched.
    let history: natter_protocol::MessagePage = bob
        .ok(
            Method::GET,
            &format!("/api/conversations/{id}/messages"),
            None,
        )
        .await;
    assert_eq!(history.messages.last().unwrap().body, "target");
}
