//! The client core against a real server on a loopback port: the server is stopped and started
//! again under the clients, and nothing written is lost or repeated.

use std::{path::Path, sync::Arc, time::Duration};

use natter_client::{
    Api, Client, ClientEvent, ClientOptions, ConnectionStatus, SessionConfig,
    api::HistoryPage,
    view::{MessageState, MessageView},
};
use natter_protocol::{
    AuthResponse, ConversationId, CreateConversationRequest, SendMessageRequest, SignupRequest,
};
use natter_server::{Config, Server};
use url::Url;

/// How long any wait may take before the test fails.
const WAIT: Duration = Duration::from_secs(15);

/// A real natter-server in this process, on a fixed loopback port and SQLite file, that can
/// be stopped and started again.
struct TestServer {
    config: Config,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _data: Arc<tempfile::TempDir>,
}

impl TestServer {
    async fn start() -> TestServer {
        let data = Arc::new(tempfile::tempdir().expect("a temporary directory"));
        let mut config = Config::for_data_dir(data.path());
        config.listen = "127.0.0.1:0".parse().expect("an address");
        config.auth_attempts_per_ip_per_minute = 0;
        config.login_attempts_per_account_per_minute = 0;
        config.signup = natter_protocol::SignupMode::Open;
        config.user_messages_per_minute = 0;
        config.heartbeat_seconds = 1.0;
        let mut server = TestServer {
            config,
            stop: None,
            task: None,
            _data: data,
        };
        server.up().await;
        server
    }

    async fn up(&mut self) {
        let server = Server::bind(self.config.clone())
            .await
            .expect("the server starts");
        // Restarts reuse the port the first start was given.
        self.config.listen = server.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        self.stop = Some(stop);
        self.task = Some(tokio::spawn(async move {
            server
                .run(async move {
                    let _ = stopped.await;
                })
                .await
        }));
    }

    async fn down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(WAIT, task)
                .await
                .expect("the server stops in time")
                .expect("the server task does not panic")
                .expect("the server stops cleanly");
        }
    }

    fn url(&self) -> Url {
        Url::parse(&format!("http://{}", self.config.listen)).expect("a URL")
    }

    fn api(&self) -> Api {
        Api::new(self.url()).expect("a REST client")
    }

    async fn sign_up(&self, name: &str) -> AuthResponse {
        self.api()
            .signup(&SignupRequest {
                username: name.to_owned(),
                display_name: name.to_owned(),
                password: "correct horse battery".to_owned(),
                invite_code: None,
                device_name: Some("test".to_owned()),
            })
            .await
            .expect("sign-up works")
    }
}

fn fast_session() -> SessionConfig {
    SessionConfig {
        reconnect_min: Duration::from_millis(50),
        reconnect_max: Duration::from_millis(400),
        send_retry_min: Duration::from_millis(50),
        send_retry_max: Duration::from_millis(400),
        ..SessionConfig::default()
    }
}

async fn start_client(server: &TestServer, auth: &AuthResponse, data_dir: &Path) -> Client {
    Client::start(
        server.api().with_token(&auth.token),
        auth.user.clone(),
        ClientOptions {
            data_dir: data_dir.to_owned(),
            session: fast_session(),
            calls: Default::default(),
        },
    )
    .await
    .expect("the client starts")
}

async fn wait_for_status(client: &Client, wanted: fn(&ConnectionStatus) -> bool, what: &str) {
    let mut status = client.status();
    tokio::time::timeout(WAIT, status.wait_for(wanted))
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for the client to be {what}"))
        .expect("the client is running");
}

fn online(status: &ConnectionStatus) -> bool {
    *status == ConnectionStatus::Online
}

fn offline(status: &ConnectionStatus) -> bool {
    matches!(status, ConnectionStatus::Offline { .. })
}

/// Every message body in the conversation as the server has it, oldest first.
async fn server_bodies(api: &Api, conversation_id: ConversationId) -> Vec<String> {
    let page = api
        .messages(conversation_id, HistoryPage::After(0), 200)
        .await
        .expect("history");
    page.messages.into_iter().map(|m| m.body).collect()
}

/// Waits until the client's newest page, filtered by `keep`, has these bodies in this order.
async fn wait_for_history(
    client: &Client,
    conversation_id: ConversationId,
    expected: &[String],
    keep: fn(&MessageView) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut events = client.subscribe();
    loop {
        let page = client
            .history(conversation_id, None)
            .await
            .expect("history from the cache");
        let bodies: Vec<String> = page
            .messages
            .iter()
            .filter(|m| keep(m))
            .map(|m| m.body.clone())
            .collect();
        if bodies == expected {
            return;
        }
        // Woken by any change; the deadline bounds the whole wait.
        if tokio::time::timeout_at(deadline, events.recv())
            .await
            .is_err()
        {
            panic!("the client's history is {bodies:?}, expected {expected:?}");
        }
    }
}

async fn direct(server: &TestServer, alice: &AuthResponse, bob: &AuthResponse) -> ConversationId {
    server
        .api()
        .with_token(&alice.token)
        .create_conversation(&CreateConversationRequest::Direct {
            user_id: bob.user.id,
        })
        .await
        .expect("a direct conversation")
        .id
}

/// Sends a message through REST, as another device or user would.
async fn post(
    api: &Api,
    chat: ConversationId,
    body: impl Into<String>,
) -> natter_protocol::Message {
    api.send_message(
        chat,
        &SendMessageRequest {
            client_id: uuid::Uuid::now_v7(),
            body: body.into(),
            reply_to: None,
            attachments: Vec::new(),
        },
    )
    .await
    .expect("the server stores the message")
}

fn bodies(prefix: &str, count: usize) -> Vec<String> {
    (1..=count).map(|n| format!("{prefix} {n}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_written_while_the_server_is_down_arrive_once_in_order_when_it_is_back() {
    let mut server = TestServer::start().await;
    let alice = server.sign_up("alice").await;
    let bob = server.sign_up("bob").await;
    let chat = direct(&server, &alice, &bob).await;
    let alice_dir = tempfile::tempdir().expect("a data dir");
    let client = start_client(&server, &alice, alice_dir.path()).await;
    wait_for_status(&client, online, "online").await;

    server.down().await;
    wait_for_status(&client, offline, "offline").await;
    let written = bodies("while down", 5);
    for body in &written {
        let pending = client.send(chat, body, None).await.expect("queued");
        assert_eq!(pending.state, MessageState::Sending);
    }
    // Offline, the messages are shown as pending, in order.
    wait_for_history(&client, chat, &written, |m| {
        m.state == MessageState::Sending
    })
    .await;

    server.up().await;
    wait_for_history(&client, chat, &written, |m| m.state == MessageState::Sent).await;
    assert_eq!(
        server_bodies(&server.api().with_token(&bob.token), chat).await,
        written,
        "bob's server copy has each message once, in the order written"
    );
    client.stop().await;
    server.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_was_offline_catches_up_on_everything_it_missed() {
    let mut server = TestServer::start().await;
    let alice = server.sign_up("alice").await;
    let bob = server.sign_up("bob").await;
    let chat = direct(&server, &alice, &bob).await;
    let bob_dir = tempfile::tempdir().expect("a data dir");

    let bob_client = start_client(&server, &bob, bob_dir.path()).await;
    wait_for_status(&bob_client, online, "online").await;
    let alice_api = server.api().with_token(&alice.token);
    post(&alice_api, chat, "before").await;
    wait_for_history(&bob_client, chat, &["before".to_owned()], |_| true).await;
    bob_client.stop().await;

    // Bob is away: alice writes, edits one, and starts a group with him.
    let missed = bodies("missed", 30);
    let mut first = None;
    for body in &missed {
        let message = post(&alice_api, chat, body.clone()).await;
        first.get_or_insert(message);
    }
    let first = first.expect("a message");
    alice_api
        .edit_message(chat, first.id, "missed 1 (edited)")
        .await
        .expect("edited");
    let group = alice_api
        .create_conversation(&CreateConversationRequest::Group {
            name: "Book club".into(),
            member_ids: vec![bob.user.id],
        })
        .await
        .expect("a group");

    let bob_client = start_client(&server, &bob, bob_dir.path()).await;
    let mut expected = vec!["before".to_owned(), "missed 1 (edited)".to_owned()];
    expected.extend(missed.into_iter().skip(1));
    wait_for_history(&bob_client, chat, &expected, |_| true).await;
    let conversations = bob_client.conversations().await.expect("the list");
    let direct_view = conversations
        .iter()
        .find(|c| c.id == chat)
        .expect("the direct conversation is listed");
    assert_eq!(
        direct_view.unread_count, 31,
        "every message from alice is unread"
    );
    assert_eq!(direct_view.title, "alice");
    assert!(
        conversations
            .iter()
            .any(|c| c.id == group.id && c.title == "Book club"),
        "the group created while away is listed: {conversations:?}"
    );
    assert_eq!(conversations[0].id, group.id, "newest activity first");
    bob_client.stop().await;
    server.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_restart_with_a_pending_outbox_loses_nothing() {
    let mut server = TestServer::start().await;
    let alice = server.sign_up("alice").await;
    let bob = server.sign_up("bob").await;
    let chat = direct(&server, &alice, &bob).await;
    let alice_dir = tempfile::tempdir().expect("a data dir");

    let client = start_client(&server, &alice, alice_dir.path()).await;
    wait_for_status(&client, online, "online").await;
    server.down().await;
    let written = bodies("before restart", 3);
    for body in &written {
        client.send(chat, body, None).await.expect("queued");
    }
    // The app exits with the messages unsent.
    client.stop().await;
    drop(client);

    server.up().await;
    let client = start_client(&server, &alice, alice_dir.path()).await;
    wait_for_history(&client, chat, &written, |m| m.state == MessageState::Sent).await;
    assert_eq!(
        server_bodies(&server.api().with_token(&bob.token), chat).await,
        written
    );
    client.stop().await;
    server.down().await;
}

/// A file sent while the server is down, and the app restarted before it is back: the upload
/// starts when the server returns and the message is delivered once, with the file's bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_sent_offline_is_delivered_once_when_the_server_is_back() {
    let mut server = TestServer::start().await;
    let alice = server.sign_up("alice").await;
    let bob = server.sign_up("bob").await;
    let chat = direct(&server, &alice, &bob).await;
    let alice_dir = tempfile::tempdir().expect("a data dir");
    let file = alice_dir.path().join("plans.bin");
    let bytes: Vec<u8> = (0..9_000_000u32).map(|index| (index % 241) as u8).collect();
    std::fs::write(&file, &bytes).expect("a file");

    let client = start_client(&server, &alice, alice_dir.path()).await;
    wait_for_status(&client, online, "online").await;
    server.down().await;
    let caption = "plans attached".to_owned();
    client
        .send_files(chat, &caption, None, vec![file.clone().into()])
        .await
        .expect("queued");
    client.stop().await;
    drop(client);

    server.up().await;
    let client = start_client(&server, &alice, alice_dir.path()).await;
    wait_for_history(&client, chat, std::slice::from_ref(&caption), |m| {
        m.state == MessageState::Sent
    })
    .await;
    let bob_api = server.api().with_token(&bob.token);
    let page = bob_api
        .messages(chat, HistoryPage::After(0), 200)
        .await
        .expect("history");
    assert_eq!(page.messages.len(), 1, "delivered once");
    let attachment = page.messages[0]
        .attachments
        .first()
        .expect("the file")
        .clone();
    assert_eq!(
        (attachment.name.as_str(), attachment.size),
        ("plans.bin", 9_000_000)
    );
    let downloaded = alice_dir.path().join("downloaded.bin");
    natter_client::files::download(&bob_api, &attachment, &downloaded, |_, _| {})
        .await
        .expect("downloaded");
    assert_eq!(std::fs::read(&downloaded).expect("the file"), bytes);
    client.stop().await;
    server.down().await;
}

/// A file given up while it uploads: the upload stops and is cancelled on the server (its
/// staged bytes go), the app's copy is removed, the message never arrives, and the next one
/// goes out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_given_up_while_it_uploads_never_arrives_and_leaves_nothing_behind() {
    let server = TestServer::start().await;
    let alice = server.sign_up("alice").await;
    let bob = server.sign_up("bob").await;
    let chat = direct(&server, &alice, &bob).await;
    let alice_dir = tempfile::tempdir().expect("a data dir");
    let copy = alice_dir.path().join("pasted-copy");
    std::fs::write(&copy, vec![7u8; 96 * 1024 * 1024]).expect("a file");
    let client = start_client(&server, &alice, alice_dir.path()).await;
    wait_for_status(&client, online, "online").await;

    let mut events = client.subscribe();
    let pending = client
        .send_files(
            chat,
            "",
            None,
            vec![natter_client::files::FileToSend {
                path: copy.clone(),
                name: Some("holiday.bin".to_owned()),
                owned: true,
            }],
        )
        .await
        .expect("queued");
    tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(ClientEvent::FileProgress {
                client_id,
                sent,
                total,
                ..
            }) = events.recv().await
                && client_id == pending.client_id
                && sent > 0
            {
                assert!(
                    sent < total,
                    "the upload was over before it could be given up"
                );
                return;
            }
        }
    })
    .await
    .expect("the upload starts");
    client.discard(pending.client_id).expect("discarded");
    tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(ClientEvent::MessageDiscarded { client_id, .. }) = events.recv().await
                && client_id == pending.client_id
            {
                return;
            }
        }
    })
    .await
    .expect("the app hears that the message is gone");
    assert!(!copy.exists(), "the app's copy of the file is removed");

    // The server's staging area empties as the cancel reaches it (in the background).
    let staging = server._data.path().join("uploads");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let staged: Vec<_> = std::fs::read_dir(&staging)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .collect()
            })
            .unwrap_or_default();
        if staged.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cancelled upload's bytes stay on the server: {staged:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    client.send(chat, "never mind", None).await.expect("queued");
    wait_for_history(&client, chat, &["never mind".to_owned()], |m| {
        m.state == MessageState::Sent
    })
    .await;
    let bob_api = server.api().with_token(&bob.token);
    assert_eq!(server_bodies(&bob_api, chat).await, vec!["never mind"]);
    client.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_messages_receipts_and_revocation_reach_the_client() {
    let mut server = TestServer::start().await;
    let alice = server.sign_up("alice").await;
    let bob = server.sign_up("bob").await;
    let chat = direct(&server, &alice, &bob).await;
    let alice_dir = tempfile::tempdir().expect("a data dir");
    let client = start_client(&server, &alice, alice_dir.path()).await;
    let mut events = client.subscribe();
    wait_for_status(&client, online, "online").await;

    let sent = client
        .send(chat, "are you there?", None)
        .await
        .expect("queued");
    wait_for_history(&client, chat, &["are you there?".to_owned()], |m| {
        m.state == MessageState::Sent
    })
    .await;
    let bob_api = server.api().with_token(&bob.token);
    let reply = post(&bob_api, chat, "<img src=x onerror=alert(1)>").await;
    let stored = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(ClientEvent::Message {
                message, incoming, ..
            }) = events.recv().await
                && message.client_id == reply.client_id
            {
                return (message, incoming);
            }
        }
    })
    .await
    .expect("bob's reply arrives live");
    assert!(stored.1, "a message from someone else is incoming");
    assert_eq!(stored.0.body, "<img src=x onerror=alert(1)>");

    // Bob reads alice's message: it turns to read.
    let mine = bob_api
        .messages(chat, HistoryPage::Newest, 10)
        .await
        .expect("history")
        .messages
        .into_iter()
        .find(|m| m.client_id == sent.client_id)
        .expect("alice's message is stored");
    bob_api.mark_read(chat, reply.id).await.expect("read");
    tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(ClientEvent::Message { message, .. }) = events.recv().await
                && message.id == Some(mine.id)
                && message.state == MessageState::Read
            {
                return;
            }
        }
    })
    .await
    .expect("alice's message becomes read");

    // Signing out on the server (another device revokes all) signs this client out.
    alice_api_revoke_all(&server, &alice).await;
    wait_for_status(&client, |s| *s == ConnectionStatus::SignedOut, "signed out").await;
    client.stop().await;
    server.down().await;
}

#[tokio::test]
async fn a_new_device_shows_what_the_others_have_read_at_once() {
    let mut server = TestServer::start().await;
    let alice = server.sign_up("alice").await;
    let bob = server.sign_up("bob").await;
    let chat = direct(&server, &alice, &bob).await;
    let alice_api = server.api().with_token(&alice.token);
    let bob_api = server.api().with_token(&bob.token);
    let read = post(&alice_api, chat, "read by bob").await;
    post(&alice_api, chat, "not read yet").await;
    bob_api.mark_read(chat, read.id).await.expect("bob reads");

    // A device that never saw bob's receipt event learns it from the conversation list.
    let fresh_dir = tempfile::tempdir().expect("a data dir");
    let client = start_client(&server, &alice, fresh_dir.path()).await;
    wait_for_history(&client, chat, &["read by bob".to_owned()], |m| {
        m.state == MessageState::Read
    })
    .await;
    wait_for_history(&client, chat, &["not read yet".to_owned()], |m| {
        m.state == MessageState::Sent
    })
    .await;
    client.stop().await;
    server.down().await;
}

#[tokio::test]
async fn a_restart_opens_from_the_cache_at_once_and_a_revoked_session_signs_out() {
    let mut server = TestServer::start().await;
    let alice = server.sign_up("alice").await;
    let bob = server.sign_up("bob").await;
    let chat = direct(&server, &alice, &bob).await;
    post(&server.api().with_token(&bob.token), chat, "kept for later").await;
    let alice_dir = tempfile::tempdir().expect("a data dir");
    let client = start_client(&server, &alice, alice_dir.path()).await;
    wait_for_history(&client, chat, &["kept for later".to_owned()], |_| true).await;
    client.stop().await;

    // The server hangs (its port accepts connections but nothing answers): resuming still
    // opens at once, with the cached profile and history.
    server.down().await;
    let hung = std::net::TcpListener::bind(server.config.listen).expect("the port is free again");
    let placeholder = natter_protocol::User {
        display_name: "placeholder".into(),
        ..alice.user.clone()
    };
    let options = ClientOptions {
        data_dir: alice_dir.path().to_owned(),
        session: fast_session(),
        calls: Default::default(),
    };
    let client = tokio::time::timeout(
        Duration::from_secs(2),
        Client::resume(
            server.api().with_token(&alice.token),
            placeholder.clone(),
            options.clone(),
        ),
    )
    .await
    .expect("resuming does not wait for the server")
    .expect("the client starts");
    assert_eq!(
        client.me().display_name,
        alice.user.display_name,
        "the cached profile"
    );
    wait_for_history(&client, chat, &["kept for later".to_owned()], |_| true).await;
    client.stop().await;

    // Revoked while the app was closed: the next start signs out instead of retrying forever.
    drop(hung);
    server.up().await;
    alice_api_revoke_all(&server, &alice).await;
    let client = Client::resume(server.api().with_token(&alice.token), placeholder, options)
        .await
        .expect("the client starts");
    wait_for_status(&client, |s| *s == ConnectionStatus::SignedOut, "signed out").await;
    client.stop().await;
    server.down().await;
}

async fn alice_api_revoke_all(server: &TestServer, alice: &AuthResponse) {
    let response = reqwest::Client::new()
        .delete(server.url().join("/api/sessions").expect("a URL"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .expect("the server answers");
    assert!(response.status().is_success(), "{}", response.status());
}
