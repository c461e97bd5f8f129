//! A formatted message with a web link (issue 17): Bob's `**bold**`, `` `code` `` and address
//! show styled in the app, and clicking the address hands it to the system's opener (xdg-open,
//! which would start the browser), played here by a script of that name found first on the
//! app's `PATH` that writes down what it was given. The app's own webview must not navigate.

use std::{os::unix::fs::PermissionsExt, path::PathBuf};

use anyhow::{Context, Result, ensure};
use fantoccini::{Client, Locator};

use crate::{
    harness::{Cli, UI_TIMEOUT, until_js},
    processes::poll,
};

/// The address Bob sends; the sentence's full stop after it is not part of it.
const ADDRESS: &str = "https://natter.example/e2e-link?from=bob";

/// The system's opener: an `xdg-open` that records each address it is asked to open (the
/// real one would start Chromium here, the machine's https handler).
pub struct Browser {
    /// Put first on the app's `PATH`.
    directory: PathBuf,
    opened: PathBuf,
}

impl Browser {
    pub fn recording(work: &std::path::Path) -> Result<Browser> {
        let directory = work.join("system-opener");
        std::fs::create_dir_all(&directory)?;
        let opened = work.join("opened-links.txt");
        let script = directory.join("xdg-open");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
                opened.display()
            ),
        )
        .context("write the opener script")?;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
        Ok(Browser { directory, opened })
    }

    /// `PATH` for the app: the recording opener first.
    pub fn path_variable(&self) -> String {
        let system = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".to_owned());
        format!("{}:{system}", self.directory.display())
    }

    fn opened(&self) -> Vec<String> {
        std::fs::read_to_string(&self.opened)
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

/// Bob writes; Alice's open conversation with him shows it styled; her click opens the link.
pub async fn run(session: &Client, bob: &Cli, browser: &Browser) -> Result<()> {
    bob.run(&["send", "@alice", &format!("**Look** at `this`: {ADDRESS}.")])?;
    let shown = until_js(
        session,
        "Bob's formatted message with its link",
        "const bodies = [...document.querySelectorAll('#messages div.message .message-body')]; \
         const last = bodies[bodies.length - 1]; \
         const link = last?.querySelector('.message-link'); \
         return link === null || link === undefined ? null : { \
           text: last.textContent, bold: last.querySelector('strong')?.textContent ?? null, \
           code: last.querySelector('code')?.textContent ?? null, \
           url: link.dataset.url, href: link.getAttribute('href'), \
           page: location.href }",
    )
    .await?;
    ensure!(
        shown["text"] == format!("Look at this: {ADDRESS}.")
            && shown["bold"] == "Look"
            && shown["code"] == "this"
            && shown["url"] == ADDRESS
            && shown["href"].is_null(),
        "the message was not shown formatted with its link: {shown}"
    );
    let page = shown["page"].clone();

    session
        .find(Locator::Css("#messages .message-link"))
        .await?
        .click()
        .await?;
    let opened = poll("the browser asked to open Bob's link", UI_TIMEOUT, || {
        let opened = browser.opened();
        Ok((!opened.is_empty()).then_some(opened))
    })?;
    ensure!(
        opened == [ADDRESS],
        "the browser was asked to open {opened:?}, not only {ADDRESS}"
    );
    let now = until_js(session, "the page's address", "return location.href").await?;
    ensure!(now == page, "the webview navigated from {page} to {now}");
    println!("desktop e2e: a message's link opened in the browser: {ADDRESS}");
    Ok(())
}
