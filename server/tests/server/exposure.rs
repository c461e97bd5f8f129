//! A server exposed to the internet without a proxy: clients that never read, connections
//! that never become a request, floods of connections from one address, bodies that are not
//! objects, browser pages from foreign origins, and the headers every answer carries.
//!
//! None of this depends on the database, so these run on SQLite only.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use futures_util::SinkExt;
use natter_protocol::{ErrorCode, ServerFrame};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage, client::IntoClientRequest};

use crate::harness::{Backend, TestServer, ws_url};
#[cfg(target_os = "linux")]
use crate::harness::{ServerProcess, resident_bytes};

fn address(server: &TestServer) -> SocketAddr {
    server.config.listen
}

/// Opens a TCP connection to the server from `source` (any address in 127.0.0.0/8).
async fn connect_from(source: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .bind(SocketAddr::from((source, 0)))
        .expect("binds to a loopback address");
    socket.connect(server).await.expect("connects")
}

/// Waits until the server closes `stream` (end of file or reset), failing after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration, what: &str) -> Duration {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => panic!("{what}: still open after {limit:?}"),
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            // A 408 or similar before the close is fine: keep reading to the end.
            Ok(Ok(_)) => continue,
        }
    }
}

/// A GET /healthz on an open connection; true when it answers 200.
async fn healthz_on(stream: &mut TcpStream) -> bool {
    let request = b"GET /healthz HTTP/1.1\r\nHost: natter\r\nConnection: close\r\n\r\n";
    if stream.write_all(request).await.is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let read = tokio::time::timeout(crate::harness::WAIT, stream.read_to_end(&mut answer)).await;
    matches!(read, Ok(Ok(_))) && answer.starts_with(b"HTTP/1.1 200")
}

/// Issue 14, item 9: connections that send nothing, or only part of a request, are closed
/// after the client timeout, and so is a keep-alive connection left idle after a request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_are_closed() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.client_timeout_seconds = 0.5;
    })
    .await;
    let target = address(&server);
    let mut silent = Vec::new();
    let mut half_sent = Vec::new();
    for _ in 0..5 {
        silent.push(TcpStream::connect(target).await.expect("connects"));
        let mut stream = TcpStream::connect(target).await.expect("connects");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: natter\r\nX-Slow: ")
            .await
            .expect("half a request is sent");
        half_sent.push(stream);
    }
    let limit = Duration::from_secs(10);
    for stream in &mut silent {
        closed_within(stream, limit, "a connection that sends nothing").await;
    }
    for stream in &mut half_sent {
        closed_within(stream, limit, "a connection that sends half a request").await;
    }
    // A keep-alive connection is served, then closed once idle.
    let mut kept = TcpStream::connect(target).await.expect("connects");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: natter\r\n\r\n")
        .await
        .expect("a request is sent");
    let mut answer = [0u8; 12];
    kept.read_exact(&mut answer).await.expect("an answer");
    assert_eq!(&answer, b"HTTP/1.1 200");
    closed_within(&mut kept, limit, "an idle keep-alive connection").await;
}

/// Issue 14, item 9: one address cannot hold more connections than the cap; others are not
/// affected, and a closed connection frees its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_from_one_address_are_capped() {
    const CAP: usize = 20;
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.max_connections_per_ip = Some(CAP);
        // Long enough that the held connections stay open through the test.
        config.client_timeout_seconds = 120.0;
    })
    .await;
    let target = address(&server);
    let flooder = [127, 0, 0, 2];
    let mut held = Vec::new();
    for _ in 0..CAP {
        held.push(connect_from(flooder, target).await);
    }
    let mut refused = connect_from(flooder, target).await;
    closed_within(
        &mut refused,
        Duration::from_secs(5),
        "a connection over the per-address cap",
    )
    .await;
    // Another address is served while the flooder holds its cap.
    let mut other = connect_from([127, 0, 0, 1], target).await;
    assert!(
        healthz_on(&mut other).await,
        "another address is served while one address holds its cap"
    );
    // A held connection is a real one: it can still make a request.
    assert!(healthz_on(&mut held[0]).await);
    // Its close gave its place back (the server may take a moment to see the close).
    drop(held.remove(0));
    let deadline = Instant::now() + crate::harness::WAIT;
    loop {
        let mut again = connect_from(flooder, target).await;
        if healthz_on(&mut again).await {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a place freed by a closed connection was never given back"
        );
        tokio::task::yield_now().await;
    }
}

/// A masked client ping frame with a 125-byte payload (the largest a control frame carries).
fn ping_frame() -> Vec<u8> {
    let mask = [0x11, 0x22, 0x33, 0x44];
    let mut frame = vec![0x89, 0x80 | 125];
    frame.extend_from_slice(&mask);
    frame.extend((0..125).map(|index| b'p' ^ mask[index % 4]));
    frame
}

/// Issue 14, item 8: a signed-in socket that pings as fast as it can without ever reading
/// cannot grow the server's memory: the pongs waiting for it are capped, and it is cut off
/// like any client too slow to read. Run against the real binary, whose memory is its own.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_pings_without_reading_cannot_grow_the_servers_memory() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let server = ServerProcess::start(data.path(), &["--heartbeat-seconds", "0.5"]);
    let url = format!("http://{}", server.address);
    let token = &server.sign_up("pinger").await;
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url(&url))
        .await
        .expect("the WebSocket connects");
    socket
        .send(WsMessage::text(
            json!({"type": "hello", "token": token}).to_string(),
        ))
        .await
        .expect("hello is sent");
    let ready = futures_util::StreamExt::next(&mut socket).await;
    assert!(
        matches!(&ready, Some(Ok(WsMessage::Text(text))) if text.contains("ready")),
        "{ready:?}"
    );
    let tokio_tungstenite::MaybeTlsStream::Plain(mut raw) = socket.into_inner() else {
        panic!("a plain TCP connection");
    };

    let before = resident_bytes(server.pid());
    const BURST: u64 = 2000;
    let burst: Vec<u8> = std::iter::repeat_n(ping_frame(), BURST as usize)
        .flatten()
        .collect();
    let started = Instant::now();
    let flood_for = Duration::from_secs(5);
    let mut peak = before;
    let mut pings = 0u64;
    let cut_off = loop {
        match tokio::time::timeout(Duration::from_millis(100), raw.write_all(&burst)).await {
            Ok(Ok(())) => pings += BURST,
            Ok(Err(_)) => break true,
            // The server is not reading us right now: keep measuring.
            Err(_) => {}
        }
        peak = peak.max(resident_bytes(server.pid()));
        if started.elapsed() > flood_for {
            break false;
        }
    };
    let grown = peak.saturating_sub(before);
    assert!(
        grown < 16 * 1024 * 1024,
        "the server grew by {} MiB while {pings} pings went unanswered (cut off: {cut_off})",
        grown / (1024 * 1024)
    );
    assert!(
        cut_off || pings > 100_000,
        "the flood was too small to show anything: {pings} pings"
    );
}

/// Issue 14, item 10: a body must be a JSON object; an array of the fields in order is
/// refused (and changes nothing), on REST and on the WebSocket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrays_are_refused_where_objects_are_required() {
    let server = TestServer::start(Backend::Sqlite).await;
    let alice = server.user("alice").await;
    let (status, body) = alice
        .call(Method::PATCH, "/api/me", Some(json!(["Mallory", "hi"])))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json")),
        "{body}"
    );
    let (_, me) = alice.call(Method::GET, "/api/me", None).await;
    assert_eq!(
        me["display_name"], "alice",
        "the refused update changed nothing"
    );

    let (status, body) = server
        .http()
        .call(
            Method::POST,
            "/api/auth/signup",
            Some(json!(["mallory", "Mallory", "correct horse battery", null])),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json")),
        "{body}"
    );

    let mut ws = alice.connect(&[]).await;
    ws.send_text(r#"["typing", "0190a8f3-0a1b-7c2d-8e3f-4a5b6c7d8e01"]"#)
        .await;
    match ws.next().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::InvalidJson),
        other => panic!("expected an invalid_json error, got {other:?}"),
    }
}

/// Issue 14, item 11: every answer says it is not to be sniffed, framed or sent as a
/// referrer, and answers with tokens or personal data are not to be cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_carry_the_security_headers() {
    let server = TestServer::start(Backend::Sqlite).await;
    let client = reqwest::Client::new();
    let signup = client
        .post(format!("{}/api/auth/signup", server.url))
        .json(&json!({"username": "carl", "display_name": "Carl", "password": "correct horse battery"}))
        .send()
        .await
        .expect("sign-up answers");
    assert_eq!(signup.status(), StatusCode::CREATED);
    let headers = signup.headers().clone();
    let token = signup.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let mut answers = vec![("signup", headers)];
    let login = client
        .post(format!("{}/api/auth/login", server.url))
        .json(&json!({"username": "carl", "password": "correct horse battery"}))
        .send()
        .await
        .expect("log-in answers");
    answers.push(("login", login.headers().clone()));
    for path in [
        "/api/me",
        "/api/sessions",
        "/api/conversations",
        "/api/nowhere",
    ] {
        let answer = client
            .get(format!("{}{path}", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("answers");
        answers.push((path, answer.headers().clone()));
    }
    for (what, headers) in &answers {
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            ("cache-control", "no-store"),
        ] {
            assert_eq!(
                headers.get(name).and_then(|value| value.to_str().ok()),
                Some(value),
                "{what}: {name}"
            );
        }
        let policy = headers
            .get("content-security-policy")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        assert!(
            policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'none'"),
            "{what}: content-security-policy {policy:?}"
        );
    }
}

/// Upgrades to the WebSocket with `origin`: the HTTP status (101 when it upgraded) and the
/// body of a refusal.
async fn upgrade(server: &TestServer, token: &str, origin: Option<&str>) -> (u16, String) {
    let mut request = ws_url(&server.url)
        .into_client_request()
        .expect("a request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header"),
    );
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("a header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((mut stream, response)) => {
            let _ = stream.close(None).await;
            (response.status().as_u16(), String::new())
        }
        Err(tungstenite::Error::Http(response)) => (
            response.status().as_u16(),
            String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned(),
        ),
        Err(other) => panic!("the upgrade failed otherwise: {other}"),
    }
}

/// Issue 14, item 12: a browser page from a foreign origin cannot open the realtime socket;
/// native clients (no `Origin`), the app's own web view, the server's own origin and the
/// origins the operator lists can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_browser_origins_cannot_open_the_socket() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.allowed_origins = vec!["https://web.example.org".into()];
    })
    .await;
    let alice = server.user("alice").await;
    let own_origin = server.url.clone();
    for (origin, expected) in [
        (Some("https://evil.example"), 403),
        (Some("null"), 403),
        (None, 101),
        (Some("tauri://localhost"), 101),
        (Some("https://web.example.org"), 101),
        (Some(own_origin.as_str()), 101),
    ] {
        let (status, body) = upgrade(&server, &alice.token, origin).await;
        assert_eq!(status, expected, "Origin {origin:?}: {body}");
        if status == 403 {
            let error: Value = serde_json::from_str(&body).expect("a JSON error body");
            assert_eq!(error["error"]["code"], "forbidden", "{body}");
        }
    }
}
