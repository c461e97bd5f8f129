//! Message commands beside `send`: reactions and muting a conversation. Output is the changed
//! message (or conversation) as a JSON line.

use clap::Subcommand;
use natter_protocol::MessageId;

use crate::{Cli, print, resolve_conversation};

#[derive(Debug, Subcommand)]
pub enum MessageCommand {
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

pub async fn run(cli: &Cli, command: &MessageCommand) -> anyhow::Result<()> {
    let client = cli.client().await?;
    let outcome = async {
        match command {
            MessageCommand::React {
                conversation,
                message,
                emoji,
                remove,
            } => {
                let id = resolve_conversation(&client, conversation).await?;
                print(&client.react(id, *message, emoji, !remove).await?)
            }
            MessageCommand::Mute { conversation, off } => {
                let id = resolve_conversation(&client, conversation).await?;
                client.mute_conversation(id, !off).await?;
                print(&client.conversation(id).await?)
            }
        }
    }
    .await;
    client.stop().await;
    outcome
}
