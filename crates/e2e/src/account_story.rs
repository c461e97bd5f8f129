//! The account story (issue 20), after Alice signed up with an invite: she sees her devices
//! and signs one out, changes her password, and blocks Carol, whose next message then never
//! arrives.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::harness::{Cli, Screenshots, until_js};

/// Alice's password as she signed up in the app, and the one she changes it to.
pub const PASSWORD: &str = "correct horse battery";
pub const NEW_PASSWORD: &str = "a brand new password";

/// Who takes part: the command-line client's binary and the server, Bob and Carol.
pub struct Cast<'a> {
    pub cli: &'a Path,
    pub server_url: &'a str,
    pub work: &'a Path,
    pub bob: &'a Cli,
    pub carol: &'a Cli,
}

pub async fn run(session: &Client, cast: &Cast<'_>, screens: &Screenshots) -> Result<()> {
    // The call story's last call shows "Call ended" for a moment over everything.
    until_js(
        session,
        "the call screen gone after the last call",
        "const screen = document.querySelector('[data-testid=call-screen]');          return screen === null || screen.hidden || getComputedStyle(screen).display === 'none'",
    )
    .await?;
    devices(session, cast, screens).await?;
    password(session, cast, screens).await?;
    session
        .find(Locator::Id("account-close"))
        .await?
        .click()
        .await?;
    block(session, cast, screens).await
}

async fn click_id(session: &Client, id: &str) -> Result<()> {
    session
        .find(Locator::Id(id))
        .await
        .with_context(|| format!("#{id} is not on the page"))?
        .click()
        .await
        .with_context(|| format!("#{id} could not be clicked"))
}

async fn click_css(session: &Client, css: &str) -> Result<()> {
    session
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("{css} is not on the page"))?
        .click()
        .await
        .with_context(|| format!("{css} could not be clicked"))
}

async fn type_css(session: &Client, css: &str, text: &str) -> Result<()> {
    let field = session.find(Locator::Css(css)).await?;
    field.clear().await?;
    field.send_keys(text).await?;
    Ok(())
}

/// Alice also signs in with the command-line client; the app lists both devices and signs the
/// other one out, whose token then stops working.
async fn devices(session: &Client, cast: &Cast<'_>, screens: &Screenshots) -> Result<()> {
    let token = Cli::login_token(cast.cli, cast.server_url, cast.work, "alice", PASSWORD)?;
    let other_device = cast.bob.with_token(&token, "alice-cli");
    other_device
        .run(&["whoami"])
        .context("the second device works before it is signed out")?;

    click_id(session, "profile-button").await?;
    click_id(session, "menu-account").await?;
    let listed = until_js(
        session,
        "both of Alice's devices in the account dialog, this one marked",
        "const rows = [...document.querySelectorAll('[data-testid=session-row]')]; \
         if (rows.length !== 2) return null; \
         const cli = rows.find(row => row.textContent.includes('natter CLI')); \
         const here = rows.find(row => row.querySelector('.tag')?.textContent === 'This device'); \
         if (cli === undefined || here === undefined || cli === here) return null; \
         cli.querySelector('[data-testid=session-revoke]').id = 'revoke-cli-device'; \
         return rows.map(row => row.textContent)",
    )
    .await?;
    println!("desktop e2e: the account dialog lists {listed}");
    screens.take(session, "14-account-devices").await?;
    click_id(session, "revoke-cli-device").await?;
    until_js(
        session,
        "the signed-out device gone from the list",
        "const rows = document.querySelectorAll('[data-testid=session-row]'); \
         return rows.length === 1 && !rows[0].textContent.includes('natter CLI')",
    )
    .await?;
    let refused = other_device.run_refused(&["whoami"])?;
    ensure!(
        refused.contains("401") || refused.to_lowercase().contains("session"),
        "the signed-out device's token still works, or fails for another reason: {refused}"
    );
    Ok(())
}

/// Alice changes her password in the app; the new one signs in, the old one no longer does.
async fn password(session: &Client, cast: &Cast<'_>, screens: &Screenshots) -> Result<()> {
    type_css(session, "[data-testid=account-current-password]", PASSWORD).await?;
    type_css(session, "[data-testid=account-new-password]", NEW_PASSWORD).await?;
    click_css(session, "[data-testid=account-change-password]").await?;
    until_js(
        session,
        "the password changed",
        "const section = document.querySelector('[data-testid=account-password]'); \
         return section !== null && section.textContent.includes('Password changed.')",
    )
    .await?;
    screens.take(session, "15-account-password").await?;
    Cli::login_token(cast.cli, cast.server_url, cast.work, "alice", NEW_PASSWORD)
        .context("the new password does not sign in")?;
    ensure!(
        Cli::login_token(cast.cli, cast.server_url, cast.work, "alice", PASSWORD).is_err(),
        "the old password still signs in"
    );
    Ok(())
}

/// Carol writes; Alice blocks her from the conversation; Carol's next message is refused and
/// never shows, while Bob's, sent after it, arrives.
async fn block(session: &Client, cast: &Cast<'_>, screens: &Screenshots) -> Result<()> {
    let conversation_id = cast.carol.dm("alice")?;
    cast.carol
        .run(&["send", &conversation_id, "Hello from Carol"])?;
    let row =
        format!("#conversation-list li.conversation[data-conversation-id='{conversation_id}']");
    until_js(
        session,
        "Carol's conversation in the list",
        &format!(
            "const row = document.querySelector(\"{row}\"); \
             return row !== null && row.textContent.includes('Hello from Carol')"
        ),
    )
    .await?;
    click_css(session, &row).await?;
    until_js(
        session,
        "the Block button of Carol's conversation",
        "const button = document.getElementById('chat-block'); \
         return !button.hidden && button.textContent === 'Block'",
    )
    .await?;
    click_id(session, "chat-block").await?;
    until_js(
        session,
        "the question whether to block Carol",
        "return document.getElementById('confirm-dialog').open",
    )
    .await?;
    click_id(session, "confirm-ok").await?;
    until_js(
        session,
        "Carol blocked (the button offers to unblock)",
        "return document.getElementById('chat-block').textContent === 'Unblock'",
    )
    .await?;

    let refused = cast.carol.run_refused(&[
        "send",
        &conversation_id,
        "After the block",
        "--wait-seconds",
        "10",
    ])?;
    ensure!(
        refused.contains("cannot receive your messages"),
        "Carol's message after the block was refused for another reason: {refused}"
    );
    // Bob writes after Carol: once his message is shown, Carol's would have been too.
    cast.bob.run(&["send", "@alice", "Bob after the block"])?;
    until_js(
        session,
        "Bob's message after the block in the list",
        "return [...document.querySelectorAll('#conversation-list .conversation-preview')] \
           .some(preview => preview.textContent.includes('Bob after the block'))",
    )
    .await?;
    let shown: Value = session
        .execute(
            &format!(
                "const row = document.querySelector(\"{row}\"); \
                 return {{ messages: document.getElementById('messages').textContent, \
                   preview: row === null ? '' : row.textContent }}"
            ),
            Vec::new(),
        )
        .await?;
    ensure!(
        !shown.to_string().contains("After the block"),
        "the blocked user's message shows: {shown}"
    );
    screens.take(session, "16-blocked").await?;
    println!("desktop e2e: Carol is blocked; her next message was refused and does not show");
    Ok(())
}
