//! Message commands beside `send`: files, reactions and muting a conversation. Output is the
//! changed message (or conversation, or file) as a JSON line.

use std::{path::PathBuf, time::Duration};

use anyhow::{Context, bail};
use clap::Subcommand;
use natter_protocol::MessageId;

use crate::{Cli, print, resolve_conversation, until_stored};

#[derive(Debug, Subcommand)]
pub enum MessageCommand {
    /// Sends files (and optionally text) and waits until the server has stored the message;
    /// the upload resumes after a cut, and a message still queued when `--wait-seconds` runs
    /// out (exit code 3) is sent, upload resumed, the next time `natter` runs.
    SendFile {
        conversation: String,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, default_value = "")]
        text: String,
        #[arg(long)]
        reply_to: Option<MessageId>,
        #[arg(long, default_value = "600")]
        wait_seconds: u64,
    },
    /// Downloads a message's files into PATH (a folder, default the current one, or a file
    /// name for a message of one file). A download cut short resumes when run again.
    Download {
        message: MessageId,
        path: Option<PathBuf>,
    },
    /// Reacts to a message with one emoji (once per emoji); `--remove` takes it back.
    /// CONVERSATION is an id, or @username for our direct conversation.
    React {
        conversation: String,
        message: MessageId,
        emoji: String,
        #[arg(long)]
        remove: bool,
    },
    /// Mutes a conversation on all my devices (messages that mention me still notify);
    /// `--off` unmutes it.
    Mute {
        conversation: String,
        #[arg(long)]
        off: bool,
    },
}

pub async fn run(cli: &Cli, command: &MessageCommand) -> anyhow::Result<std::process::ExitCode> {
    let client = cli.client().await?;
    let outcome = async {
        match command {
            MessageCommand::SendFile {
                conversation,
                paths,
                text,
                reply_to,
                wait_seconds,
            } => {
                let id = resolve_conversation(&client, conversation).await?;
                let events = client.subscribe();
                let files = paths.iter().cloned().map(Into::into).collect();
                let pending = client.send_files(id, text, *reply_to, files).await?;
                until_stored(events, &pending, Duration::from_secs(*wait_seconds)).await
            }
            MessageCommand::Download { message, path } => {
                let message = client.find_message(*message).await?;
                if message.attachments.is_empty() {
                    bail!("message {} has no files", message.id);
                }
                let target = path.clone().unwrap_or_else(|| PathBuf::from("."));
                for attachment in &message.attachments {
                    let destination = if target.is_dir() {
                        natter_client::files::free_path(&target, &attachment.name)
                    } else if message.attachments.len() == 1 {
                        target.clone()
                    } else {
                        bail!(
                            "{} is not a folder, and the message has several files",
                            target.display()
                        );
                    };
                    let destination = client
                        .download(attachment, &destination, |_, _| {})
                        .await
                        .with_context(|| format!("downloading {}", attachment.name))?;
                    print(&serde_json::json!({
                        "type": "downloaded",
                        "name": attachment.name,
                        "path": destination,
                        "size": attachment.size,
                        "content_type": attachment.content_type,
                    }))?;
                }
                Ok(std::process::ExitCode::SUCCESS)
            }
            MessageCommand::React {
                conversation,
                message,
                emoji,
                remove,
            } => {
                let id = resolve_conversation(&client, conversation).await?;
                print(&client.react(id, *message, emoji, !remove).await?)?;
                Ok(std::process::ExitCode::SUCCESS)
            }
            MessageCommand::Mute { conversation, off } => {
                let id = resolve_conversation(&client, conversation).await?;
                client.mute_conversation(id, !off).await?;
                print(&client.conversation(id).await?)?;
                Ok(std::process::ExitCode::SUCCESS)
            }
        }
    }
    .await;
    client.stop().await;
    outcome
}
