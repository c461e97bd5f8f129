//! What the command-line tests share: a real server on a loopback port and the real `natter`
//! binary. Each test file uses a part of it.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command},
    sync::mpsc,
    time::Duration,
};

use natter_server::{Config, Server};
use serde_json::Value;

pub const WAIT: Duration = Duration::from_secs(20);

pub struct Setup {
    pub url: String,
    pub data: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

pub async fn start_server() -> Setup {
    start_server_with(|_| {}).await
}

pub async fn start_server_with(adjust: impl FnOnce(&mut Config)) -> Setup {
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut config = Config::for_data_dir(data.path());
    config.listen = "127.0.0.1:0".parse().expect("an address");
    config.auth_attempts_per_ip_per_minute = 0;
    config.login_attempts_per_account_per_minute = 0;
    config.signup = natter_protocol::SignupMode::Open;
    config.user_messages_per_minute = 0;
    config.user_calls_per_minute = 0;
    adjust(&mut config);
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

impl Setup {
    /// A server this test did not start (another binary, another system), at `url`.
    pub fn elsewhere(url: String) -> Setup {
        Setup {
            url,
            data: tempfile::tempdir().expect("a temporary directory"),
            stop: None,
        }
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
    pub fn natter(&self, token: Option<&str>, args: &[&str]) -> Command {
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
    pub async fn run(&self, token: Option<&str>, args: &[&str]) -> Vec<Value> {
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
    pub async fn run_failing(&self, token: &str, args: &[&str]) -> String {
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

    /// The newest call in the history of the last user `video_call` made (Alice).
    pub async fn history_of_last_call(&self) -> Value {
        let token = self.sign_in("alice").await;
        let calls = self.run(Some(&token), &["calls"]).await;
        calls.into_iter().next().expect("a call in the history")
    }

    pub async fn sign_in(&self, username: &str) -> String {
        let lines = self.run(None, &["login", username, "--print-token"]).await;
        lines[0]["token"]
            .as_str()
            .expect("a token is printed")
            .to_owned()
    }

    pub async fn sign_up(&self, username: &str) -> String {
        let lines = self.run(None, &["signup", username, "--print-token"]).await;
        lines[0]["token"]
            .as_str()
            .expect("a token is printed")
            .to_owned()
    }
}

/// Reads a child's stdout lines on a thread, so the test can wait on them with a timeout.
pub fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
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

/// Reads JSON lines from a child until it exits (successfully) or `WAIT * 2` passes.
pub fn collect_until_exit(child: &mut Child, lines: &mpsc::Receiver<String>) -> Vec<Value> {
    let deadline = std::time::Instant::now() + WAIT * 2;
    let mut collected = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(line) => collected
                .push(serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the process did not finish; printed so far: {collected:#?}"
                );
            }
        }
    }
    let status = child.wait().expect("the child is reaped");
    assert!(
        status.success(),
        "exit status {status}; printed {collected:#?}"
    );
    collected
}

/// A `natter` process in the background whose JSON lines the test reads as they come.
/// Killed when dropped.
pub struct Running {
    pub name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<Value>,
}

impl Setup {
    /// Starts `natter ARGS` as the user with `token`, in a data directory of its own.
    pub fn start(&self, name: &str, token: &str, args: &[&str]) -> Running {
        self.start_with(name, self.natter(Some(token), args))
    }

    /// The same, inside a network namespace (see `network.rs`).
    pub fn start_in(&self, netns: &str, name: &str, token: &str, args: &[&str]) -> Running {
        let natter = self.natter(Some(token), args);
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", netns])
            .arg(natter.get_program())
            .args(natter.get_args());
        for (key, value) in natter.get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        self.start_with(name, command)
    }

    fn start_with(&self, name: &str, mut command: Command) -> Running {
        command
            .arg("--data-dir")
            .arg(self.data.path().join(format!("running-{name}")));
        Running::spawn(name, command)
    }
}

impl Running {
    /// Starts `command` (which prints JSON lines) in the background.
    pub fn spawn(name: &str, mut command: Command) -> Running {
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("{name} does not start: {error}"));
        let lines = lines_of(&mut child);
        Running {
            name: name.to_owned(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one matches `wanted` (described by `what`), for at most [`WAIT`].
    pub fn wait_for(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        tokio::task::block_in_place(|| {
            loop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match self.lines.recv_timeout(left) {
                    Ok(line) => {
                        let value: Value = serde_json::from_str(&line)
                            .unwrap_or_else(|_| panic!("{}: not JSON: {line}", self.name));
                        self.seen.push(value.clone());
                        if wanted(&value) {
                            return value;
                        }
                    }
                    Err(error) => panic!(
                        "{} did not print {what} within {WAIT:?} ({error}); it printed {:#?}",
                        self.name, self.seen
                    ),
                }
            }
        })
    }

    /// Waits for the process to exit by itself (for at most `WAIT * 2`); returns everything it
    /// printed and whether it succeeded.
    pub fn finish(mut self) -> (Vec<Value>, bool) {
        let child = &mut self.child;
        let lines = &self.lines;
        let printed = tokio::task::block_in_place(|| {
            let deadline = std::time::Instant::now() + WAIT * 2;
            let mut printed = Vec::new();
            loop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match lines.recv_timeout(left) {
                    Ok(line) => printed.push(
                        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}")),
                    ),
                    Err(mpsc::RecvTimeoutError::Disconnected) => break printed,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        panic!("{} did not exit; printed {printed:#?}", self.name)
                    }
                }
            }
        });
        let status = tokio::task::block_in_place(|| child.wait()).expect("the child is reaped");
        let mut seen = std::mem::take(&mut self.seen);
        seen.extend(printed);
        (seen, status.success())
    }

    /// Ctrl-C, as a user at the terminal would.
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "could not interrupt {}", self.name);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last state of the call a process printed.
pub fn last_call(lines: &[Value]) -> &Value {
    lines
        .iter()
        .rev()
        .find(|line| line["type"] == "call")
        .map(|line| &line["call"])
        .unwrap_or_else(|| panic!("no call line in {lines:#?}"))
}

/// The phases a process went through, repeats removed.
pub fn phases(lines: &[Value]) -> Vec<String> {
    let mut phases: Vec<String> = lines
        .iter()
        .filter(|line| line["type"] == "call")
        .map(|line| line["call"]["phase"].as_str().unwrap_or("?").to_owned())
        .collect();
    phases.dedup();
    phases
}

/// The last `media_probe` line a process printed.
pub fn last_probe(lines: &[Value]) -> &Value {
    lines
        .iter()
        .rev()
        .find(|line| line["type"] == "media_probe")
        .unwrap_or_else(|| panic!("no media_probe line in {lines:#?}"))
}

/// The picture sequence is complete enough and in order, and the tone is the peer's.
pub fn check_probe(probe: &Value, tone_hz: f64) {
    let first = probe["first_counter"].as_u64().expect("pictures arrived");
    let last = probe["last_counter"].as_u64().expect("pictures arrived");
    let stamped = probe["frames_with_stamp"].as_u64().unwrap_or(0);
    let sent = last - first + 1;
    assert!(sent >= 150, "at least 5 s of 30 fps video: {probe}");
    assert!(
        stamped as f64 >= 0.9 * sent as f64,
        "at least 90 % of the pictures sent were decoded: {probe}"
    );
    assert_eq!(probe["counters_in_order"], true, "{probe}");
    let heard = probe["tone_hz"].as_f64().expect("a tone is heard");
    assert!(
        (heard - tone_hz).abs() / tone_hz < 0.02,
        "heard {heard} Hz instead of {tone_hz} Hz: {probe}"
    );
}

/// A video call both sides saw through from ringing to its end, each seeing the other's test
/// pattern and hearing the other's tone (the caller sends 440 Hz, the answerer 660 Hz).
pub fn check_video_call_seen_by_both(caller_seen: &[Value], answerer_seen: &[Value]) {
    assert_eq!(
        phases(caller_seen),
        ["outgoing", "connecting", "connected", "ended"]
    );
    assert_eq!(
        phases(answerer_seen),
        ["incoming", "connecting", "connected", "ended"]
    );
    check_probe(last_probe(answerer_seen), 440.0);
    check_probe(last_probe(caller_seen), 660.0);
}
