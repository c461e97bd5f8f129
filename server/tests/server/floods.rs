//! What held when the server was probed as an attacker would, kept as tests (issue 14): huge
//! bodies are refused before they are read, with flat memory; a body that stops half way is
//! cut off; the per-address cap follows a connection into a WebSocket; and a socket flooding
//! the server with frames slows only itself.
//!
//! None of this depends on the database, so these run on SQLite only.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use natter_protocol::{ClientFrame, ConversationId, ServerFrame};
use reqwest::Method;
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::harness::{Backend, TestServer, WAIT, ws_url};

/// What a client saw when it tried to send a body of `announced` bytes.
#[derive(Debug)]
struct Upload {
    /// Body bytes the server took before it answered or closed.
    sent: u64,
    /// The start of the server's answer (empty when it only reset the connection).
    answer: String,
}

/// Sends `head` and then up to `body_bytes` of body in 64 KiB pieces (as HTTP chunks when
/// `chunked`), reading the server's answer at the same time; stops when the server answers or
/// closes, or when the whole body is sent.
async fn upload(address: &str, head: &str, body_bytes: u64, chunked: bool) -> Upload {
    const PIECE: usize = 64 * 1024;
    let stream = TcpStream::connect(address).await.expect("connects");
    let (mut reader, mut writer) = stream.into_split();
    let answered = tokio::spawn(async move {
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        // A reset after the answer (the server does not drain what it refused) is expected.
        while let Ok(Ok(read)) = tokio::time::timeout(WAIT, reader.read(&mut buffer)).await {
            if read == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..read]);
            if answer.windows(4).any(|window| window == b"\r\n\r\n") {
                break;
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    });
    writer
        .write_all(head.as_bytes())
        .await
        .expect("the head is sent");
    let piece = if chunked {
        let mut framed = format!("{PIECE:x}\r\n").into_bytes();
        framed.extend(std::iter::repeat_n(b'a', PIECE));
        framed.extend_from_slice(b"\r\n");
        framed
    } else {
        vec![0u8; PIECE]
    };
    let mut sent = 0u64;
    while sent < body_bytes && !answered.is_finished() {
        match tokio::time::timeout(Duration::from_millis(200), writer.write_all(&piece)).await {
            Ok(Ok(())) => sent += PIECE as u64,
            // Refused (a reset), or no longer read: either way the answer is what remains.
            Ok(Err(_)) | Err(_) => break,
        }
    }
    let answer = tokio::time::timeout(WAIT, answered)
        .await
        .unwrap_or_else(|_| panic!("the server neither reads nor answers after {sent} bytes"))
        .expect("the reader does not panic");
    Upload { sent, answer }
}

/// Issue 14, "what held": a 100 MB body is refused after at most a few of its megabytes (the
/// socket buffers' worth), whether its size is announced or it comes in chunks, and the
/// server's memory does not grow with it. Run against the real binary, whose memory is its own.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_body_is_refused_early_with_flat_memory() {
    use crate::harness::{ServerProcess, resident_bytes};

    const HUNDRED_MB: u64 = 100 * 1024 * 1024;
    let data = tempfile::tempdir().expect("a temporary directory");
    let server = ServerProcess::start(data.path(), &[]);
    let token = &server.sign_up("uploader").await;
    let before = resident_bytes(server.pid());
    let cases = [
        (
            "an avatar announcing 100 MB",
            format!(
                "PUT /api/me/avatar HTTP/1.1\r\nHost: natter\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: image/png\r\nContent-Length: {HUNDRED_MB}\r\n\r\n"
            ),
            false,
        ),
        (
            "a JSON body of 100 MB in chunks",
            format!(
                "PATCH /api/me HTTP/1.1\r\nHost: natter\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            true,
        ),
    ];
    for (what, head, chunked) in cases {
        let upload = upload(&server.address, &head, HUNDRED_MB, chunked).await;
        // Refused by a 413, or, when the server answered from the announced size and closed
        // without draining, by a reset that cut the 413 off.
        assert!(
            upload.answer.starts_with("HTTP/1.1 413") || (!chunked && upload.answer.is_empty()),
            "{what}: {upload:?}"
        );
        assert!(
            upload.sent < 16 * 1024 * 1024,
            "{what}: the server took {} MiB before refusing it",
            upload.sent / (1024 * 1024)
        );
    }
    let grown = resident_bytes(server.pid()).saturating_sub(before);
    assert!(
        grown < 16 * 1024 * 1024,
        "the server grew by {} MiB refusing the bodies",
        grown / (1024 * 1024)
    );
    let health = reqwest::get(format!("{}/healthz", server.url()))
        .await
        .expect("the server still answers");
    assert!(health.status().is_success());
}

/// Issue 14, item 9: a client that announces a body and stops sending it half way is cut off
/// after the client timeout, like one that stops in its headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_half_way_is_cut_off() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.client_timeout_seconds = 0.5;
    })
    .await;
    let alice = server.user("alice").await;
    let mut stream = TcpStream::connect(server.config.listen)
        .await
        .expect("connects");
    let head = format!(
        "PATCH /api/me HTTP/1.1\r\nHost: natter\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 40\r\n\r\n{{\"display_name\":",
        alice.token
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("half a request is sent");
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "a half-sent body kept its connection open for {WAIT:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cut off only after {:?}",
        started.elapsed()
    );
    let (_, me) = alice.call(Method::GET, "/api/me", None).await;
    assert_eq!(me["display_name"], "alice", "the half body changed nothing");
}

/// Opens a signed-in WebSocket from `source` (an address in 127.0.0.0/8); None when the
/// server refuses the connection.
async fn websocket_from(source: [u8; 4], server: &TestServer, token: &str) -> Option<Stream> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind(std::net::SocketAddr::from((source, 0)))
        .expect("binds to a loopback address");
    let stream = socket.connect(server.config.listen).await.ok()?;
    let request = ws_url(&server.url)
        .into_client_request()
        .expect("a request");
    let (mut socket, _) =
        tokio::time::timeout(WAIT, tokio_tungstenite::client_async(request, stream))
            .await
            .expect("the upgrade is answered in time")
            .ok()?;
    let hello = json!({"type": "hello", "token": token}).to_string();
    socket.send(WsMessage::text(hello)).await.ok()?;
    match tokio::time::timeout(WAIT, socket.next()).await {
        Ok(Some(Ok(WsMessage::Text(text)))) if text.contains("ready") => Some(socket),
        _ => None,
    }
}

type Stream = tokio_tungstenite::WebSocketStream<TcpStream>;

/// Issue 14, item 9: a connection that became a WebSocket still counts against its address's
/// cap, and gives its place back when it closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_count_against_the_per_address_cap() {
    const CAP: usize = 3;
    let source = [127, 0, 0, 3];
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.max_connections_per_ip = Some(CAP);
    })
    .await;
    let alice = server.user("alice").await;
    let mut sockets = Vec::new();
    for _ in 0..CAP {
        let socket = websocket_from(source, &server, &alice.token).await;
        sockets.push(socket.expect("a socket under the cap opens"));
    }
    assert!(
        websocket_from(source, &server, &alice.token)
            .await
            .is_none(),
        "a socket over the cap of {CAP} opened while {CAP} WebSockets were held"
    );
    drop(sockets.pop());
    let deadline = Instant::now() + WAIT;
    while websocket_from(source, &server, &alice.token)
        .await
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "a closed WebSocket never gave its place back"
        );
        tokio::task::yield_now().await;
    }
}

/// Issue 14, "what held": one socket sending frames as fast as it can (each one answered with
/// an error) slows only itself. While its flood is being worked through, another user's
/// message still goes from REST to a third user's socket quickly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_flooding_frames_slows_only_itself() {
    const FLOOD: usize = 30_000;
    const ROUND_TRIP_LIMIT: Duration = Duration::from_secs(2);
    let server = TestServer::start(Backend::Sqlite).await;
    let mallory = server.user("mallory").await;
    let carol = server.user("carol").await;
    let bob = server.user("bob").await;
    let conversation = carol.direct_with(&bob).await;
    let mut bob_socket = bob.connect(&[]).await;

    let flooder = mallory.connect(&[]).await;
    let (mut flood_out, mut flood_in) = flooder.stream.split();
    // Typing in a conversation that is not hers: each frame is checked and answered not_found.
    let frame = serde_json::to_string(&ClientFrame::Typing {
        conversation_id: ConversationId::now_v7(),
    })
    .expect("a frame encodes");
    let sender = tokio::spawn(async move {
        for _ in 0..FLOOD {
            if flood_out
                .send(WsMessage::text(frame.clone()))
                .await
                .is_err()
            {
                break;
            }
        }
        flood_out
    });
    let (answered_tx, mut answered_rx) = tokio::sync::watch::channel(0usize);
    let reader = tokio::spawn(async move {
        let mut answered = 0;
        while let Ok(Some(Ok(message))) = tokio::time::timeout(WAIT, flood_in.next()).await {
            if matches!(message, WsMessage::Text(text) if text.contains("not_found")) {
                answered += 1;
                let _ = answered_tx.send(answered);
                if answered == FLOOD {
                    break;
                }
            }
        }
        answered
    });
    answered_rx
        .wait_for(|answered| *answered >= 100)
        .await
        .expect("the flood is being answered");

    let mut during_flood = Vec::new();
    for index in 0..10 {
        let body = format!("while the flood goes on {index}");
        let started = Instant::now();
        carol.send(conversation.id, &body).await;
        loop {
            if let ServerFrame::Event(event) = bob_socket.next().await
                && serde_json::to_string(&event)
                    .expect("an event encodes")
                    .contains(&body)
            {
                break;
            }
        }
        let round_trip = started.elapsed();
        if *answered_rx.borrow() < FLOOD {
            during_flood.push(round_trip);
        }
    }
    let answered = reader.await.expect("the reader does not panic");
    drop(sender.await.expect("the sender does not panic"));
    assert_eq!(answered, FLOOD, "every flooding frame was answered");
    assert!(
        during_flood.len() >= 5,
        "the flood ended too soon to measure anything: {} of 10 round trips during it",
        during_flood.len()
    );
    let slowest = during_flood.iter().max().copied().unwrap_or_default();
    assert!(
        slowest < ROUND_TRIP_LIMIT,
        "a message took {slowest:?} to reach bob while mallory flooded: {during_flood:?}"
    );
}
