//! The server's console: `natter-server admin …`, run on the server's machine against the same
//! data directory or database as the running server. It needs no account, so it is how the
//! first admin comes to be. Every change is audited as done by `console`.
//!
//! A running server closes the connections of an account the console disabled or deleted
//! within a few seconds (`close_ended_accounts` in `lib.rs`).

use std::io::Read;

use anyhow::Context;
use clap::{Parser, Subcommand};
use natter_protocol::{AdminUpdateUserRequest, CreateInviteRequest};
use tokio_util::sync::CancellationToken;

use crate::{
    Config,
    accounts::invites,
    admin,
    audit::{self, Actor},
    core::Core,
    db::Db,
    util::now_ms,
};

/// The self-hosted Natter server.
///
/// With no options it listens on 127.0.0.1:8080 and keeps its SQLite database in ./natter-data.
/// Every option can also be given through the environment variable named beside it. Options
/// go before a subcommand: `natter-server --data-dir /var/lib/natter admin list-users`.
#[derive(Debug, Parser)]
#[command(name = "natter-server", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Administer accounts and invites on this server's data (docs/operations.md, "First run").
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an account, whatever the sign-up mode. Without --password-stdin it gets no usable
    /// password: a one-time code is printed that sets one (the app's "Reset password").
    CreateUser {
        username: String,
        /// Make it an admin.
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts (username, admin, disabled, two-factor, sessions).
    ListUsers {
        /// Start of a username, or part of a display name.
        #[arg(long)]
        query: Option<String>,
    },
    Promote {
        username: String,
    },
    Demote {
        username: String,
    },
    /// Disable an account: its sessions end and it cannot sign in.
    Disable {
        username: String,
    },
    Enable {
        username: String,
    },
    /// Print a one-time code that sets a new password (valid 24 hours).
    ResetPassword {
        username: String,
    },
    /// Turn off the two-factor sign-in of someone who lost their phone and recovery codes
    /// (make sure who they are first).
    Reset2fa {
        username: String,
    },
    /// Delete an account (its messages stay, as from "Deleted account").
    DeleteUser {
        username: String,
        /// Confirm: deletion cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// Create an invite code.
    CreateInvite {
        /// How many accounts may sign up with it.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// Hours until it expires.
        #[arg(long, default_value_t = natter_protocol::limits::INVITE_DEFAULT_HOURS)]
        hours: u32,
        #[arg(long)]
        note: Option<String>,
        /// The server's public address, to print ready-made links too
        /// (e.g. https://chat.example.org).
        #[arg(long)]
        server_url: Option<String>,
    },
    /// Show the newest entries of the audit log.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// Runs one console command and prints its result for people.
pub async fn run(config: Config, command: AdminCommand) -> anyhow::Result<()> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "could not create the data directory {}",
                config.data_dir.display()
            )
        })?;
    }
    let db = Db::open(&config.effective_database_url(), 2).await?;
    let files = crate::open_files(&config)?;
    let core = Core::new(config, db, files, CancellationToken::new());
    let result = execute(&core, command).await;
    core.db.pool.close().await;
    result
}

async fn execute(core: &Core, command: AdminCommand) -> anyhow::Result<()> {
    let by_name = |name: String| async move {
        admin::user_id_by_name(&core.db, &name)
            .await
            .with_context(|| format!("no account named {name:?}"))
    };
    let update = |name: String, request: AdminUpdateUserRequest| async move {
        let user_id = by_name(name).await?;
        let user =
            admin::update_user(&core.db, &core.hub, Actor::Console, user_id, request).await?;
        anyhow::Ok(user)
    };
    match command {
        AdminCommand::CreateUser {
            username,
            admin: is_admin,
            display_name,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut input = String::new();
                std::io::stdin()
                    .read_to_string(&mut input)
                    .context("could not read the password from standard input")?;
                input.lines().next().unwrap_or("").to_owned()
            } else {
                crate::credentials::new_session_token()
            };
            let user_id = admin::create_user(
                &core.db,
                &core.gate.passwords,
                &username,
                display_name.as_deref(),
                &password,
                is_admin,
            )
            .await?;
            let role = if is_admin { "admin" } else { "user" };
            println!("created {role} {username} ({user_id})");
            if !password_stdin {
                let reset = admin::reset_password(&core.db, Actor::Console, user_id).await?;
                println!(
                    "set its password with this one-time code (valid 24 hours): {}\n\
                     in the app: \"Forgot password?\" on the sign-in form; with the CLI: \
                     natter reset-password --code {}",
                    reset.code, reset.code
                );
            }
        }
        AdminCommand::ListUsers { query } => {
            let mut cursor = None;
            println!(
                "{:<32} {:<6} {:<9} {:<4} {:>8}",
                "USERNAME", "ADMIN", "DISABLED", "2FA", "SESSIONS"
            );
            loop {
                let page = admin::users(
                    &core.db,
                    &core.hub,
                    query.as_deref(),
                    Some(200),
                    cursor.as_deref(),
                )
                .await?;
                for user in &page.users {
                    let yes = |flag: bool| if flag { "yes" } else { "-" };
                    println!(
                        "{:<32} {:<6} {:<9} {:<4} {:>8}",
                        user.username,
                        yes(user.is_admin),
                        yes(user.disabled),
                        yes(user.totp_enabled),
                        user.sessions
                    );
                }
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        AdminCommand::Promote { username } => {
            update(
                username.clone(),
                AdminUpdateUserRequest {
                    is_admin: Some(true),
                    disabled: None,
                },
            )
            .await?;
            println!("{username} is an admin");
        }
        AdminCommand::Demote { username } => {
            update(
                username.clone(),
                AdminUpdateUserRequest {
                    is_admin: Some(false),
                    disabled: None,
                },
            )
            .await?;
            println!("{username} is no longer an admin");
        }
        AdminCommand::Disable { username } => {
            update(
                username.clone(),
                AdminUpdateUserRequest {
                    is_admin: None,
                    disabled: Some(true),
                },
            )
            .await?;
            println!(
                "{username} is disabled; a running server closes its connections within seconds"
            );
        }
        AdminCommand::Enable { username } => {
            update(
                username.clone(),
                AdminUpdateUserRequest {
                    is_admin: None,
                    disabled: Some(false),
                },
            )
            .await?;
            println!("{username} is enabled");
        }
        AdminCommand::ResetPassword { username } => {
            let user_id = by_name(username.clone()).await?;
            let reset = admin::reset_password(&core.db, Actor::Console, user_id).await?;
            println!(
                "one-time code for {username} (valid 24 hours; earlier codes no longer work): {}",
                reset.code
            );
        }
        AdminCommand::Reset2fa { username } => {
            let user_id = by_name(username.clone()).await?;
            admin::reset_two_factor(&core.db, &core.hub, Actor::Console, user_id).await?;
            println!("{username} signs in with the password alone now");
        }
        AdminCommand::DeleteUser { username, yes } => {
            anyhow::ensure!(
                yes,
                "deleting {username} cannot be undone: add --yes to confirm"
            );
            let user_id = by_name(username.clone()).await?;
            admin::delete_user(&core.db, &core.hub, Actor::Console, user_id).await?;
            println!("{username} is deleted");
        }
        AdminCommand::CreateInvite {
            uses,
            hours,
            note,
            server_url,
        } => {
            let request = CreateInviteRequest {
                max_uses: Some(uses),
                expires_in_hours: Some(hours),
                note,
            };
            let mut tx = core.db.begin_write().await?;
            let created = invites::create_as(&mut tx, Actor::Console, &request).await?;
            tx.commit().await?;
            let hours_left = (created.invite.expires_at - now_ms()) / 3_600_000;
            println!(
                "invite code: {} ({} use(s), expires in {hours_left} h)",
                created.code, created.invite.max_uses
            );
            if let Some(url) = server_url {
                let url = url.trim_end_matches('/');
                let encoded: String =
                    percent_encoding::utf8_percent_encode(url, percent_encoding::NON_ALPHANUMERIC)
                        .collect();
                println!("link: {url}/invite/{}", created.code);
                println!(
                    "app link: natter://invite?server={encoded}&code={}",
                    created.code
                );
            }
        }
        AdminCommand::Audit { limit } => {
            let page = audit::page(&core.db, Some(limit.clamp(1, 200)), None).await?;
            for entry in page.entries {
                println!(
                    "{} {:<12} {:<20} {} {}",
                    entry.at,
                    entry.actor_name,
                    entry.action,
                    entry
                        .target_user_id
                        .map(|id| id.to_string())
                        .unwrap_or_default(),
                    entry.detail
                );
            }
        }
    }
    Ok(())
}
