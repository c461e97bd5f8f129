//! Updates from the server (issue 15): the installed app (version 0.1.0, from its `.deb`) finds
//! the newer version (99.0.0, another build of the app, signed with the test release key) in
//! the server's updates folder, refuses it while the file does not match its signature, then
//! installs it through dpkg and restarts as the new version.
//!
//! `cargo xtask test` makes the folder (`xtask/src/bundle.rs`, `update_release`): the 99.0.0
//! package, `latest.json` with its signature, and `tampered.deb`, the same package with one
//! byte changed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use fantoccini::Client;

use crate::harness::{Screenshots, UI_TIMEOUT, until_js, within};
use crate::processes::{output, poll, processes_running, terminate};

/// Longest wait for the download, dpkg and the restart, together (within the harness's 300 s).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(150);

/// The release in the folder.
pub struct Release {
    pub folder: PathBuf,
    pub version: String,
    /// The package file named in `latest.json`.
    pub package: PathBuf,
    /// The same package with a byte changed.
    pub tampered: PathBuf,
}

impl Release {
    pub fn in_folder(folder: &Path) -> Result<Self> {
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(folder.join("latest.json")).context("the folder has no latest.json")?,
        )?;
        let version = manifest["version"]
            .as_str()
            .context("latest.json has no version")?
            .to_owned();
        let name = manifest["platforms"]["linux-x86_64-deb"]["url"]
            .as_str()
            .context("latest.json offers nothing for linux-x86_64-deb")?;
        Ok(Self {
            folder: folder.to_path_buf(),
            version,
            package: folder.join(name),
            tampered: folder.join("tampered.deb"),
        })
    }
}

/// The installed package's version, as dpkg knows it.
fn installed_version() -> Result<String> {
    output(Command::new("dpkg-query").args(["-W", "-f=${Version}", "natter"]))
}

pub async fn run(
    session: &Client,
    app: &Path,
    release: &Release,
    screens: &Screenshots,
) -> Result<()> {
    let before = installed_version()?;
    ensure!(
        before != release.version,
        "the installed app is already {before}"
    );
    let offered = until_js(
        session,
        "the banner offering the server's newer version",
        "const banner = document.getElementById('update-banner'); \
         return banner.hidden ? null : document.getElementById('update-banner-text').textContent",
    )
    .await?;
    ensure!(
        offered.as_str().is_some_and(|text| text
            .contains(&format!("Natter {} is available", release.version))
            && text.contains(&format!("you have {before}"))),
        "the update banner says {offered}"
    );

    screens.take(session, "update-offered").await?;

    // Someone swapped the package for one that does not match its signature: refused, and
    // nothing is installed.
    let good = std::fs::read(&release.package)?;
    std::fs::copy(&release.tampered, &release.package)?;
    click_install(session).await?;
    let refused = until_js(
        session,
        "the tampered package refused",
        "const text = document.getElementById('update-banner-text').textContent; \
         return text.startsWith('Updating failed') ? text : null",
    )
    .await?;
    std::fs::write(&release.package, &good)?;
    // Refused for its signature, before dpkg (which would also refuse a corrupt package).
    ensure!(
        refused
            .as_str()
            .is_some_and(|text| text.contains("signature verification failed")),
        "the tampered package was refused, but not for its signature: {refused}"
    );
    ensure!(
        installed_version()? == before,
        "a package that does not match its signature was installed"
    );
    println!("desktop e2e: a tampered update was refused: {refused}");
    screens.take(session, "update-refused").await?;

    // The genuine package: installed, and the app comes back as the new version.
    let old_processes = processes_running(app);
    let started = Instant::now();
    click_install(session).await?;
    poll("dpkg installing the update", INSTALL_TIMEOUT, || {
        Ok((installed_version()? == release.version).then_some(()))
    })?;
    let installed_after = started.elapsed();
    let restarted = poll(
        "the app restarting as the new version",
        INSTALL_TIMEOUT.saturating_sub(installed_after),
        || {
            let now = processes_running(app);
            Ok(now.iter().find(|pid| !old_processes.contains(pid)).copied())
        },
    )?;
    let restarted_after = started.elapsed();
    ensure!(
        files_equal(app, &packaged_app(&good)?)?,
        "{} is not the app of the {} package",
        app.display(),
        release.version
    );
    println!(
        "desktop e2e: updated from {before} to {} through the server (installed after {:.1} s), \
         restarted as process {restarted} after {:.1} s",
        release.version,
        installed_after.as_secs_f64(),
        restarted_after.as_secs_f64(),
    );
    // The restarted app is not the one WebDriver started: stop it here.
    terminate(restarted)?;
    poll("the restarted app exiting", UI_TIMEOUT, || {
        Ok(processes_running(app).is_empty().then_some(()))
    })
    .with_context(|| format!("still running: {}", describe(&processes_running(app))))?;
    Ok(())
}

/// The banner's install button. Clicked from a script's next turn so that WebDriver's answer
/// never waits on what the click starts (the genuine package ends the process it clicks in).
async fn click_install(session: &Client) -> Result<()> {
    within(
        "clicking the update's install button",
        session.execute(
            "const button = document.getElementById('update-install'); \
             if (!button || button.hidden || button.disabled) return false; \
             setTimeout(() => button.click(), 0); \
             return true",
            Vec::new(),
        ),
    )
    .await??
    .as_bool()
    .filter(|clicked| *clicked)
    .context("the update banner has no install button to click")?;
    Ok(())
}

/// The app binary inside a `.deb` given as bytes.
fn packaged_app(deb: &[u8]) -> Result<PathBuf> {
    let work = std::env::temp_dir().join(format!("natter-update-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let file = work.join("package.deb");
    std::fs::write(&file, deb)?;
    output(
        Command::new("dpkg-deb")
            .arg("-x")
            .arg(&file)
            .arg(work.join("root")),
    )?;
    Ok(work.join("root/usr/bin/natter-desktop"))
}

fn files_equal(a: &Path, b: &Path) -> Result<bool> {
    Ok(
        std::fs::read(a).with_context(|| format!("reading {}", a.display()))?
            == std::fs::read(b).with_context(|| format!("reading {}", b.display()))?,
    )
}

/// Each process as `pid (parent pid): command line`, for a failure message.
fn describe(pids: &[u32]) -> String {
    pids.iter()
        .map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .unwrap_or("?")
                .to_owned();
            let command = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
                .unwrap_or_default();
            format!("{pid} ({parent}): {command}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}
