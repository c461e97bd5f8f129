//! The real `natter` binary against a real server on a loopback port.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use natter_server::{Config, Server};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

struct Setup {
    url: String,
    data: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

async fn start_server() -> Setup {
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut config = Config::for_data_dir(data.path());
    config.listen = "127.0.0.1:0".parse().expect("an address");
    config.auth_attempts_per_ip_per_minute = 0;
    config.login_attempts_per_account_per_minute = 0;
    let server = Server::bind(config).await.expect("the server starts");
    let url = format!("http://{}", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        server
            .run(async move {
                let _ = stopped.await;
            })
            .await
    });
    Setup {
        url,
        data,
        stop: Some(stop),
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Setup {
    fn natter(&self, token: Option<&str>, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_natter"));
        command
            .args(args)
            .env("NATTER_SERVER_URL", &self.url)
            .env("NATTER_PASSWORD", "correct horse battery")
            .env_remove("NATTER_TOKEN");
        if let Some(token) = token {
            command.env("NATTER_TOKEN", token);
        }
        command
    }

    /// Runs `natter` to completion (off the async runtime) and returns its JSON lines.
    async fn run(&self, token: Option<&str>, args: &[&str]) -> Vec<Value> {
        let mut command = self.natter(token, args);
        let home = self.data.path().join(format!("home-{}", args[0]));
        command.arg("--data-dir").arg(&home);
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the runner does not panic")
            .expect("natter runs");
        assert!(
            output.status.success(),
            "natter {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).expect("every line is JSON"))
            .collect()
    }

    /// Runs `natter`, expects it to fail, and returns what it printed on stderr.
    async fn run_failing(&self, token: &str, args: &[&str]) -> String {
        let mut command = self.natter(Some(token), args);
        command
            .arg("--data-dir")
            .arg(self.data.path().join("failing"));
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the runner does not panic")
            .expect("natter runs");
        assert!(!output.status.success(), "natter {args:?} succeeded");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    async fn sign_up(&self, username: &str) -> String {
        let lines = self.run(None, &["signup", username, "--print-token"]).await;
        lines[0]["token"]
            .as_str()
            .expect("a token is printed")
            .to_owned()
    }
}

/// Reads a child's stdout lines on a thread, so the test can wait on them with a timeout.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_follow_list_and_search_from_the_command_line() {
    let setup = start_server().await;
    let alice = setup.sign_up("alice").await;
    let bob = setup.sign_up("bob").await;

    let sent = setup
        .run(Some(&alice), &["send", "@bob", "hello from a script"])
        .await;
    assert_eq!(sent[0]["state"], "sent", "{sent:?}");
    let conversation_id = sent[0]["conversation_id"]
        .as_str()
        .expect("a conversation id")
        .to_owned();

    // Bob follows the conversation live; alice sends again.
    let mut follow = setup.natter(Some(&bob), &["follow", &conversation_id]);
    follow
        .arg("--data-dir")
        .arg(setup.data.path().join("bob-follow"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = follow.spawn().expect("natter follow starts");
    let lines = lines_of(&mut child);
    let wait_for = |predicate: &dyn Fn(&Value) -> bool, what: &str| -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("natter follow printed no {what}"));
            let value: Value = serde_json::from_str(&line).expect("every line is JSON");
            if predicate(&value) {
                return value;
            }
        }
    };
    wait_for(
        &|v| v["type"] == "connection" && v["status"]["state"] == "online",
        "online status",
    );
    setup
        .run(Some(&alice), &["send", &conversation_id, "second"])
        .await;
    let event = wait_for(
        &|v| v["type"] == "message" && v["message"]["body"] == "second",
        "message event",
    );
    assert_eq!(event["incoming"], true);
    assert_eq!(event["message"]["sender_name"], "alice");
    let _ = child.kill();
    let _ = child.wait();

    let conversations = setup.run(Some(&bob), &["conversations"]).await;
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0]["title"], "alice");
    assert_eq!(conversations[0]["unread_count"], 2);
    assert_eq!(conversations[0]["last_message"]["body"], "second");

    let hits = setup.run(Some(&bob), &["search", "script"]).await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["body"], "hello from a script");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_clear_and_exit_non_zero() {
    let setup = start_server().await;
    let alice = setup.sign_up("alice").await;
    let stderr = setup.run_failing(&alice, &["send", "@nobody", "hi"]).await;
    assert!(stderr.contains("no user named \"nobody\""), "{stderr}");

    let stderr = setup.run_failing("not-a-token", &["whoami"]).await;
    assert!(stderr.contains("401"), "{stderr}");
}
