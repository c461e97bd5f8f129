//! What the desktop end-to-end test and the desktop benchmark share: a real server, users played
//! by the `natter` CLI, tauri-driver starting the app, the throwaway keyring, and polling the page.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::processes::{self, Running, find_program, free_port, http_ok, listening, output, poll};

/// Longest wait for a process to be ready (server, tauri-driver, dunst).
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for something to show in the app.
pub const UI_TIMEOUT: Duration = Duration::from_secs(20);

/// The row of the newest message whose text is `body` in the open conversation, as a JS
/// expression (undefined while there is none).
pub fn message_row(body: &str) -> String {
    format!(
        "[...document.querySelectorAll('#messages div.message')].reverse().find(row => \
           row.querySelector('.message-body')?.textContent === {body:?})"
    )
}
/// Longest wait for the app to exit after its WebDriver session is closed.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(15);
/// Password of the throwaway keyring of the test session.
pub const KEYRING_PASSWORD: &str = "natter-e2e";
/// Polls a script until it returns something other than null, undefined or false.
pub async fn until_js(session: &Client, what: &str, script: &str) -> Result<Value> {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let value = session
            .execute(script, Vec::new())
            .await
            .with_context(|| format!("checking {what} failed"))?;
        if !matches!(value, Value::Null | Value::Bool(false)) {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            bail!("{what}: not shown within {} s", UI_TIMEOUT.as_secs());
        }
        tokio::time::sleep(processes::POLL_INTERVAL).await;
    }
}

/// Waits (at most [`UI_TIMEOUT`]) for the connection banner to be hidden, as it must be once
/// the app is online; `moment` says what showed it is. The failure names what the banner still
/// shows and what the app's own `connection` command answers.
pub async fn connection_banner_hidden(session: &Client, moment: &str) -> Result<()> {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let banner = session
            .execute(
                "const banner = document.getElementById('connection-banner'); \
                 return { hidden: banner.hidden, state: banner.dataset.state, \
                          text: document.getElementById('connection-banner-text').textContent }",
                Vec::new(),
            )
            .await
            .context("reading the connection banner failed")?;
        if banner["hidden"] == true {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let answer = session
                .execute_async(
                    "const done = arguments[arguments.length - 1]; \
                     window.__TAURI_INTERNALS__.invoke('connection') \
                       .then(done, (error) => done({ error: String(error) }))",
                    Vec::new(),
                )
                .await
                .unwrap_or_else(|error| json!({ "error": error.to_string() }));
            bail!(
                "the connection banner still shows {} (state {}) {} s after {moment}, while the \
                 app's `connection` command answers {answer}",
                banner["text"],
                banner["state"],
                UI_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(processes::POLL_INTERVAL).await;
    }
}

/// The app's first start: the server address, then the sign-in form with an existing account.
pub async fn sign_in_first_start(
    session: &Client,
    server_url: &str,
    username: &str,
    password: &str,
) -> Result<()> {
    until_js(
        session,
        "the server address screen",
        "return document.body.dataset.ready === 'true' && !document.getElementById('screen-server').hidden",
    )
    .await?;
    let address = session.find(Locator::Id("server-url")).await?;
    address.clear().await?;
    address.send_keys(server_url).await?;
    session
        .find(Locator::Id("server-connect"))
        .await?
        .click()
        .await?;
    until_js(
        session,
        "the sign-in screen",
        "return !document.getElementById('screen-auth').hidden",
    )
    .await?;
    session
        .find(Locator::Id("username"))
        .await?
        .send_keys(username)
        .await?;
    session
        .find(Locator::Id("password"))
        .await?
        .send_keys(password)
        .await?;
    session.find(Locator::Id("sign-in")).await?.click().await?;
    Ok(())
}

/// A throwaway login keyring, unlocked: the Secret Service the app stores its token in.
pub fn unlock_keyring() -> Result<()> {
    use std::io::Write;
    let mut daemon = Command::new("gnome-keyring-daemon")
        .args(["--unlock", "--components=secrets"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("cannot start gnome-keyring-daemon (Debian package gnome-keyring)")?;
    daemon
        .stdin
        .take()
        .context("gnome-keyring-daemon has no stdin")?
        .write_all(KEYRING_PASSWORD.as_bytes())?;
    let status = daemon.wait()?;
    ensure!(
        status.success(),
        "gnome-keyring-daemon --unlock failed ({status})"
    );
    Ok(())
}

/// The binaries every harness program is given (by `xtask`'s `harness_args`).
#[derive(Debug, clap::Args)]
pub struct Binaries {
    /// The natter-server binary.
    #[arg(long)]
    pub server: PathBuf,
    /// The natter command-line client.
    #[arg(long)]
    pub cli: PathBuf,
    /// The natter-desktop binary.
    #[arg(long)]
    pub app: PathBuf,
    /// tauri-driver (`cargo install tauri-driver --locked`).
    #[arg(long)]
    pub tauri_driver: PathBuf,
    /// Where screenshots, logs and figures go.
    #[arg(long)]
    pub artifacts: PathBuf,
}

/// natter-server on a free loopback port with a fresh SQLite database.
pub struct Server {
    pub url: String,
    binary: PathBuf,
    data_dir: PathBuf,
    _process: Running,
}

impl Server {
    /// Starts the server with its defaults plus `extra` options.
    pub fn start(binary: &Path, work: &Path, artifacts: &Path, extra: &[&str]) -> Result<Self> {
        let port = free_port()?;
        let mut process = Running::logged(
            "natter-server",
            Command::new(binary)
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .arg("--data-dir")
                .arg(work.join("server"))
                // Users played by the CLI sign up freely and send at test speed; a story that
                // tests invites or limits passes `--signup invite` and the like, which win.
                .env("NATTER_SIGNUP", "open")
                .env("NATTER_USER_MESSAGES_PER_MINUTE", "0")
                .env("NATTER_USER_CALLS_PER_MINUTE", "0")
                .args(extra),
            &artifacts.join("e2e-server.log"),
        )?;
        poll("natter-server answering /healthz", START_TIMEOUT, || {
            process.ensure_running()?;
            Ok(http_ok(port, "/healthz").then_some(()))
        })?;
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
            binary: binary.to_path_buf(),
            data_dir: work.join("server"),
            _process: process,
        })
    }

    /// Runs `natter-server admin …` on this server's data, as its operator would.
    pub fn console(&self, args: &[&str]) -> Result<String> {
        output(
            Command::new(&self.binary)
                .arg("--data-dir")
                .arg(&self.data_dir)
                .arg("admin")
                .args(args),
        )
    }

    /// A new one-use invite code, made with the console.
    pub fn invite(&self) -> Result<String> {
        let printed = self.console(&["create-invite", "--uses", "1"])?;
        printed
            .strip_prefix("invite code: ")
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
            .with_context(|| format!("`natter-server admin create-invite` printed {printed:?}"))
    }
}

/// A user played by the `natter` command-line client, signed in with a token.
pub struct Cli {
    binary: PathBuf,
    server_url: String,
    data_dir: PathBuf,
    token: String,
    log: PathBuf,
}

impl Cli {
    pub fn signup(
        binary: &Path,
        server_url: &str,
        work: &Path,
        username: &str,
        display_name: &str,
    ) -> Result<Self> {
        Self::signup_invited(binary, server_url, work, username, display_name, None)
    }

    /// Signs up with an invite code, on a server that asks for one.
    pub fn signup_invited(
        binary: &Path,
        server_url: &str,
        work: &Path,
        username: &str,
        display_name: &str,
        invite: Option<&str>,
    ) -> Result<Self> {
        let data_dir = work.join(format!("cli-{username}"));
        let mut command = Command::new(binary);
        command
            .args(["--server", server_url])
            .arg("--data-dir")
            .arg(&data_dir)
            .args([
                "signup",
                username,
                "--display-name",
                display_name,
                "--print-token",
            ])
            .env("NATTER_PASSWORD", "a long enough password");
        if let Some(code) = invite {
            command.args(["--invite", code]);
        }
        let printed = output(&mut command)?;
        let answer: Value = serde_json::from_str(printed.trim())
            .with_context(|| format!("`natter signup` printed {printed:?}"))?;
        let token = answer["token"]
            .as_str()
            .context("`natter signup --print-token` printed no token")?
            .to_owned();
        Ok(Self {
            binary: binary.to_path_buf(),
            server_url: server_url.to_owned(),
            log: work.join(format!("cli-{username}.log")),
            data_dir,
            token,
        })
    }

    fn command(&self, data_dir: &Path) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(["--server", &self.server_url])
            .arg("--data-dir")
            .arg(data_dir)
            .env("NATTER_TOKEN", &self.token);
        command
    }

    pub fn run(&self, args: &[&str]) -> Result<String> {
        output(self.command(&self.data_dir).args(args))
    }

    /// Runs a command that is expected to fail; answers what it said on stderr.
    pub fn run_refused(&self, args: &[&str]) -> Result<String> {
        let result = self
            .command(&self.data_dir)
            .args(args)
            .output()
            .context("natter did not run")?;
        ensure!(
            !result.status.success(),
            "`natter {}` succeeded; it should have been refused",
            args.join(" ")
        );
        Ok(String::from_utf8_lossy(&result.stderr).into_owned())
    }

    /// The same command-line client, signed in with another token of the same user.
    pub fn with_token(&self, token: &str, name: &str) -> Self {
        Self {
            binary: self.binary.clone(),
            server_url: self.server_url.clone(),
            data_dir: self.data_dir.with_extension(name),
            token: token.to_owned(),
            log: self.log.clone(),
        }
    }

    /// `natter login` as `username`; answers the new session's token.
    pub fn login_token(
        binary: &Path,
        server_url: &str,
        work: &Path,
        username: &str,
        password: &str,
    ) -> Result<String> {
        let printed = output(
            Command::new(binary)
                .args(["--server", server_url])
                .arg("--data-dir")
                .arg(work.join(format!("cli-{username}-login")))
                .args(["login", username, "--print-token"])
                .env("NATTER_PASSWORD", password),
        )?;
        let answer: Value = serde_json::from_str(printed.trim())
            .with_context(|| format!("`natter login` printed {printed:?}"))?;
        answer["token"]
            .as_str()
            .map(str::to_owned)
            .context("`natter login --print-token` printed no token")
    }

    /// A long-running command (`natter answer`, `natter call`) whose JSON lines can be waited
    /// for; it has a cache of its own.
    pub fn start(&self, name: &str, args: &[&str]) -> Result<Running> {
        let data_dir = self
            .data_dir
            .with_extension(args.first().copied().unwrap_or("run"));
        Running::capture(name, self.command(&data_dir).args(args), &self.log)
    }

    /// Opens (or finds) my direct conversation with `username` (`natter dm`); answers its id.
    pub fn dm(&self, username: &str) -> Result<String> {
        let conversation: Value = serde_json::from_str(self.run(&["dm", username])?.trim())
            .context("`natter dm` printed no JSON")?;
        Ok(conversation["id"]
            .as_str()
            .context("`natter dm` printed no conversation id")?
            .to_owned())
    }

    /// `natter follow` of one conversation: the user is online while it runs.
    pub fn follow(&self, conversation_id: &str) -> Result<Running> {
        // Its own cache, so it does not share the outbox of the sending commands.
        let data_dir = self.data_dir.with_extension("follow");
        Running::capture(
            "natter follow",
            self.command(&data_dir).args(["follow", conversation_id]),
            &self.log,
        )
    }
}

/// tauri-driver in front of WebKitWebDriver; each session starts the app afresh.
pub struct TauriDriver {
    port: u16,
    app: PathBuf,
    process: std::sync::Mutex<Running>,
}

impl TauriDriver {
    /// Starts tauri-driver; the app it starts gets `env` on top of the test's environment.
    pub fn start(
        tauri_driver: &Path,
        app: &Path,
        work: &Path,
        artifacts: &Path,
        env: &[(&str, &str)],
    ) -> Result<Self> {
        let webkit_driver = find_program("WebKitWebDriver")
            .context("WebKitWebDriver is not installed (Debian package webkit2gtk-driver)")?;
        let port = free_port()?;
        let native_port = free_port()?;
        let mut process = Running::logged(
            "tauri-driver",
            Command::new(tauri_driver)
                .args(["--port", &port.to_string()])
                .args(["--native-port", &native_port.to_string()])
                .arg("--native-driver")
                .arg(webkit_driver)
                // Passed on to the app by WebKitWebDriver.
                .env("NATTER_DATA_DIR", work.join("app"))
                .env("NATTER_LOG", "info")
                // WebKitWebDriver keeps the app's own output to itself.
                .env("NATTER_LOG_FILE", artifacts.join("e2e-app-trace.log"))
                .env("GDK_BACKEND", "x11")
                .env_remove("NATTER_SERVER_URL")
                .envs(env.iter().copied()),
            &artifacts.join("e2e-app.log"),
        )?;
        poll("tauri-driver listening", START_TIMEOUT, || {
            process.ensure_running()?;
            Ok(listening(port).then_some(()))
        })?;
        Ok(Self {
            port,
            app: app.to_path_buf(),
            process: std::sync::Mutex::new(process),
        })
    }

    /// Starts the app and a WebDriver session on it.
    pub async fn session(&self) -> Result<Client> {
        self.session_with_args(&[]).await
    }

    /// Starts the app with command-line arguments and a WebDriver session on it.
    pub async fn session_with_args(&self, args: &[&str]) -> Result<Client> {
        if let Ok(mut process) = self.process.lock() {
            process.ensure_running()?;
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "tauri:options".to_owned(),
            json!({ "application": self.app, "args": args }),
        );
        let started = Instant::now();
        let session = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .context("starting the app through tauri-driver failed")?;
        println!(
            "tauri-driver: app started in {} ms",
            started.elapsed().as_millis()
        );
        Ok(session)
    }
}

/// Waits until no process runs the app's binary (the next start must not find the old one,
/// which would take over as the single instance).
pub fn wait_for_exit(app: &Path) -> Result<()> {
    poll("the app exiting", EXIT_TIMEOUT, || {
        Ok(processes::processes_running(app).is_empty().then_some(()))
    })
}

/// `step` (WebDriver commands), failing after [`UI_TIMEOUT`] instead of hanging: WebKitWebDriver
/// may leave a command unanswered, e.g. when the app goes away under it.
pub async fn within<T>(step: &str, future: impl Future<Output = T>) -> Result<T> {
    tokio::time::timeout(UI_TIMEOUT, future).await.map_err(|_| {
        anyhow::anyhow!(
            "{step}: WebKitWebDriver did not answer within {} s",
            UI_TIMEOUT.as_secs()
        )
    })
}

/// Screenshots of the app's window, named by step.
pub struct Screenshots {
    pub directory: PathBuf,
}

impl Screenshots {
    pub fn new(artifacts: &Path) -> Self {
        Self {
            directory: artifacts.to_path_buf(),
        }
    }

    pub async fn take(&self, session: &Client, name: &str) -> Result<()> {
        // The DOM may be ahead of the pixels: let the page paint twice before the picture.
        // WebKitWebDriver's screenshot then waits for the page's next presentation, which a
        // still page never makes (it waited for minutes on the main screen): a dot in the
        // corner changes shade every frame until the screenshot is back, so there is always a
        // next one (a fixed few seconds were not enough under load: the screenshot came after
        // the dot had stopped and waited for good).
        let painting = session.execute_async(
                "const done = arguments[arguments.length - 1]; \
                 let dot = document.getElementById('e2e-repaint'); \
                 if (!dot) { \
                   dot = document.createElement('div'); \
                   dot.id = 'e2e-repaint'; \
                   dot.style.cssText = 'position:fixed;right:0;bottom:0;width:1px;height:1px;' \
                     + 'pointer-events:none;z-index:2147483647'; \
                   document.body.appendChild(dot); \
                 } \
                 const until = performance.now() + arguments[0]; \
                 let dark = false; \
                 const tick = () => { \
                   dark = !dark; \
                   dot.style.background = dark ? 'rgba(0,0,0,0.03)' : 'rgba(0,0,0,0.02)'; \
                   if (!dot.isConnected) return; \
                   if (performance.now() < until) requestAnimationFrame(tick); else dot.remove(); \
                 }; \
                 requestAnimationFrame(() => requestAnimationFrame(() => { tick(); done(true); }));",
                vec![serde_json::json!(2 * UI_TIMEOUT.as_millis())],
            );
        within(
            &format!("the page painting before screenshot {name}"),
            painting,
        )
        .await?
        .with_context(|| format!("waiting for the page to paint before {name} failed"))?;
        let png = within(&format!("screenshot {name}"), session.screenshot()).await;
        // The page goes still again (best effort: the screenshot's outcome is what counts).
        let _ = within(
            "stopping the repaint",
            session.execute(
                "document.getElementById('e2e-repaint')?.remove()",
                Vec::new(),
            ),
        )
        .await;
        let png = png?.with_context(|| format!("screenshot {name} failed"))?;
        let path = self.directory.join(format!("e2e-{name}.png"));
        fs::write(&path, png).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Best effort: the screen at the moment of a failure.
    pub async fn failure(&self, session: &Client) {
        if self.take(session, "failure").await.is_ok() {
            eprintln!(
                "desktop e2e: screen at the failure: {}",
                self.directory.join("e2e-failure.png").display()
            );
        }
    }
}
