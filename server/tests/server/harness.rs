//! The test harness: a real natter-server on a loopback port with its own database (a
//! temporary SQLite file, or a database in a private PostgreSQL cluster this harness starts),
//! and clients that talk to it over real HTTP and WebSocket connections.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, OnceLock, atomic::AtomicU32, atomic::Ordering},
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use natter_protocol::{
    AuthResponse, ClientFrame, Conversation, ConversationId, CreateConversationRequest, Event,
    Message, Seq, ServerFrame, User, UserId,
};
use natter_server::{Config, Server};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{self, Message as WsMessage, client::IntoClientRequest},
};
use tokio_util::sync::CancellationToken;

/// How long any wait for the server may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named test function once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::harness::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::harness::Backend::Postgres).await
            }
        }
    )*};
}

pub struct TestServer {
    pub url: String,
    pub config: Config,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _data: Arc<tempfile::TempDir>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        TestServer::start_with(backend, |_| {}).await
    }

    /// Starts a server with test defaults (no rate limits) changed by `adjust`.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let data = Arc::new(tempfile::tempdir().expect("a temporary directory"));
        let mut config = Config::for_data_dir(data.path());
        config.auth_attempts_per_ip_per_minute = 0;
        config.login_attempts_per_account_per_minute = 0;
        // Tests sign their users up freely and send and call as fast as they like; the tests of
        // invites and per-user limits set these back.
        config.signup = natter_protocol::SignupMode::Open;
        config.user_messages_per_minute = 0;
        config.user_calls_per_minute = 0;
        if backend == Backend::Postgres {
            config.database_url = Some(postgres().new_database().await);
        }
        adjust(&mut config);
        TestServer::launch(config, data).await
    }

    async fn launch(config: Config, data: Arc<tempfile::TempDir>) -> TestServer {
        let server = Server::bind(config.clone())
            .await
            .expect("the server starts");
        let address = server.local_addr();
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let task =
            tokio::spawn(async move { server.run(async move { stop.cancelled().await }).await });
        let mut config = config;
        config.listen = address;
        TestServer {
            url: format!("http://{address}"),
            config,
            shutdown,
            task,
            _data: data,
        }
    }

    /// The server's data directory (its files live under `files/`).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data.path()
    }

    /// Shuts the server down gracefully and waits until it has.
    pub async fn stop(self) -> (Config, Arc<tempfile::TempDir>) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("the server stops in time")
            .expect("the server task does not panic")
            .expect("the server stops cleanly");
        (self.config, self._data)
    }

    /// Stops the server and starts it again on the same port and database.
    pub async fn restart(self) -> TestServer {
        let (config, data) = self.stop().await;
        TestServer::launch(config, data).await
    }

    /// Runs `natter-server admin …` (the real binary) on this server's data, as an operator
    /// would while it runs; returns what it printed. Panics if the command fails.
    pub fn console(&self, args: &[&str]) -> String {
        let output = self.console_output(args);
        assert!(
            output.status.success(),
            "natter-server admin {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs `natter-server admin …` and returns its output, whether it succeeded or not.
    pub fn console_output(&self, args: &[&str]) -> std::process::Output {
        self.console_with_input(args, "")
    }

    /// Runs `natter-server admin …` with `input` on its standard input.
    pub fn console_with_input(&self, args: &[&str], input: &str) -> std::process::Output {
        use std::io::Write;

        let mut command = Command::new(env!("CARGO_BIN_EXE_natter-server"));
        command.arg("--data-dir").arg(&self.config.data_dir);
        if let Some(url) = &self.config.database_url {
            command.env("DATABASE_URL", url);
        }
        let mut child = command
            .arg("admin")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("natter-server runs");
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin
            .write_all(input.as_bytes())
            .expect("the input is written");
        drop(stdin);
        child.wait_with_output().expect("natter-server finishes")
    }

    /// A new user made by the console (so on a server of any sign-up mode), signed in.
    pub async fn console_user(&self, name: &str, admin: bool) -> Client {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let username = format!("{name}c{}", COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut args = vec!["create-user", username.as_str(), "--password-stdin"];
        if admin {
            args.push("--admin");
        }
        let output = self.console_with_input(&args, "correct horse battery\n");
        assert!(
            output.status.success(),
            "create-user failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let (status, body) = self
            .http()
            .call(
                Method::POST,
                "/api/auth/login",
                Some(json!({"username": username, "password": "correct horse battery"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "log-in failed: {body}");
        self.client_for(body)
    }

    /// The signed-in client of a sign-up's or log-in's answer.
    fn client_for(&self, body: Value) -> Client {
        let auth: AuthResponse = serde_json::from_value(body).expect("an auth response");
        Client {
            http: Http {
                client: reqwest::Client::new(),
                base: self.url.clone(),
                token: Some(auth.token.clone()),
            },
            server_url: self.url.clone(),
            token: auth.token,
            user: auth.user,
        }
    }

    /// A new admin, made by the console.
    pub async fn admin(&self, name: &str) -> Client {
        self.console_user(name, true).await
    }

    pub fn http(&self) -> Http {
        Http {
            client: reqwest::Client::new(),
            base: self.url.clone(),
            token: None,
        }
    }

    /// Signs up a new user (username unique per call) and returns a client signed in as them.
    pub async fn user(&self, name: &str) -> Client {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let username = format!("{name}{}", COUNTER.fetch_add(1, Ordering::Relaxed));
        let (status, body) = self
            .http()
            .call(
                Method::POST,
                "/api/auth/signup",
                Some(json!({
                    "username": username,
                    "display_name": name,
                    "password": "correct horse battery",
                    "device_name": "test"
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "sign-up failed: {body}");
        self.client_for(body)
    }
}

/// A plain HTTP client, optionally with a bearer token.
#[derive(Clone)]
pub struct Http {
    pub client: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

impl Http {
    /// Sends a JSON request; returns the status and the body parsed as JSON (Null if empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = tokio::time::timeout(WAIT, request.send())
            .await
            .expect("the server answers in time")
            .expect("the request reaches the server");
        let status = response.status();
        let bytes = response.bytes().await.expect("a response body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!("{status}: not JSON: {}", String::from_utf8_lossy(&bytes))
            })
        };
        (status, body)
    }
}

/// A signed-in user.
pub struct Client {
    pub http: Http,
    pub server_url: String,
    pub token: String,
    pub user: User,
}

impl Client {
    pub fn id(&self) -> UserId {
        self.user.id
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.http.call(method, path, body).await
    }

    /// A request that must succeed with a 2xx status, parsed as `T`.
    pub async fn ok<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> T {
        let (status, body) = self.call(method.clone(), path, body).await;
        assert!(
            status.is_success(),
            "{method} {path} answered {status}: {body}"
        );
        serde_json::from_value(body).unwrap_or_else(|error| panic!("{method} {path}: {error}"))
    }

    pub async fn direct_with(&self, other: &Client) -> Conversation {
        let request = CreateConversationRequest::Direct {
            user_id: other.id(),
        };
        self.ok(
            Method::POST,
            "/api/conversations",
            Some(serde_json::to_value(request).unwrap()),
        )
        .await
    }

    pub async fn group(&self, name: &str, members: &[&Client]) -> Conversation {
        let request = CreateConversationRequest::Group {
            name: name.into(),
            member_ids: members.iter().map(|member| member.id()).collect(),
        };
        self.ok(
            Method::POST,
            "/api/conversations",
            Some(serde_json::to_value(request).unwrap()),
        )
        .await
    }

    pub async fn send(&self, conversation_id: ConversationId, body: &str) -> Message {
        self.ok(
            Method::POST,
            &format!("/api/conversations/{conversation_id}/messages"),
            Some(json!({"client_id": uuid::Uuid::now_v7(), "body": body})),
        )
        .await
    }

    pub async fn conversation(&self, conversation_id: ConversationId) -> Conversation {
        self.ok(
            Method::GET,
            &format!("/api/conversations/{conversation_id}"),
            None,
        )
        .await
    }

    /// The same user signed in on another device (a new session).
    pub async fn second_device(&self) -> Client {
        let http = Http {
            client: reqwest::Client::new(),
            base: self.server_url.clone(),
            token: None,
        };
        let (status, body) = http
            .call(
                Method::POST,
                "/api/auth/login",
                Some(json!({
                    "username": self.user.username,
                    "password": "correct horse battery",
                    "device_name": "second device"
                })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "log-in failed: {body}");
        let auth: AuthResponse = serde_json::from_value(body).expect("an auth response");
        Client {
            http: Http {
                token: Some(auth.token.clone()),
                ..http
            },
            server_url: self.server_url.clone(),
            token: auth.token,
            user: auth.user,
        }
    }

    /// Opens the realtime socket with these cursors; returns it after `ready`.
    pub async fn connect(&self, cursors: &[(ConversationId, Seq)]) -> Ws {
        Ws::connect(&self.server_url, &self.token, cursors).await
    }
}

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Ws {
    pub stream: Stream,
    /// The server's `ready` frame; None until hello has been answered.
    pub ready: Option<ServerFrame>,
}

pub fn ws_url(server_url: &str) -> String {
    format!("{}/api/ws", server_url.replacen("http", "ws", 1))
}

impl Ws {
    pub async fn connect(server_url: &str, token: &str, cursors: &[(ConversationId, Seq)]) -> Ws {
        let (mut stream, _) = tokio::time::timeout(WAIT, connect_async(ws_url(server_url)))
            .await
            .expect("the WebSocket connects in time")
            .expect("the WebSocket connects");
        let hello = ClientFrame::Hello {
            token: Some(token.to_owned()),
            cursors: cursors.iter().copied().collect::<BTreeMap<_, _>>(),
        };
        stream
            .send(WsMessage::text(serde_json::to_string(&hello).unwrap()))
            .await
            .expect("hello is sent");
        let mut ws = Ws::before_hello(stream);
        let ready = ws.next().await;
        assert!(
            matches!(ready, ServerFrame::Ready { .. }),
            "expected ready, got {ready:?}"
        );
        ws.ready = Some(ready);
        ws
    }

    /// An open socket that has not said hello yet (for protocol tests).
    pub fn before_hello(stream: Stream) -> Ws {
        Ws {
            stream,
            ready: None,
        }
    }

    /// The next frame (pings are answered and skipped); fails the test after [`WAIT`].
    pub async fn next(&mut self) -> ServerFrame {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = tokio::time::timeout(left, self.stream.next())
                .await
                .expect("a frame arrives in time")
                .expect("the socket stays open")
                .expect("the socket reads cleanly");
            match message {
                WsMessage::Text(text) => {
                    return serde_json::from_str(&text)
                        .unwrap_or_else(|error| panic!("unreadable frame {text}: {error}"));
                }
                WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
                other => panic!("unexpected message {other:?}"),
            }
        }
    }

    /// The next durable event, skipping typing and presence frames.
    pub async fn next_durable(&mut self) -> Event {
        loop {
            match self.next().await {
                ServerFrame::Event(event) => return event,
                ServerFrame::Typing { .. } | ServerFrame::Presence { .. } => continue,
                other => panic!("expected an event, got {other:?}"),
            }
        }
    }

    /// Reads until the server closes the socket; returns the close code.
    pub async fn closed(&mut self) -> u16 {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.stream.next())
                .await
                .expect("the server closes the socket in time")
            {
                Some(Ok(WsMessage::Close(Some(frame)))) => return u16::from(frame.code),
                Some(Ok(WsMessage::Close(None))) | None => return 1005,
                Some(Ok(_)) => continue,
                // No close frame: the connection was dropped (1006, "abnormal closure").
                Some(Err(
                    tungstenite::Error::ConnectionClosed
                    | tungstenite::Error::AlreadyClosed
                    | tungstenite::Error::Io(_),
                )) => return 1006,
                Some(Err(error)) => panic!("socket error instead of a close frame: {error}"),
            }
        }
    }

    /// The next frame that is not an event, typing or presence (call frames, errors).
    pub async fn next_live(&mut self) -> ServerFrame {
        loop {
            match self.next().await {
                ServerFrame::Event(_)
                | ServerFrame::Typing { .. }
                | ServerFrame::Presence { .. } => {
                    continue;
                }
                other => return other,
            }
        }
    }

    pub async fn send_frame(&mut self, frame: &ClientFrame) {
        self.send_text(&serde_json::to_string(frame).expect("a frame encodes"))
            .await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream
            .send(WsMessage::text(text.to_owned()))
            .await
            .expect("a frame is sent");
    }
}

/// Opens a raw WebSocket without saying hello (for protocol tests).
pub async fn raw_socket(
    server_url: &str,
    bearer: Option<&str>,
) -> Result<Stream, tungstenite::Error> {
    let mut request = ws_url(server_url).into_client_request()?;
    if let Some(token) = bearer {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    connect_async(request).await.map(|(stream, _)| stream)
}

/// Polls `check` until it returns Some, failing with `what` after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// A private PostgreSQL cluster, started once per test binary.

pub struct Postgres {
    port: u16,
    next_database: AtomicU32,
}

pub fn postgres() -> &'static Postgres {
    static CLUSTER: OnceLock<Postgres> = OnceLock::new();
    CLUSTER.get_or_init(|| Postgres::start().unwrap_or_else(|error| panic!("{error}")))
}

fn postgres_bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("NATTER_TEST_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| {
            "PostgreSQL is not installed (no /usr/lib/postgresql): run `cargo xtask setup`"
                .to_owned()
        })?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "no PostgreSQL server binaries (initdb) found: run `cargo xtask setup`".to_owned()
    })
}

/// The uid and gid to run PostgreSQL as: it refuses to run as root.
fn postgres_identity() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres"))
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))?
    })
}

fn postgres_command(program: &Path, identity: Option<(u32, u32)>) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(program);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if let Some((uid, gid)) = identity
                && (libc::setgid(gid) != 0 || libc::setuid(uid) != 0)
            {
                return Err(std::io::Error::last_os_error());
            }
            // The cluster must not outlive the test binary. Set after setuid, which clears it.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command
}

/// Deletes the directories that clusters of earlier, finished test runs left behind.
fn remove_clusters_of_finished_runs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix("natter-test-pg-"))
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Postgres {
    fn start() -> Result<Postgres, String> {
        let bin = postgres_bin_dir()?;
        let identity = postgres_identity();
        remove_clusters_of_finished_runs();
        let root = std::env::temp_dir().join(format!("natter-test-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).map_err(|error| format!("creating {root:?}: {error}"))?;
        if let Some((uid, gid)) = identity {
            std::os::unix::fs::chown(&root, Some(uid), Some(gid))
                .map_err(|error| format!("chown: {error}"))?;
        }
        let data = root.join("data");
        let output = postgres_command(&bin.join("initdb"), identity)
            .args(["-D"])
            .arg(&data)
            .args([
                "-U",
                "natter",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .output()
            .map_err(|error| format!("running initdb: {error}"))?;
        if !output.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|error| format!("finding a free port: {error}"))?
            .port();
        let (started, result) = std::sync::mpsc::channel();
        let postgres = bin.join("postgres");
        let log = root.join("postgres.log");
        // The thread that spawns the server lives as long as the process: PDEATHSIG fires
        // when it ends, so it must not end before the tests do.
        std::thread::spawn(move || {
            let log_file = std::fs::File::create(&log);
            let spawned = log_file
                .map_err(|error| error.to_string())
                .and_then(|log_file| {
                    postgres_command(&postgres, identity)
                        .arg("-D")
                        .arg(&data)
                        .args(["-p", &port.to_string(), "-k"])
                        .arg(&root)
                        .args([
                            "-c",
                            "listen_addresses=127.0.0.1",
                            "-c",
                            "fsync=off",
                            "-c",
                            "synchronous_commit=off",
                            "-c",
                            "full_page_writes=off",
                            "-c",
                            "max_connections=400",
                        ])
                        .stdout(log_file.try_clone().map_err(|error| error.to_string())?)
                        .stderr(log_file)
                        .spawn()
                        .map_err(|error| error.to_string())
                });
            match spawned {
                Ok(mut child) => {
                    let _ = started.send(Ok(()));
                    let _ = child.wait();
                }
                Err(error) => {
                    let _ = started.send(Err(error));
                }
            }
            loop {
                std::thread::park();
            }
        });
        result
            .recv()
            .map_err(|error| error.to_string())?
            .map_err(|error| format!("starting postgres: {error}"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("postgres did not accept connections within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Postgres {
            port,
            next_database: AtomicU32::new(0),
        })
    }

    /// Creates an empty database and returns its URL.
    pub async fn new_database(&self) -> String {
        use sqlx::Connection;
        let name = format!(
            "natter_test_{}",
            self.next_database.fetch_add(1, Ordering::Relaxed)
        );
        let admin_url = format!("postgres://natter@127.0.0.1:{}/postgres", self.port);
        sqlx::any::install_default_drivers();
        let deadline = Instant::now() + WAIT * 3;
        let mut admin = loop {
            match sqlx::AnyConnection::connect(&admin_url).await {
                Ok(connection) => break connection,
                // The cluster accepts TCP a moment before it accepts logins.
                Err(error) if Instant::now() < deadline => {
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("connecting to the test cluster: {error}"),
            }
        };
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("creating a test database");
        format!("postgres://natter@127.0.0.1:{}/{name}", self.port)
    }
}

/// The real natter-server binary on a loopback port of its choosing, killed (like `kill -9`)
/// when dropped: for what only a separate process shows, such as its memory or a crash.
pub struct ServerProcess {
    child: std::process::Child,
    /// `host:port` it listens on.
    pub address: String,
}

impl ServerProcess {
    /// Starts it on `data_dir` with `args` added, and waits until it listens.
    pub fn start(data_dir: &Path, args: &[&str]) -> ServerProcess {
        use std::io::BufRead;

        let mut child = Command::new(env!("CARGO_BIN_EXE_natter-server"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env("NATTER_LOG_JSON", "true")
            .env("NATTER_SIGNUP", "open")
            .env("NATTER_USER_MESSAGES_PER_MINUTE", "0")
            .env("NATTER_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("natter-server starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (found, address) = std::sync::mpsc::channel();
        // Reads the log to its end, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let entry: Value = serde_json::from_str(&line).unwrap_or_default();
                if let Some(address) = entry["fields"]["address"].as_str() {
                    let _ = found.send(address.to_owned());
                }
            }
        });
        let mut server = ServerProcess {
            child,
            address: String::new(),
        };
        server.address = address
            .recv_timeout(WAIT * 3)
            .expect("the server says where it listens");
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Signs `username` up over HTTP and returns the token.
    pub async fn sign_up(&self, username: &str) -> String {
        let signed_up: Value = reqwest::Client::new()
            .post(format!("{}/api/auth/signup", self.url()))
            .json(&json!({
                "username": username,
                "display_name": username,
                "password": "correct horse battery",
            }))
            .send()
            .await
            .expect("sign-up answers")
            .json()
            .await
            .expect("a JSON answer");
        signed_up["token"].as_str().expect("a token").to_owned()
    }

    /// Kills it at once, as a crash or `kill -9` would, and waits until it is gone.
    pub fn kill(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Resident memory of a process, from /proc (Linux).
#[cfg(target_os = "linux")]
pub fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}
