//! Desktop call benchmark: the app (a release build) in a video call with a `natter` user whose
//! synthetic camera films at 640x480 and then 1280x720, 30 fps, with the window filling a
//! 1920x1080 display. For each size: the pictures the page drew per second, the display latency the app
//! adds (from a decoded picture being ready in Rust to the page having drawn it), and the app's
//! CPU and memory (the app and its WebKit processes) over the measured stretch.
//!
//! Run it through `cargo xtask bench desktop-call`, which builds the app and provides the
//! display, D-Bus session and keyring.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use clap::Parser;
use fantoccini::Client;
use serde_json::{Value, json};

use natter_e2e::call_story::{click, until_more_frames, until_phase};
use natter_e2e::harness::{
    Binaries, Cli, Server, TauriDriver, UI_TIMEOUT, sign_in_first_start, unlock_keyring, until_js,
};
use natter_e2e::measure::{cpu_ticks, machine_ticks, memory, process_tree, ticks_per_second};
use natter_e2e::media::Pulse;
use natter_e2e::processes::output;

const PASSWORD: &str = "a long enough password";
/// How often latency samples are collected from the page (at 30 fps, 150 of its 600).
const LATENCY_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Parser)]
#[command(about = "Desktop call benchmark (run it via `cargo xtask bench desktop-call`)")]
struct Options {
    /// `--app` is a release build; the figures go to `artifacts/desktop-call-bench.json`.
    #[command(flatten)]
    binaries: Binaries,
    /// Seconds measured per picture size, after the call has settled.
    #[arg(long, default_value = "60")]
    seconds: u64,
    /// How pictures cross into the page: `rgba` (converted in Rust, a 2D canvas) or `i420`
    /// (converted by a WebGL shader).
    #[arg(long, default_value = "rgba", value_parser = ["rgba", "i420"])]
    format: String,
    /// Only this picture size (`640x480` or `1280x720`); both by default.
    #[arg(long, value_parser = ["640x480", "1280x720"])]
    size: Option<String>,
}

/// What one call at one picture size measured.
#[derive(Debug)]
struct Figures {
    sent: (u32, u32),
    drawn: (u64, u64),
    frames_per_second: f64,
    latency_ms: Percentiles,
    cpu_percent: f64,
    /// The sending `natter` (camera, encoder) on the same machine, for scale.
    sender_cpu_percent: f64,
    /// The whole machine's busy share (every process, the X server too), of all its cores.
    machine_busy_percent: f64,
    pss_start_kib: u64,
    /// Halfway through: growth after it is growth that does not level off.
    pss_half_kib: u64,
    pss_end_kib: u64,
    rss_end_kib: u64,
}

#[derive(Debug)]
struct Percentiles {
    p50: f64,
    p95: f64,
    max: f64,
}

impl Percentiles {
    fn of(mut samples: Vec<f64>) -> Result<Self> {
        ensure!(!samples.is_empty(), "no latency samples");
        samples.sort_by(f64::total_cmp);
        let at = |fraction: f64| samples[((samples.len() - 1) as f64 * fraction).round() as usize];
        Ok(Self {
            p50: at(0.5),
            p95: at(0.95),
            max: at(1.0),
        })
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let options = Options::parse();
    match run(&options).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("desktop call bench: FAILED: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(options: &Options) -> Result<()> {
    let app = fs::canonicalize(&options.binaries.app)
        .with_context(|| format!("{} not found", options.binaries.app.display()))?;
    let artifacts = &options.binaries.artifacts;
    fs::create_dir_all(artifacts)?;
    let work = tempfile::tempdir()?;
    unlock_keyring()?;
    let pulse = Pulse::start(artifacts)?;
    let cli_binary = fs::canonicalize(&options.binaries.cli)
        .with_context(|| format!("{} not found", options.binaries.cli.display()))?;
    let server = Server::start(&options.binaries.server, work.path(), artifacts, &[])?;
    let cli = &options.binaries.cli;
    Cli::signup(cli, &server.url, work.path(), "alice", "Alice Liddell")?;
    let bob = Cli::signup(cli, &server.url, work.path(), "bob", "Bob Builder")?;
    bob.run(&["send", "@alice", "Call me?"])?;

    let driver = TauriDriver::start(
        &options.binaries.tauri_driver,
        &app,
        work.path(),
        artifacts,
        &[("PULSE_SERVER", &pulse.server)],
    )?;
    let session = driver.session().await?;
    let measured = async {
        sign_in_first_start(&session, &server.url, "alice", PASSWORD).await?;
        until_js(
            &session,
            "Bob's conversation listed",
            "return document.querySelectorAll('#conversation-list li.conversation').length === 1",
        )
        .await?;
        // Clicked from the page: the list re-renders its rows as the conversation updates.
        until_js(
            &session,
            "Bob's conversation open",
            "const row = document.querySelector('#conversation-list li.conversation'); \
             if (row !== null) { row.click(); } \
             return document.querySelector('[data-testid=call-video]') !== null",
        )
        .await?;
        // The window fills the display, so the call screen draws 1280x720 at its own size (full
        // screen needs a window manager, which Xvfb does not have).
        output(Command::new("xdotool").args([
            "search",
            "--name",
            "^(\\([0-9]+\\) )?Natter$",
            "windowmove",
            "0",
            "0",
            "windowsize",
            "1920",
            "1080",
        ]))?;
        // Read by each video canvas as it is made.
        session
            .execute(
                "window.localStorage.setItem('natter.videoFormat', arguments[0])",
                vec![json!(options.format)],
            )
            .await?;
        let mut all = Vec::new();
        let sizes = [(640, 480), (1280, 720)]
            .into_iter()
            .filter(|(width, height)| {
                options
                    .size
                    .as_ref()
                    .is_none_or(|size| *size == format!("{width}x{height}"))
            });
        for (width, height) in sizes {
            all.push(
                call(
                    &session,
                    &bob,
                    &cli_binary,
                    &app,
                    (width, height),
                    options.seconds,
                )
                .await?,
            );
        }
        anyhow::Ok(all)
    }
    .await;
    let _ = session.close().await;
    let figures = measured?;

    println!();
    println!(
        "desktop call bench: {} s per size, {} pictures, the window filling a 1920x1080 display",
        options.seconds, options.format
    );
    println!(
        "{:<11} {:>11} {:>8} {:>24} {:>8} {:>8} {:>8} {:>28}",
        "sent",
        "drawn",
        "fps",
        "added latency p50/p95/max",
        "CPU",
        "sender",
        "machine",
        "PSS start -> half -> end"
    );
    for figure in &figures {
        println!(
            "{:<11} {:>11} {:>8.1} {:>10.1} / {:>4.1} / {:>4.1} ms {:>7.0}% {:>7.0}% {:>7.0}% {:>8} -> {:>5} -> {:>5} MiB",
            format!("{}x{}", figure.sent.0, figure.sent.1),
            format!("{}x{}", figure.drawn.0, figure.drawn.1),
            figure.frames_per_second,
            figure.latency_ms.p50,
            figure.latency_ms.p95,
            figure.latency_ms.max,
            figure.cpu_percent,
            figure.sender_cpu_percent,
            figure.machine_busy_percent,
            figure.pss_start_kib / 1024,
            figure.pss_half_kib / 1024,
            figure.pss_end_kib / 1024,
        );
    }
    let json = json!(
        figures
            .iter()
            .map(|figure| json!({
                "sent": [figure.sent.0, figure.sent.1],
                "drawn": [figure.drawn.0, figure.drawn.1],
                "frames_per_second": figure.frames_per_second,
                "added_latency_ms": {
                    "p50": figure.latency_ms.p50,
                    "p95": figure.latency_ms.p95,
                    "max": figure.latency_ms.max,
                },
                "cpu_percent_of_one_core": figure.cpu_percent,
                "sender_cpu_percent_of_one_core": figure.sender_cpu_percent,
                "machine_busy_percent_of_all_cores": figure.machine_busy_percent,
                "pss_start_kib": figure.pss_start_kib,
                "pss_half_kib": figure.pss_half_kib,
                "pss_end_kib": figure.pss_end_kib,
                "rss_end_kib": figure.rss_end_kib,
                "seconds": options.seconds,
                "format": options.format,
            }))
            .collect::<Vec<_>>()
    );
    let path = artifacts.join("desktop-call-bench.json");
    fs::write(&path, serde_json::to_vec_pretty(&json)?)?;
    println!("figures: {}", path.display());
    Ok(())
}

/// One call with Bob filming at `size`: measured for `seconds` once it has settled.
async fn call(
    session: &Client,
    bob: &Cli,
    cli: &Path,
    app: &Path,
    size: (u32, u32),
    seconds: u64,
) -> Result<Figures> {
    let (width, height) = (size.0.to_string(), size.1.to_string());
    let mut answering = bob.start(
        "natter answer",
        &[
            "answer",
            "--auto",
            "--fake-camera",
            "--fake-mic",
            "440",
            "--width",
            &width,
            "--height",
            &height,
        ],
    )?;
    click(session, "call-video").await?;
    until_phase(session, "connected").await?;
    // Settled: two seconds of pictures at the full size (the sender starts lower and climbs).
    until_more_frames(session, 60).await?;
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let stats = remote_stats(session).await?;
        if stats["width"].as_u64() >= Some(u64::from(size.0.min(1920)))
            || Instant::now() >= deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    session
        .execute(
            "window.__natterVideo.reset(); window.__natterVideo.takeLatency()",
            Vec::new(),
        )
        .await?;
    let tree = process_tree(app)?;
    let (pss_start_kib, _) = memory(&tree)?;
    let cpu_start = cpu_ticks(&tree)?;
    let per_process_start: Vec<(u32, u64)> = tree
        .iter()
        .map(|&pid| (pid, cpu_ticks(&[pid]).unwrap_or(0)))
        .collect();
    // By name: the bench may see another pid namespace than its children's /proc entries.
    let sender = process_tree(cli)?;
    let sender_start = cpu_ticks(&sender)?;
    let machine_start = machine_ticks()?;
    let started = Instant::now();
    // The measured stretch: the call runs on its own. The page keeps the last 600 latencies,
    // so they are collected every few seconds.
    let mut latency = Vec::new();
    let end = started + Duration::from_secs(seconds);
    let half = started + Duration::from_secs(seconds) / 2;
    let mut pss_half_kib = None;
    while Instant::now() < end {
        tokio::time::sleep(LATENCY_EVERY.min(end.saturating_duration_since(Instant::now()))).await;
        latency.extend(take_latency(session).await?);
        if pss_half_kib.is_none() && Instant::now() >= half {
            pss_half_kib = Some(memory(&process_tree(app)?)?.0);
        }
    }
    let sender_cpu = cpu_ticks(&sender)?.saturating_sub(sender_start);
    let machine_end = machine_ticks()?;
    let machine_busy = (machine_end.0.saturating_sub(machine_start.0)) as f64
        / (machine_end.1.saturating_sub(machine_start.1)).max(1) as f64
        * 100.0;
    let stats = remote_stats(session).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let tree = process_tree(app)?;
    let cpu = cpu_ticks(&tree)?.saturating_sub(cpu_start);
    // Where the CPU went: the app's own process, WebKit's web process (the page, WebGL,
    // compositing), its network process.
    let ticks_per_second = ticks_per_second() as f64;
    let breakdown: Vec<String> = per_process_start
        .iter()
        .map(|&(pid, start)| {
            let name = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let used = cpu_ticks(&[pid]).unwrap_or(start).saturating_sub(start);
            format!(
                "{} {:.0}%",
                name.trim(),
                used as f64 / ticks_per_second / elapsed * 100.0
            )
        })
        .collect();
    println!(
        "desktop call bench: CPU by process: {}",
        breakdown.join(", ")
    );
    let (pss_end_kib, rss_end_kib) = memory(&tree)?;

    let frames = stats["frames"].as_u64().unwrap_or(0);
    let figures = Figures {
        sent: size,
        drawn: (
            stats["width"].as_u64().unwrap_or(0),
            stats["height"].as_u64().unwrap_or(0),
        ),
        frames_per_second: frames as f64 / elapsed,
        latency_ms: Percentiles::of(latency)?,
        cpu_percent: cpu as f64 / ticks_per_second / elapsed * 100.0,
        sender_cpu_percent: sender_cpu as f64 / ticks_per_second / elapsed * 100.0,
        machine_busy_percent: machine_busy,
        pss_start_kib,
        pss_half_kib: pss_half_kib.unwrap_or(pss_start_kib),
        pss_end_kib,
        rss_end_kib,
    };
    println!("desktop call bench: {figures:?}");

    click(session, "call-hangup").await?;
    answering.wait_for_line("Bob's side of the call ending", UI_TIMEOUT, |line| {
        line.contains("\"phase\":\"ended\"")
    })?;
    until_js(
        session,
        "the call screen closed",
        "const s = document.querySelector('[data-testid=call-screen]'); \
         return s === null || s.getClientRects().length === 0",
    )
    .await?;
    Ok(figures)
}

/// The remote stream's latency samples since the last time, in milliseconds.
async fn take_latency(session: &Client) -> Result<Vec<f64>> {
    let taken = session
        .execute(
            "return window.__natterVideo.takeLatency()['remote'] || []",
            Vec::new(),
        )
        .await?;
    Ok(taken
        .as_array()
        .map(|samples| samples.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default())
}

async fn remote_stats(session: &Client) -> Result<Value> {
    Ok(session
        .execute("return window.__natterVideo.stats()['remote']", Vec::new())
        .await?)
}
