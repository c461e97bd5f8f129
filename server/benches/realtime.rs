//! Realtime benchmark: the real `natter-server` binary on loopback with N connected WebSocket
//! clients. Prints send→deliver latency (p50/p99), delivered events per second under load,
//! and the server's memory per idle connection.
//!
//! `cargo bench -p natter-server --bench realtime -- [--clients N] [--seconds S]`
//! (`cargo xtask bench` runs it with the defaults: 5,000 clients).

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

mod common;

use common::ServerProcess;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{connect_async, tungstenite::Message};

/// Devices (sockets) per user: each user is in one direct conversation, so a message reaches
/// the sender's and the recipient's devices.
const DEVICES_PER_USER: usize = 5;

struct Options {
    clients: usize,
    seconds: u64,
}

fn options() -> Options {
    let mut options = Options {
        clients: 5_000,
        seconds: 10,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut index = 1;
    while index < args.len() {
        let value = args.get(index + 1).and_then(|value| value.parse().ok());
        match (args[index].as_str(), value) {
            ("--clients", Some(value)) => options.clients = value as usize,
            ("--seconds", Some(value)) => options.seconds = value,
            // cargo bench passes --bench; ignore anything else.
            _ => {}
        }
        index += 1;
    }
    options.clients = options.clients.max(DEVICES_PER_USER * 2);
    options
}

struct BenchUser {
    token: String,
    conversation: String,
}

async fn post(http: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = http.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request reaches the server");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    body
}

/// Signs up users in pairs, each pair sharing a direct conversation.
async fn create_users(server_url: &str, count: usize) -> Vec<BenchUser> {
    let http = reqwest::Client::new();
    let run = format!("{:x}", std::process::id());
    let pairs = futures_util::stream::iter(0..count / 2)
        .map(|pair| {
            let http = http.clone();
            let base = server_url.to_owned();
            let run = run.clone();
            async move {
                let mut made = Vec::new();
                for side in 0..2 {
                    let body = post(
                        &http,
                        format!("{base}/api/auth/signup"),
                        None,
                        json!({"username": format!("b{run}x{pair}x{side}"), "display_name": "bench", "password": "benchmark-password"}),
                    )
                    .await;
                    made.push((body["token"].as_str().unwrap().to_owned(), body["user"]["id"].as_str().unwrap().to_owned()));
                }
                let conversation = post(
                    &http,
                    format!("{base}/api/conversations"),
                    Some(&made[0].0),
                    json!({"kind": "direct", "user_id": made[1].1}),
                )
                .await["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                made.into_iter()
                    .map(|(token, _)| BenchUser { token, conversation: conversation.clone() })
                    .collect::<Vec<_>>()
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    pairs.into_iter().flatten().collect()
}

/// What every socket reports.
struct Counters {
    epoch: Instant,
    delivered: AtomicU64,
    measuring: AtomicBool,
    latencies_us: Mutex<Vec<u64>>,
}

/// Keeps one socket open, counting deliveries and recording latencies of messages whose body
/// carries the send time ("t<microseconds since epoch>").
async fn run_socket(
    server_url: String,
    token: String,
    counters: Arc<Counters>,
    ready: tokio::sync::mpsc::Sender<()>,
) {
    let url = format!("{}/api/ws", server_url.replacen("http", "ws", 1));
    let (mut socket, _) = connect_async(url).await.expect("socket connects");
    socket
        .send(Message::text(
            json!({"type": "hello", "token": token, "cursors": {}}).to_string(),
        ))
        .await
        .expect("hello");
    let mut announced = false;
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        if !announced && text.contains("\"type\":\"ready\"") {
            announced = true;
            let _ = ready.send(()).await;
            continue;
        }
        if !text.contains("\"kind\":\"message_created\"") {
            continue;
        }
        counters.delivered.fetch_add(1, Ordering::Relaxed);
        if counters.measuring.load(Ordering::Relaxed)
            && let Some(start) = text.find("\"body\":\"t")
        {
            let digits: String = text[start + 9..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(sent_us) = digits.parse::<u64>() {
                let now_us = counters.epoch.elapsed().as_micros() as u64;
                counters
                    .latencies_us
                    .lock()
                    .unwrap()
                    .push(now_us.saturating_sub(sent_us));
            }
        }
    }
}

fn percentile(sorted: &[u64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[index] as f64 / 1000.0
}

async fn send_messages(
    server_url: &str,
    users: &Arc<Vec<BenchUser>>,
    counters: &Arc<Counters>,
    duration: Duration,
    rate_per_second: Option<u64>,
    senders: usize,
) -> u64 {
    let sent = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for sender in 0..senders {
        let http = reqwest::Client::new();
        let users = users.clone();
        let counters = counters.clone();
        let sent = sent.clone();
        let base = server_url.to_owned();
        tasks.push(tokio::spawn(async move {
            let interval =
                rate_per_second.map(|rate| Duration::from_secs_f64(senders as f64 / rate as f64));
            let mut next = Instant::now();
            let mut index = sender;
            while Instant::now() < deadline {
                if let Some(interval) = interval {
                    next += interval;
                    tokio::time::sleep_until(next.into()).await;
                }
                let user = &users[index % users.len()];
                index += senders;
                let body = format!("t{}", counters.epoch.elapsed().as_micros());
                let response = http
                    .post(format!(
                        "{base}/api/conversations/{}/messages",
                        user.conversation
                    ))
                    .bearer_auth(&user.token)
                    .json(&json!({"client_id": uuid::Uuid::now_v7(), "body": body}))
                    .send()
                    .await;
                if matches!(response, Ok(ref response) if response.status().is_success()) {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    sent.load(Ordering::Relaxed)
}

/// Waits (at most 10 s) until `expected` deliveries have been counted in all.
async fn wait_for_deliveries(counters: &Counters, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while counters.delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn main() {
    let options = options();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = ServerProcess::start(
            &[
                "--auth-attempts-per-ip-per-minute",
                "0",
                "--login-attempts-per-account-per-minute",
                "0",
                "--ws-queue-frames",
                "4096",
                // Every simulated client comes from 127.0.0.1.
                "--max-connections-per-ip",
                "0",
            ],
            &[("NATTER_USER_MESSAGES_PER_MINUTE", "0")],
        );
        let user_count = options.clients.div_ceil(DEVICES_PER_USER).next_multiple_of(2);
        let clients = user_count * DEVICES_PER_USER;
        println!("natter realtime benchmark: {clients} WebSocket clients ({user_count} users × {DEVICES_PER_USER} devices), SQLite, loopback");
        let started = Instant::now();
        let users = Arc::new(create_users(&server.url, user_count).await);
        println!("  set-up: {user_count} users and {} conversations in {:.1} s", user_count / 2, started.elapsed().as_secs_f64());

        let rss_before = server.rss_kib();
        let counters = Arc::new(Counters {
            epoch: Instant::now(),
            delivered: AtomicU64::new(0),
            measuring: AtomicBool::new(false),
            latencies_us: Mutex::new(Vec::new()),
        });
        let (ready_sender, mut ready) = tokio::sync::mpsc::channel(clients);
        let connect_started = Instant::now();
        for user in users.iter() {
            for _ in 0..DEVICES_PER_USER {
                tokio::spawn(run_socket(server.url.clone(), user.token.clone(), counters.clone(), ready_sender.clone()));
            }
        }
        for _ in 0..clients {
            tokio::time::timeout(Duration::from_secs(120), ready.recv())
                .await
                .expect("all clients connect within 120 s");
        }
        let connect_seconds = connect_started.elapsed().as_secs_f64();
        // Let presence announcements and allocator churn settle before reading memory.
        let settle_deadline = Instant::now() + Duration::from_secs(3);
        let mut rss_idle = server.rss_kib();
        while Instant::now() < settle_deadline {
            tokio::time::sleep(Duration::from_millis(500)).await;
            rss_idle = server.rss_kib();
        }
        let per_connection_kib = (rss_idle.saturating_sub(rss_before)) as f64 / clients as f64;
        println!("  connected {clients} clients in {connect_seconds:.1} s");
        println!("  server memory: {:.1} MiB before connections, {:.1} MiB with {clients} idle connections: {per_connection_kib:.1} KiB per connection",
            rss_before as f64 / 1024.0, rss_idle as f64 / 1024.0);

        // Latency at a steady, moderate rate.
        let rate = 200;
        counters.measuring.store(true, Ordering::Relaxed);
        let sent = send_messages(&server.url, &users, &counters, Duration::from_secs(options.seconds), Some(rate), 16).await;
        counters.measuring.store(false, Ordering::Relaxed);
        let mut latencies = std::mem::take(&mut *counters.latencies_us.lock().unwrap());
        latencies.sort_unstable();
        println!(
            "  latency at {rate} msg/s for {} s ({sent} messages, {} deliveries to {} sockets each): send→deliver p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            options.seconds, latencies.len(), DEVICES_PER_USER * 2,
            percentile(&latencies, 0.50), percentile(&latencies, 0.99), percentile(&latencies, 1.0)
        );

        // Let the latency phase's last deliveries land, so they are not counted below.
        let fan_out = DEVICES_PER_USER as u64 * 2;
        wait_for_deliveries(&counters, sent * fan_out).await;

        // Throughput: as fast as 32 concurrent senders can go.
        let delivered_before = counters.delivered.load(Ordering::Relaxed);
        let load_started = Instant::now();
        let sent = send_messages(&server.url, &users, &counters, Duration::from_secs(options.seconds), None, 32).await;
        let expected = delivered_before + sent * fan_out;
        wait_for_deliveries(&counters, expected).await;
        let elapsed = load_started.elapsed().as_secs_f64();
        let delivered = counters.delivered.load(Ordering::Relaxed) - delivered_before;
        println!(
            "  throughput with 32 senders: {:.0} messages/s stored, {:.0} deliveries/s ({delivered} of {} expected deliveries)",
            sent as f64 / elapsed, delivered as f64 / elapsed, expected - delivered_before
        );
        println!("  server memory after load: {:.1} MiB", server.rss_kib() as f64 / 1024.0);
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
}
