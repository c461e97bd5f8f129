//! Reaching people whose window is closed (issue 15): `natter://` links handed to the running
//! app by a second start, "Start Natter when I log in", and a start hidden in the tray that a
//! second start brings forward.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};
use fantoccini::{Client, Locator};

use crate::harness::{START_TIMEOUT, Screenshots, UI_TIMEOUT, until_js};
use crate::processes::{poll, visible_window};

/// The flag the login item starts the app with.
pub const HIDDEN_FLAG: &str = "--hidden";

/// Title of the app's main window (tauri.conf.json).
const WINDOW_TITLE: &str = "Natter";

/// Starts the app a second time, as the system does for a link or a second click on its icon:
/// it must hand `args` to the running app and exit by itself, successfully.
pub fn second_start(app: &Path, args: &[&str]) -> Result<()> {
    let mut child = Command::new(app)
        .args(args)
        .env("GDK_BACKEND", "x11")
        .spawn()
        .with_context(|| format!("cannot start a second {}", app.display()))?;
    let status = poll(
        "the second start handing over and exiting",
        START_TIMEOUT,
        || Ok(child.try_wait()?),
    );
    if status.is_err() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let status = status?;
    ensure!(
        status.success(),
        "the second start with {args:?} exited with {status}"
    );
    Ok(())
}

/// Links open a conversation and offer a call; the login item is written and removed.
pub async fn links_and_login_item(
    session: &Client,
    app: &Path,
    conversation_id: &str,
    screens: &Screenshots,
) -> Result<()> {
    // A link to the conversation opens it in the running app.
    until_js(
        session,
        "no conversation open before the link",
        "return document.getElementById('chat-main').hidden",
    )
    .await?;
    second_start(app, &[&format!("natter://conversation/{conversation_id}")])?;
    until_js(
        session,
        "the conversation opened by natter://conversation",
        "return !document.getElementById('chat-main').hidden \
         && document.getElementById('chat-title').textContent === 'Bob Builder'",
    )
    .await?;

    // A call link asks first; saying no calls nobody.
    second_start(app, &["natter://call/Bob?kind=video"])?;
    let question = until_js(
        session,
        "the question a natter://call link asks",
        "const dialog = document.getElementById('confirm-dialog'); \
         return dialog.open ? document.getElementById('confirm-text').textContent : null",
    )
    .await?;
    ensure!(
        question
            .as_str()
            .is_some_and(|text| text.contains("Bob Builder") && text.contains("video")),
        "a natter://call link asks {question} instead of whether to video call Bob Builder"
    );
    screens.take(session, "12-call-link").await?;
    session
        .find(Locator::Id("confirm-cancel"))
        .await?
        .click()
        .await?;
    until_js(
        session,
        "the question gone, and no call placed",
        "return !document.getElementById('confirm-dialog').open \
         && document.querySelector('[data-testid=call-screen]').hidden",
    )
    .await?;

    // "Start Natter when I log in": the login item appears, starting the app hidden, and goes.
    let item = login_item()?;
    ensure!(
        !item.exists(),
        "{} exists before the setting was turned on",
        item.display()
    );
    session
        .find(Locator::Id("profile-button"))
        .await?
        .click()
        .await?;
    session
        .find(Locator::Id("menu-settings"))
        .await?
        .click()
        .await?;
    until_js(
        session,
        "the settings, with start at login off",
        "const toggle = document.getElementById('setting-start-at-login'); \
         return document.getElementById('settings-dialog').open && !toggle.checked",
    )
    .await?;
    let toggle = session.find(Locator::Id("setting-start-at-login")).await?;
    toggle.click().await?;
    let written = poll("the login item written", UI_TIMEOUT, || {
        Ok(std::fs::read_to_string(&item).ok())
    })?;
    let exec = written
        .lines()
        .find_map(|line| line.strip_prefix("Exec="))
        .with_context(|| format!("the login item has no Exec line:\n{written}"))?;
    ensure!(
        exec.starts_with(&app.display().to_string()) && exec.ends_with(" --hidden"),
        "the login item starts {exec:?}, not this app with --hidden"
    );
    screens.take(session, "13-start-at-login").await?;
    toggle.click().await?;
    poll("the login item removed", UI_TIMEOUT, || {
        Ok((!item.exists()).then_some(()))
    })?;
    until_js(
        session,
        "the setting shown off again",
        "return !document.getElementById('setting-start-at-login').checked",
    )
    .await?;
    session
        .find(Locator::Id("settings-close"))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Started with `--hidden` (as at login) the app runs in the tray without a window; a second
/// start brings the window forward.
pub async fn hidden_start(session: &Client, app: &Path) -> Result<()> {
    until_js(
        session,
        "the app started hidden: signed in from the keyring",
        "return document.body.dataset.ready === 'true' \
         && !document.getElementById('screen-main').hidden",
    )
    .await?;
    // The window would have been shown before the page loaded: it must not be.
    ensure!(
        main_window()?.is_none(),
        "started with --hidden, the app shows its window"
    );
    second_start(app, &[])?;
    poll(
        "the window shown by a second start",
        UI_TIMEOUT,
        main_window,
    )?;
    Ok(())
}

/// Where the login item of the app goes on Linux (XDG autostart).
fn login_item() -> Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    Ok(PathBuf::from(home).join(".config/autostart/Natter.desktop"))
}

/// A visible window titled "Natter", if there is one.
fn main_window() -> Result<Option<String>> {
    visible_window(&format!("^{WINDOW_TITLE}$"))
}
