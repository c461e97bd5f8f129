//! `natter`: the headless Natter client, for scripts, bots, tests and load.
//!
//! Built on the same client core as the desktop app: the same REST client, realtime session,
//! outbox and cache. Output is one JSON object per line, for programs to read.

use std::{
    io::{BufRead, Write},
    path::PathBuf,
    process::ExitCode,
    time::Duration,
};

mod account;
mod calling;
mod messages;

use anyhow::{Context, anyhow, bail};
use clap::{Parser, Subcommand};
use natter_client::{
    Api, Client, ClientEvent, ClientOptions, CredentialStore, SessionConfig, StoredSession,
    view::MessageState,
};
use natter_protocol::{ConversationId, LoginRequest, SignupRequest, User};
use serde::Serialize;
use url::Url;

/// The credential store entry name of the command-line client.
const CREDENTIAL_SERVICE: &str = "org.natter.cli";

#[derive(Debug, Parser)]
#[command(
    name = "natter",
    version,
    about = "Headless Natter client: one JSON object per line"
)]
struct Options {
    /// Address of the Natter server.
    #[arg(
        long,
        env = "NATTER_SERVER_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    server: Url,
    /// Session token to use instead of the one stored by `natter login` (for scripts).
    #[arg(long, env = "NATTER_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Where the local cache and outbox live (default: the user's data directory).
    #[arg(long, env = "NATTER_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates an account and signs in. The password is read from NATTER_PASSWORD or stdin.
    Signup {
        username: String,
        #[arg(long)]
        display_name: Option<String>,
        /// The invite code, or an invite link (`natter://invite?…` or `https://…/invite/…`).
        #[arg(long)]
        invite: Option<String>,
        /// Print the token (for NATTER_TOKEN) instead of storing it.
        #[arg(long)]
        print_token: bool,
    },
    /// Signs in; the token goes to the OS credential store. Password from NATTER_PASSWORD or stdin.
    Login {
        username: String,
        /// The authenticator app's code (or a recovery code), when two-factor sign-in is on.
        #[arg(long)]
        totp: Option<String>,
        /// Print the token (for NATTER_TOKEN) instead of storing it.
        #[arg(long)]
        print_token: bool,
    },
    /// Revokes the session and deletes the stored token.
    Logout,
    /// Prints the signed-in user.
    Whoami,
    /// Lists my conversations, most recent activity first.
    Conversations,
    /// Starts (or finds) the direct conversation with a user.
    Dm { username: String },
    /// Creates a group with these members (usernames).
    Group { name: String, members: Vec<String> },
    /// Sends a message and waits until the server has stored it. CONVERSATION is an id, or
    /// @username for the direct conversation with that user.
    Send {
        conversation: String,
        text: String,
        /// The id of the message this one answers.
        #[arg(long)]
        reply_to: Option<natter_protocol::MessageId>,
        /// How long to wait for the server; the message stays queued (exit code 3) after that
        /// and is sent the next time `natter` runs.
        #[arg(long, default_value = "30")]
        wait_seconds: u64,
    },
    /// Prints every event live (one JSON line each), optionally of one conversation only.
    Follow { conversation: Option<String> },
    /// Full-text search over my messages.
    Search { query: String },
    /// Searches the user directory.
    Users { query: String },
    /// Calls a user and prints the call's progress and stats as JSON lines until it ends
    /// (exit code 0 when it completed). Opens our direct conversation first, as `dm` does.
    Call {
        username: String,
        /// A video call (default: voice).
        #[arg(long)]
        video: bool,
        #[command(flatten)]
        media: calling::MediaArgs,
    },
    /// Lists my calls, newest first.
    Calls,
    /// Waits for a call, takes it, and prints its progress like `call`.
    Answer {
        /// Keep answering every call until interrupted (a bot that picks up).
        #[arg(long)]
        auto: bool,
        #[command(flatten)]
        media: calling::MediaArgs,
    },
    /// Waits for a call and declines it, printing its progress like `call` (exit code 0 when
    /// it was declined).
    Decline,
    /// Lists the cameras, microphones and speakers calls can use (ids for `--camera`,
    /// `--microphone`, `--speaker`).
    Devices,
    #[command(flatten)]
    Account(account::AccountCommand),
    #[command(flatten)]
    Messages(messages::MessageCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NATTER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match run(Options::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("natter: {error:#}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn print(value: &impl Serialize) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, value)?;
    writeln!(stdout)?;
    stdout.flush()?;
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    read_secret("NATTER_PASSWORD", "password")
}

/// A secret from the environment variable `variable`, or else a line of stdin.
fn read_secret(variable: &str, prompt: &str) -> anyhow::Result<String> {
    if let Ok(secret) = std::env::var(variable) {
        return Ok(secret);
    }
    eprint!("{prompt}: ");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("reading the {prompt} from stdin"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

struct Cli {
    options: Options,
    api: Api,
    credentials: CredentialStore,
}

async fn run(options: Options) -> anyhow::Result<ExitCode> {
    let api = Api::new(options.server.clone())?;
    let cli = Cli {
        api,
        credentials: CredentialStore::new(CREDENTIAL_SERVICE),
        options,
    };
    match &cli.options.command {
        Command::Signup {
            username,
            display_name,
            invite,
            print_token,
        } => {
            let password = read_password()?;
            let invite_code = match invite {
                Some(text) => Some(
                    natter_client::invites::code_from_input(text)
                        .ok_or_else(|| anyhow!("{text:?} is neither an invite code nor a link"))?,
                ),
                None => None,
            };
            let auth = cli
                .api
                .signup(&SignupRequest {
                    username: username.clone(),
                    display_name: natter_client::api::signup_display_name(
                        username,
                        display_name.as_deref(),
                    ),
                    password,
                    device_name: Some("natter CLI".into()),
                    invite_code,
                })
                .await?;
            cli.signed_in(&auth, *print_token).await?;
        }
        Command::Login {
            username,
            totp,
            print_token,
        } => {
            let password = read_password()?;
            let auth = cli
                .api
                .login(&LoginRequest {
                    username: username.clone(),
                    password,
                    device_name: Some("natter CLI".into()),
                    totp_code: totp.clone(),
                })
                .await?;
            cli.signed_in(&auth, *print_token).await?;
        }
        Command::Account(command) => account::run(&cli, command).await?,
        Command::Messages(command) => return messages::run(&cli, command).await,
        Command::Logout => {
            let api = cli.signed_in_api().await?;
            api.logout().await.or_else(|error| {
                if error.is_unauthorized() {
                    Ok(())
                } else {
                    Err(error)
                }
            })?;
            cli.forget().await?;
        }
        Command::Whoami => print(&cli.signed_in_api().await?.me().await?)?,
        Command::Conversations => {
            let client = cli.client().await?;
            for conversation in client.conversations().await? {
                print(&conversation)?;
            }
            client.stop().await;
        }
        Command::Dm { username } => {
            let client = cli.client().await?;
            let user = find_user(&client, username).await?;
            print(&client.start_direct(user.id).await?)?;
            client.stop().await;
        }
        Command::Group { name, members } => {
            let client = cli.client().await?;
            let mut ids = Vec::new();
            for member in members {
                ids.push(find_user(&client, member).await?.id);
            }
            print(&client.create_group(name, ids).await?)?;
            client.stop().await;
        }
        Command::Send {
            conversation,
            text,
            reply_to,
            wait_seconds,
        } => {
            let client = cli.client().await?;
            let id = resolve_conversation(&client, conversation).await?;
            let events = client.subscribe();
            let pending = client.send(id, text, *reply_to).await?;
            let outcome = until_stored(events, &pending, Duration::from_secs(*wait_seconds)).await;
            client.stop().await;
            return outcome;
        }
        Command::Follow { conversation } => {
            let client = cli.client().await?;
            let only = match conversation {
                Some(conversation) => Some(resolve_conversation(&client, conversation).await?),
                None => None,
            };
            let mut events = client.subscribe();
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Ok(event) => {
                            if only.is_none_or(|id| event_conversation(&event).is_none_or(|c| c == id)) {
                                print(&event)?;
                            }
                            if matches!(event, ClientEvent::SignedOut) {
                                break;
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                            eprintln!("natter: output fell behind; {missed} events not printed");
                        }
                        Err(_) => break,
                    },
                    _ = tokio::signal::ctrl_c() => break,
                }
            }
            client.stop().await;
        }
        Command::Search { query } => {
            let api = cli.signed_in_api().await?;
            for message in api.search_messages(query, 50).await?.messages {
                print(&message)?;
            }
        }
        Command::Call {
            username,
            video,
            media,
        } => {
            let talk_time = media.talk_time()?;
            let (settings, probe) = media.settings()?;
            let client = cli.client_with(settings).await?;
            let callee = find_user(&client, username).await?;
            // The server lets only people who share a conversation call each other, and tells
            // anyone else "no such user" (so as not to say who exists). Opening our direct
            // conversation first, as `natter dm` does, makes a first call work like a first
            // message.
            client
                .start_direct(callee.id)
                .await
                .with_context(|| format!("could not open a conversation with {username:?}"))?;
            let kind = if *video {
                natter_protocol::CallKind::Video
            } else {
                natter_protocol::CallKind::Voice
            };
            let mode = calling::Mode::Call {
                callee: callee.id,
                kind,
            };
            return calling::run_to_end(client, mode, talk_time, probe).await;
        }
        Command::Answer { auto, media } => {
            let talk_time = media.talk_time()?;
            let (settings, probe) = media.settings()?;
            let client = cli.client_with(settings).await?;
            let mode = calling::Mode::Answer {
                keep_answering: *auto,
            };
            return calling::run_to_end(client, mode, talk_time, probe).await;
        }
        Command::Devices => {
            let list = tokio::task::spawn_blocking(natter_media::devices::list).await?;
            for (kind, devices) in [
                ("camera", list.cameras),
                ("microphone", list.microphones),
                ("speaker", list.speakers),
            ] {
                for device in devices {
                    print(&serde_json::json!({
                        "type": "device",
                        "kind": kind,
                        "id": device.id,
                        "name": device.name,
                    }))?;
                }
            }
        }
        Command::Decline => {
            let client = cli.client().await?;
            return calling::run_to_end(client, calling::Mode::Decline, None, None).await;
        }
        Command::Calls => {
            let api = cli.signed_in_api().await?;
            for call in api.call_history(None).await?.calls {
                print(&call)?;
            }
        }
        Command::Users { query } => {
            let api = cli.signed_in_api().await?;
            for user in api.search_users(query, 50).await?.users {
                print(&user)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Waits until the server has stored (or refused) a queued message and prints it; exit code 0
/// when stored, 1 when refused, 3 when it is still queued after `wait` (the next run of
/// `natter` sends it). `events` must be subscribed before the message was queued.
async fn until_stored(
    mut events: tokio::sync::broadcast::Receiver<ClientEvent>,
    pending: &natter_client::view::MessageView,
    wait: Duration,
) -> anyhow::Result<ExitCode> {
    let outcome = tokio::time::timeout(wait, async {
        loop {
            match events.recv().await {
                Ok(ClientEvent::Message { message, .. })
                    if message.client_id == pending.client_id
                        && message.state != MessageState::Sending =>
                {
                    return Ok(message);
                }
                Ok(ClientEvent::SignedOut) => bail!("the server refused the session"),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(error) => return Err(error.into()),
            }
        }
    })
    .await;
    match outcome {
        Ok(message) => {
            let message = message?;
            print(&message)?;
            if message.state == MessageState::Failed {
                eprintln!(
                    "natter: the server refused the message: {}",
                    message.error.as_deref().unwrap_or("no reason given")
                );
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(_) => {
            print(pending)?;
            eprintln!(
                "natter: not sent in time; the message stays in the outbox (its files' uploads \
                 resume) and is sent the next time natter runs"
            );
            Ok(ExitCode::from(3))
        }
    }
}

fn event_conversation(event: &ClientEvent) -> Option<ConversationId> {
    match event {
        ClientEvent::Conversation { conversation } => Some(conversation.id),
        ClientEvent::ConversationRemoved { conversation_id }
        | ClientEvent::MessageDiscarded {
            conversation_id, ..
        }
        | ClientEvent::FileProgress {
            conversation_id, ..
        }
        | ClientEvent::HistoryReloaded { conversation_id }
        | ClientEvent::Typing {
            conversation_id, ..
        } => Some(*conversation_id),
        ClientEvent::Message { message, .. } => Some(message.conversation_id),
        ClientEvent::Connection { .. }
        | ClientEvent::Presence { .. }
        | ClientEvent::SignedOut
        | ClientEvent::Call { .. }
        | ClientEvent::CallStats { .. } => None,
    }
}

async fn find_user(client: &Client, username: &str) -> anyhow::Result<User> {
    user_named(client.api(), username).await
}

/// A user by exact username (`@` allowed), through the directory.
pub(crate) async fn user_named(api: &Api, username: &str) -> anyhow::Result<User> {
    let username = username.trim_start_matches('@').to_lowercase();
    api.search_users(&username, 20)
        .await?
        .users
        .into_iter()
        .find(|user| user.username == username)
        .ok_or_else(|| anyhow!("no user named {username:?}"))
}

async fn resolve_conversation(client: &Client, text: &str) -> anyhow::Result<ConversationId> {
    if text.starts_with('@') {
        let user = find_user(client, text).await?;
        return Ok(client.start_direct(user.id).await?.id);
    }
    text.parse()
        .with_context(|| format!("{text:?} is neither a conversation id nor @username"))
}

impl Cli {
    /// Deletes the stored token of this server (nothing is stored when the token came from
    /// `--token` or NATTER_TOKEN).
    async fn forget(&self) -> anyhow::Result<()> {
        if self.options.token.is_some() {
            return Ok(());
        }
        let credentials = self.credentials.clone();
        let server = self.server_key();
        tokio::task::spawn_blocking(move || credentials.delete(&server)).await??;
        Ok(())
    }

    fn server_key(&self) -> String {
        self.options
            .server
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }

    async fn signed_in(
        &self,
        auth: &natter_protocol::AuthResponse,
        print_token: bool,
    ) -> anyhow::Result<()> {
        if print_token {
            return print(&serde_json::json!({ "token": auth.token, "user": auth.user }));
        }
        self.remember(&auth.user, &auth.token).await?;
        print(&auth.user)
    }

    async fn remember(&self, user: &User, token: &str) -> anyhow::Result<()> {
        let credentials = self.credentials.clone();
        let server = self.server_key();
        let session = StoredSession {
            user_id: user.id,
            username: user.username.clone(),
            token: token.to_owned(),
        };
        tokio::task::spawn_blocking(move || credentials.save(&server, &session))
            .await?
            .context(
                "signed in, but the token could not be stored; pass it with NATTER_TOKEN instead",
            )
    }

    async fn token(&self) -> anyhow::Result<String> {
        if let Some(token) = &self.options.token {
            return Ok(token.clone());
        }
        let credentials = self.credentials.clone();
        let server = self.server_key();
        let stored = tokio::task::spawn_blocking(move || credentials.load(&server)).await??;
        stored
            .map(|session| session.token)
            .ok_or_else(|| anyhow!("not signed in to {}: run `natter login`", self.server_key()))
    }

    async fn signed_in_api(&self) -> anyhow::Result<Api> {
        Ok(self.api.with_token(self.token().await?))
    }

    async fn client(&self) -> anyhow::Result<Client> {
        self.client_with(Default::default()).await
    }

    async fn client_with(
        &self,
        calls: natter_client::call_shell::CallSettings,
    ) -> anyhow::Result<Client> {
        let api = self.signed_in_api().await?;
        let me = api.me().await.context("who am I")?;
        let data_dir = match &self.options.data_dir {
            Some(dir) => dir.clone(),
            None => directories::ProjectDirs::from("org", "natter", "natter-cli")
                .map(|dirs| dirs.data_dir().to_owned())
                .ok_or_else(|| anyhow!("no home directory: pass --data-dir"))?,
        };
        Ok(Client::start(
            api,
            me,
            ClientOptions {
                data_dir,
                session: SessionConfig::default(),
                calls,
            },
        )
        .await?)
    }
}
