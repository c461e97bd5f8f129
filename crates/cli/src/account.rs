//! Account commands: my devices, password, two-factor sign-in, blocks, invites, reports,
//! deleting my account and exporting my data. Output is JSON lines like every command, except
//! where a person must read it (the QR code of `2fa setup`, on stderr).

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use natter_protocol::{
    ChangePasswordRequest, ConfirmWithPassword, CreateInviteRequest, MessageId,
    ResetPasswordRequest, SessionId,
};

use crate::{Cli, print, read_password, read_secret, user_named};

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Lists my signed-in devices (`current` marks this one), or signs one or all others out.
    Sessions {
        #[command(subcommand)]
        action: Option<SessionsAction>,
    },
    /// Changes my password: the current one from NATTER_PASSWORD (or stdin), the new one from
    /// NATTER_NEW_PASSWORD (or stdin).
    Password {
        /// Sign out every other device too.
        #[arg(long)]
        sign_out_others: bool,
    },
    /// Sets a new password with the one-time code an admin gave (new password from
    /// NATTER_NEW_PASSWORD or stdin). Needs no sign-in.
    ResetPassword {
        #[arg(long)]
        code: String,
    },
    /// Two-factor sign-in with an authenticator app.
    #[command(name = "2fa", subcommand)]
    TwoFactor(TwoFactorCommand),
    /// Blocks a user: they cannot message or call me.
    Block {
        username: String,
    },
    Unblock {
        username: String,
    },
    /// Lists the users I blocked.
    Blocked,
    /// Creates an invite code (admins, or everyone if the server allows it) and prints it with
    /// its links.
    Invite {
        #[arg(long, default_value_t = 1)]
        uses: u32,
        #[arg(long, default_value_t = natter_protocol::limits::INVITE_DEFAULT_HOURS)]
        hours: u32,
        #[arg(long)]
        note: Option<String>,
    },
    /// Lists my invites, or revokes one.
    Invites {
        #[command(subcommand)]
        action: Option<InvitesAction>,
    },
    /// Reports a message to the server's admins.
    Report {
        /// The conversation's id.
        conversation: natter_protocol::ConversationId,
        message: MessageId,
        reason: String,
    },
    /// Deletes my account (password from NATTER_PASSWORD or stdin). My messages stay, shown
    /// as from "Deleted account".
    DeleteAccount {
        /// Confirm: this cannot be undone.
        #[arg(long)]
        yes: bool,
        /// A two-factor code, when two-factor sign-in is on.
        #[arg(long)]
        totp: Option<String>,
    },
    /// Saves everything the server keeps of mine as JSON (default: natter-export.json).
    Export {
        path: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionsAction {
    /// Signs out one device (an id from `natter sessions`).
    Revoke { id: SessionId },
    /// Signs out every device but this one.
    RevokeOthers,
}

#[derive(Debug, Subcommand)]
pub enum InvitesAction {
    Revoke { id: natter_protocol::InviteId },
}

#[derive(Debug, Subcommand)]
pub enum TwoFactorCommand {
    /// Makes a new secret: prints it and its otpauth:// URI, and draws the QR code on stderr.
    Setup,
    /// Turns two-factor sign-in on with a code from the app; prints the recovery codes.
    Confirm { code: String },
    /// Turns it off (password from NATTER_PASSWORD or stdin).
    Disable {
        /// A current code, or a recovery code.
        #[arg(long)]
        code: String,
    },
}

pub async fn run(cli: &Cli, command: &AccountCommand) -> anyhow::Result<()> {
    if let AccountCommand::ResetPassword { code } = command {
        let new_password = read_secret("NATTER_NEW_PASSWORD", "new password")?;
        cli.api
            .reset_password(&ResetPasswordRequest {
                code: code.clone(),
                new_password,
            })
            .await?;
        return print(&serde_json::json!({ "type": "password_reset" }));
    }
    let api = cli.signed_in_api().await?;
    match command {
        AccountCommand::ResetPassword { .. } => {}
        AccountCommand::Sessions { action: None } => {
            for session in api.sessions().await?.sessions {
                print(&session)?;
            }
        }
        AccountCommand::Sessions {
            action: Some(SessionsAction::Revoke { id }),
        } => {
            api.revoke_session(*id).await?;
            print(&serde_json::json!({ "type": "session_revoked", "id": id }))?;
        }
        AccountCommand::Sessions {
            action: Some(SessionsAction::RevokeOthers),
        } => {
            api.revoke_other_sessions().await?;
            print(&serde_json::json!({ "type": "other_sessions_revoked" }))?;
        }
        AccountCommand::Password { sign_out_others } => {
            let current_password = read_password()?;
            let new_password = read_secret("NATTER_NEW_PASSWORD", "new password")?;
            api.change_password(&ChangePasswordRequest {
                current_password,
                new_password,
                sign_out_other_devices: *sign_out_others,
            })
            .await?;
            print(&serde_json::json!({ "type": "password_changed" }))?;
        }
        AccountCommand::TwoFactor(TwoFactorCommand::Setup) => {
            let setup = api.totp_setup().await?;
            if let Ok(qr) = qrcode::QrCode::new(setup.otpauth_uri.as_bytes()) {
                let picture = qr
                    .render::<qrcode::render::unicode::Dense1x2>()
                    .quiet_zone(true)
                    .build();
                eprintln!(
                    "{picture}\nscan this with the authenticator app, then: natter 2fa confirm CODE"
                );
            }
            print(&setup)?;
        }
        AccountCommand::TwoFactor(TwoFactorCommand::Confirm { code }) => {
            print(&api.totp_confirm(code).await?)?;
        }
        AccountCommand::TwoFactor(TwoFactorCommand::Disable { code }) => {
            let password = read_password()?;
            api.totp_disable(&ConfirmWithPassword {
                password,
                totp_code: Some(code.clone()),
            })
            .await?;
            print(&serde_json::json!({ "type": "two_factor_disabled" }))?;
        }
        AccountCommand::Block { username } => {
            let user = user_named(&api, username).await?;
            api.block(user.id).await?;
            print(&serde_json::json!({ "type": "blocked", "user": user }))?;
        }
        AccountCommand::Unblock { username } => {
            let blocked = api.blocked().await?.users;
            let name = username.trim_start_matches('@').to_lowercase();
            let user = blocked
                .into_iter()
                .find(|user| user.username == name)
                .ok_or_else(|| anyhow!("{username:?} is not someone I blocked"))?;
            api.unblock(user.id).await?;
            print(&serde_json::json!({ "type": "unblocked", "user": user }))?;
        }
        AccountCommand::Blocked => {
            for user in api.blocked().await?.users {
                print(&user)?;
            }
        }
        AccountCommand::Invite { uses, hours, note } => {
            let created = api
                .create_invite(&CreateInviteRequest {
                    max_uses: Some(*uses),
                    expires_in_hours: Some(*hours),
                    note: note.clone(),
                })
                .await?;
            let server = api.base();
            print(&serde_json::json!({
                "type": "invite",
                "code": created.code,
                "link": natter_client::invites::web_link(server, &created.code),
                "app_link": natter_client::invites::app_link(server, &created.code),
                "invite": created.invite,
            }))?;
        }
        AccountCommand::Invites { action: None } => {
            for invite in api.my_invites().await?.invites {
                print(&invite)?;
            }
        }
        AccountCommand::Invites {
            action: Some(InvitesAction::Revoke { id }),
        } => {
            api.revoke_invite(*id).await?;
            print(&serde_json::json!({ "type": "invite_revoked", "id": id }))?;
        }
        AccountCommand::Report {
            conversation,
            message,
            reason,
        } => {
            api.report_message(*conversation, *message, reason).await?;
            print(&serde_json::json!({ "type": "reported", "message_id": message }))?;
        }
        AccountCommand::DeleteAccount { yes, totp } => {
            if !yes {
                bail!("deleting the account cannot be undone: add --yes to confirm");
            }
            let password = read_password()?;
            api.delete_account(&ConfirmWithPassword {
                password,
                totp_code: totp.clone(),
            })
            .await?;
            cli.forget().await?;
            print(&serde_json::json!({ "type": "account_deleted" }))?;
        }
        AccountCommand::Export { path } => {
            let bytes = api.export().await?;
            let path = path
                .clone()
                .unwrap_or_else(|| PathBuf::from("natter-export.json"));
            tokio::fs::write(&path, &bytes)
                .await
                .with_context(|| format!("could not write {}", path.display()))?;
            print(&serde_json::json!({
                "type": "exported", "path": path, "bytes": bytes.len(),
            }))?;
        }
    }
    Ok(())
}
