//! Desktop benchmark: the Natter app's idle memory (PSS summed over the app and its WebKit
//! processes, signed in, with N conversations) and the time from launch to the conversation
//! list being shown, beside a blank Tauri window measured the same way.
//!
//! Both apps are started through tauri-driver (as the end-to-end test does), so "launch"
//! includes the WebDriver session set-up, for both alike. Run it through
//! `cargo xtask bench desktop`, which builds release binaries and provides the display, D-Bus
//! session and keyring.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use fantoccini::Client;
use serde_json::json;

use natter_e2e::harness::{
    Binaries, Cli, Server, TauriDriver, sign_in_first_start, unlock_keyring, until_js,
    wait_for_exit,
};
use natter_e2e::measure::process_tree_memory;
use natter_e2e::processes::POLL_INTERVAL;

/// Longest wait for the measured page to show.
const SHOW_TIMEOUT: Duration = Duration::from_secs(60);
/// Password of the signed-in user (the CLI signs users up with it).
const PASSWORD: &str = "a long enough password";

#[derive(Debug, Parser)]
#[command(about = "Desktop benchmark (run it via `cargo xtask bench desktop`)")]
struct Options {
    /// `--app` is a release build; the figures go to `artifacts/desktop-bench.json`.
    #[command(flatten)]
    binaries: Binaries,
    /// The blank Tauri window binary (a release build).
    #[arg(long)]
    blank: PathBuf,
    /// Conversations of the signed-in user.
    #[arg(long, default_value = "50")]
    conversations: usize,
    /// Launches measured per app.
    #[arg(long, default_value = "3")]
    runs: usize,
    /// Idle time before memory is read, in seconds.
    #[arg(long, default_value = "10")]
    settle_seconds: u64,
}

/// One launch: time to the page being shown and memory once idle.
#[derive(Debug, Clone, Copy)]
struct Sample {
    shown: Duration,
    pss_kib: u64,
    rss_kib: u64,
    processes: usize,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let options = Options::parse();
    match run(&options).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("desktop bench: FAILED: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(options: &Options) -> Result<()> {
    ensure!(options.runs > 0, "--runs must be at least 1");
    let app = fs::canonicalize(&options.binaries.app)
        .with_context(|| format!("{} not found", options.binaries.app.display()))?;
    let blank = fs::canonicalize(&options.blank)
        .with_context(|| format!("{} not found", options.blank.display()))?;
    fs::create_dir_all(&options.binaries.artifacts)?;
    let work = tempfile::tempdir()?;
    unlock_keyring()?;

    // Every user signs up from this one address: lift the per-address sign-up limit.
    let server = Server::start(
        &options.binaries.server,
        work.path(),
        &options.binaries.artifacts,
        &["--auth-attempts-per-ip-per-minute", "0"],
    )?;
    Cli::signup(
        &options.binaries.cli,
        &server.url,
        work.path(),
        "alice",
        "Alice Liddell",
    )?;
    let started = Instant::now();
    for index in 0..options.conversations {
        let username = format!("friend{index:03}");
        let friend = Cli::signup(
            &options.binaries.cli,
            &server.url,
            work.path(),
            &username,
            &format!("Friend {index}"),
        )?;
        friend.run(&[
            "send",
            "@alice",
            &format!("Hello Alice, this is {username}"),
        ])?;
    }
    println!(
        "desktop bench: {} conversations prepared in {} s",
        options.conversations,
        started.elapsed().as_secs()
    );

    let natter = TauriDriver::start(
        &options.binaries.tauri_driver,
        &app,
        work.path(),
        &options.binaries.artifacts,
        &[],
    )?;
    sign_in(&natter, &server.url, options.conversations).await?;
    wait_for_exit(&app)?;
    let all_rows = format!(
        "return document.querySelectorAll('#conversation-list li.conversation').length >= {} \
         && document.getElementById('screen-auth').hidden",
        options.conversations
    );
    let mut natter_samples = Vec::new();
    for _ in 0..options.runs {
        natter_samples.push(measure(&natter, &app, &all_rows, options.settle_seconds).await?);
    }
    drop(natter);

    let blank_driver = TauriDriver::start(
        &options.binaries.tauri_driver,
        &blank,
        work.path(),
        &options.binaries.artifacts,
        &[],
    )?;
    let mut blank_samples = Vec::new();
    for _ in 0..options.runs {
        blank_samples.push(
            measure(
                &blank_driver,
                &blank,
                "return document.getElementById('ready') !== null",
                options.settle_seconds,
            )
            .await?,
        );
    }

    let natter_median = median(&natter_samples);
    let blank_median = median(&blank_samples);
    println!();
    println!(
        "desktop bench ({} launches each, median; memory after {} s idle)",
        options.runs, options.settle_seconds
    );
    println!(
        "{:<44} {:>14} {:>10} {:>10} {:>6}",
        "", "launch->shown", "PSS", "RSS", "procs"
    );
    for (name, sample) in [
        (
            format!("Natter, signed in, {} conversations", options.conversations),
            natter_median,
        ),
        ("blank Tauri window".to_owned(), blank_median),
    ] {
        println!(
            "{:<44} {:>11} ms {:>6} MiB {:>6} MiB {:>6}",
            name,
            sample.shown.as_millis(),
            sample.pss_kib / 1024,
            sample.rss_kib / 1024,
            sample.processes
        );
    }
    let figures = json!({
        "conversations": options.conversations,
        "runs": options.runs,
        "settle_seconds": options.settle_seconds,
        "natter": samples_json(&natter_samples),
        "blank": samples_json(&blank_samples),
    });
    let path = options.binaries.artifacts.join("desktop-bench.json");
    fs::write(&path, serde_json::to_vec_pretty(&figures)?)?;
    println!("figures: {}", path.display());
    Ok(())
}

/// First start of the app: server address, sign in through the form, wait for the list, quit.
async fn sign_in(driver: &TauriDriver, server_url: &str, conversations: usize) -> Result<()> {
    let session = driver.session().await?;
    sign_in_first_start(&session, server_url, "alice", PASSWORD).await?;
    until_js(
        &session,
        "every conversation listed after signing in",
        &format!(
            "return document.querySelectorAll('#conversation-list li.conversation').length >= {conversations}"
        ),
    )
    .await?;
    session.close().await?;
    Ok(())
}

/// Launches the app, times it until `shown_script` holds, lets it idle, reads its memory.
async fn measure(
    driver: &TauriDriver,
    binary: &Path,
    shown_script: &str,
    settle_seconds: u64,
) -> Result<Sample> {
    let launched = Instant::now();
    let session = driver.session().await?;
    let shown = until_shown(&session, shown_script, launched).await?;
    // The figure is the idle footprint: let start-up work (caches, sync, GC) finish.
    tokio::time::sleep(Duration::from_secs(settle_seconds)).await;
    let memory = process_tree_memory(binary);
    session.close().await?;
    wait_for_exit(binary)?;
    let (pss_kib, rss_kib, processes) = memory?;
    println!(
        "desktop bench: {}: shown after {} ms, PSS {} MiB over {processes} processes",
        binary.display(),
        shown.as_millis(),
        pss_kib / 1024
    );
    Ok(Sample {
        shown,
        pss_kib,
        rss_kib,
        processes,
    })
}

/// Polls the page until `script` returns true; the time since `launched`.
async fn until_shown(session: &Client, script: &str, launched: Instant) -> Result<Duration> {
    loop {
        if session.execute(script, Vec::new()).await? == json!(true) {
            return Ok(launched.elapsed());
        }
        if launched.elapsed() > SHOW_TIMEOUT {
            bail!("the page was not shown within {} s", SHOW_TIMEOUT.as_secs());
        }
        // Finer than the usual poll: this is the measured figure.
        tokio::time::sleep(POLL_INTERVAL / 10).await;
    }
}

/// The sample with the median launch time, with median memory.
fn median(samples: &[Sample]) -> Sample {
    let pick = |mut values: Vec<u64>| {
        values.sort_unstable();
        values[values.len() / 2]
    };
    let mut shown: Vec<Duration> = samples.iter().map(|sample| sample.shown).collect();
    shown.sort_unstable();
    Sample {
        shown: shown[shown.len() / 2],
        pss_kib: pick(samples.iter().map(|sample| sample.pss_kib).collect()),
        rss_kib: pick(samples.iter().map(|sample| sample.rss_kib).collect()),
        processes: samples.first().map_or(0, |sample| sample.processes),
    }
}

fn samples_json(samples: &[Sample]) -> serde_json::Value {
    json!(
        samples
            .iter()
            .map(|sample| json!({
                "shown_ms": sample.shown.as_millis() as u64,
                "pss_kib": sample.pss_kib,
                "rss_kib": sample.rss_kib,
                "processes": sample.processes,
            }))
            .collect::<Vec<_>>()
    )
}
