//! The desktop app's calls, end to end: the app's user calls Bob (the `natter` CLI answering by
//! itself with the synthetic camera and microphone) and sees his test pattern move while the
//! timer runs; hanging up lists the call in the history with its length. Then, with the main
//! window closed to the tray, Bob calls: the incoming-call window appears on its own, the
//! ringtone plays on the speaker (recorded from the PulseAudio null sink), and Accept connects.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use natter_media::ring::Tune;

use crate::harness::{Cli, Screenshots, UI_TIMEOUT, until_js};
use crate::media::{self, Pulse};
use crate::processes::POLL_INTERVAL;

/// Longest wait for a call to connect and show pictures.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Pictures drawn before the video counts as running (one second at 30 fps).
const RUNNING_FRAMES: u64 = 30;

/// Runs both calls; the conversation with Bob is open in the main window.
pub async fn run(
    session: &Client,
    bob: &Cli,
    pulse: &Pulse,
    artifacts: &Path,
    screens: &Screenshots,
) -> Result<()> {
    app_calls_bob(session, bob, screens).await?;
    bob_calls_app(session, bob, pulse, artifacts, screens).await
}

pub async fn click(session: &Client, test_id: &str) -> Result<()> {
    session
        .find(Locator::Css(&format!("[data-testid={test_id:?}]")))
        .await
        .with_context(|| format!("no {test_id} button"))?
        .click()
        .await
        .with_context(|| format!("{test_id} could not be clicked"))?;
    Ok(())
}

/// Clicks a button whose effect destroys its own window (Accept in the call window). The
/// window may be gone before WebDriver answers the click, which then fails with an empty
/// error; that counts as clicked only if the window really went away.
async fn click_closing(
    session: &Client,
    test_id: &str,
    window: &fantoccini::wd::WindowHandle,
) -> Result<()> {
    let Err(error) = click(session, test_id).await else {
        return Ok(());
    };
    let deadline = Instant::now() + UI_TIMEOUT;
    while session.windows().await?.contains(window) {
        if Instant::now() >= deadline {
            return Err(error.context("and its window is still open"));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    println!("desktop e2e: {test_id} closed its window before WebDriver answered the click");
    Ok(())
}

/// Waits until the call screen shows `phase`.
pub async fn until_phase(session: &Client, phase: &str) -> Result<()> {
    until_js(
        session,
        &format!("the call screen in phase {phase}"),
        &format!(
            "const s = document.querySelector('[data-testid=call-screen]'); \
             return s !== null && s.getClientRects().length > 0 && s.dataset.phase === {phase:?}"
        ),
    )
    .await
    .map(drop)
}

/// Pictures of the peer's video drawn so far.
async fn remote_frames(session: &Client) -> Result<u64> {
    let value = session
        .execute(
            "const v = window.__natterVideo; \
             const s = v === undefined ? undefined : v.stats()['remote']; \
             return s === undefined ? 0 : s.frames",
            Vec::new(),
        )
        .await?;
    Ok(value.as_u64().unwrap_or(0))
}

/// Waits until `count` more pictures of the peer's video are drawn.
pub async fn until_more_frames(session: &Client, count: u64) -> Result<u64> {
    let start = remote_frames(session).await?;
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let now = remote_frames(session).await?;
        if now >= start + count {
            return Ok(now);
        }
        if Instant::now() >= deadline {
            bail!(
                "the remote video drew {} pictures in {} s, wanted {count}",
                now - start,
                CONNECT_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// The remote video shows the moving test pattern: its bars, and change between two pictures.
async fn check_remote_video(session: &Client, artifacts: &Path, name: &str) -> Result<()> {
    until_more_frames(session, RUNNING_FRAMES).await?;
    let canvas = session
        .find(Locator::Css("[data-testid=remote-video]"))
        .await
        .context("no remote video")?;
    let first = canvas
        .screenshot()
        .await
        .context("remote video screenshot")?;
    until_more_frames(session, 15).await?;
    let second = canvas
        .screenshot()
        .await
        .context("remote video screenshot")?;
    std::fs::write(artifacts.join(format!("e2e-{name}-remote.png")), &second)?;
    let bars = media::bars_seen(&second)?;
    ensure!(
        bars.len() >= 5,
        "the remote video does not show the test pattern's bars: only {bars:?} seen"
    );
    let change = media::difference(&first, &second)?;
    ensure!(
        change > 0.5,
        "the remote video did not change between two pictures (mean difference {change:.2})"
    );
    println!("desktop e2e: remote video shows bars {bars:?}, changing by {change:.1} per channel");
    Ok(())
}

async fn timer_text(session: &Client) -> Result<String> {
    let value = session
        .execute(
            "return document.querySelector('[data-testid=call-timer]').textContent",
            Vec::new(),
        )
        .await?;
    Ok(value.as_str().unwrap_or_default().trim().to_owned())
}

/// Seconds on a "m:ss" / "h:mm:ss" timer.
fn timer_seconds(text: &str) -> Option<u64> {
    text.split(':')
        .map(|part| part.trim().parse::<u64>().ok())
        .try_fold(0, |total, part| Some(total * 60 + part?))
}

/// The app calls Bob, who answers by himself; pictures and timer run; hang up; history.
async fn app_calls_bob(session: &Client, bob: &Cli, screens: &Screenshots) -> Result<()> {
    // Bob's client may still be connecting when the call is placed: the server rings a device
    // that comes online while the call rings.
    let mut answering = bob.start(
        "natter answer",
        &["answer", "--auto", "--fake-camera", "--fake-mic", "440"],
    )?;
    click(session, "call-video").await?;
    until_phase(session, "connected").await?;
    check_remote_video(session, &screens.directory, "08-call").await?;

    let started = timer_text(session).await?;
    let first = timer_seconds(&started).with_context(|| format!("timer shows {started:?}"))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    let later = loop {
        let text = timer_text(session).await?;
        if let Some(seconds) = timer_seconds(&text).filter(|seconds| *seconds > first) {
            break seconds;
        }
        ensure!(
            Instant::now() < deadline,
            "the call timer stays at {text:?}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    println!("desktop e2e: call timer ran from {first} s to {later} s");
    screens.take(session, "08-call-screen").await?;

    click(session, "call-hangup").await?;
    until_js(
        session,
        "the call screen closed after hanging up",
        "const s = document.querySelector('[data-testid=call-screen]'); \
         return s === null || s.getClientRects().length === 0",
    )
    .await?;
    answering.wait_for_line("Bob's side of the call ending", UI_TIMEOUT, |line| {
        line.contains("\"phase\":\"ended\"")
    })?;
    drop(answering);

    // The history lists it, outgoing, with its length.
    click(session, "open-call-history").await?;
    let summary = until_js(
        session,
        "the call in the history",
        "const e = document.querySelector('[data-testid=call-history-entry]'); \
         return e === null ? null : e.textContent",
    )
    .await?;
    let summary = summary.as_str().unwrap_or_default();
    ensure!(
        summary.contains("Outgoing video call · 0:"),
        "the history shows {summary:?}, not an outgoing video call with its length"
    );
    let length = summary
        .split("· ")
        .nth(1)
        .and_then(|rest| timer_seconds(rest.get(..4).unwrap_or(rest)))
        .with_context(|| format!("no length in {summary:?}"))?;
    ensure!(
        length >= later,
        "the history says {length} s, the timer ran {later} s"
    );
    screens.take(session, "09-call-history").await?;
    click(session, "open-chats").await?;
    Ok(())
}

/// Closes the main window as its close button does (to the tray): Ctrl+W.
async fn close_main_window(session: &Client) -> Result<()> {
    let keys = KeyActions::new("keyboard".to_owned())
        .then(KeyAction::Down {
            value: Key::Control.into(),
        })
        .then(KeyAction::Down { value: 'w' })
        .then(KeyAction::Up { value: 'w' })
        .then(KeyAction::Up {
            value: Key::Control.into(),
        });
    session.perform_actions(keys).await?;
    wait_for("the main window hidden", || {
        Ok((!visible_window("^(\\([0-9]+\\) )?Natter$")?).then_some(()))
    })
    .await
}

/// Whether a mapped X window has a title matching `pattern`.
fn visible_window(pattern: &str) -> Result<bool> {
    Ok(crate::processes::visible_window(pattern)?.is_some())
}

async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        if let Some(value) = check()? {
            return Ok(value);
        }
        ensure!(
            Instant::now() < deadline,
            "{what}: not within {} s",
            UI_TIMEOUT.as_secs()
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Bob calls while the main window is in the tray: the call window, the ringtone, Accept.
async fn bob_calls_app(
    session: &Client,
    bob: &Cli,
    pulse: &Pulse,
    artifacts: &Path,
    screens: &Screenshots,
) -> Result<()> {
    let main = session.window().await?;
    close_main_window(session).await?;
    let recording = pulse.record(&artifacts.join("e2e-speaker.raw"))?;
    let mut calling = bob.start(
        "natter call",
        &[
            "call",
            "alice",
            "--video",
            "--fake-camera",
            "--fake-mic",
            "550",
        ],
    )?;

    wait_for("the incoming call window", || {
        Ok(visible_window("^Incoming call")?.then_some(()))
    })
    .await?;
    let deadline = Instant::now() + UI_TIMEOUT;
    let call_window = loop {
        let windows = session.windows().await?;
        if let Some(window) = windows.into_iter().find(|window| *window != main) {
            break window;
        }
        ensure!(Instant::now() < deadline, "WebDriver sees no second window");
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    session.switch_to_window(call_window.clone()).await?;
    let caller = until_js(
        session,
        "the caller in the call window",
        "const e = document.querySelector('[data-testid=incoming-name]'); \
         return e === null || e.getClientRects().length === 0 ? null : e.textContent",
    )
    .await?;
    ensure!(
        caller.as_str() == Some("Bob Builder"),
        "the call window shows {caller}, not Bob Builder"
    );
    screens.take(session, "10-incoming-call").await?;

    let heard = wait_for("the ringtone on the speaker", || {
        let tones = recording.tones()?;
        Ok(tones
            .iter()
            .copied()
            .find(|hz| (hz - Tune::RINGTONE_HZ).abs() / Tune::RINGTONE_HZ < 0.02))
    })
    .await?;
    println!("desktop e2e: the ringtone plays at {heard:.0} Hz with the main window hidden");
    drop(recording);

    click_closing(session, "accept-video", &call_window).await?;
    session.switch_to_window(main).await?;
    wait_for("the main window back", || {
        Ok(visible_window("^(\\([0-9]+\\) )?Natter$")?.then_some(()))
    })
    .await?;
    until_phase(session, "connected").await?;
    check_remote_video(session, &screens.directory, "11-accepted").await?;
    screens.take(session, "11-call-accepted").await?;
    no_camera_here(session, &mut calling).await?;
    click(session, "call-hangup").await?;
    let ended = calling.wait_for_line("Bob's call ending", UI_TIMEOUT, |line| {
        line.contains("\"phase\":\"ended\"")
    })?;
    ensure!(
        ended.contains("completed"),
        "Bob's call did not complete: {ended}"
    );
    Ok(())
}

/// Issue 14: this machine has no camera, and the app answered with "Video". The call goes on
/// with my camera off and says so: the button offers to turn it on (never off), no self view,
/// and Bob is told. Turning it on tries again and says why it cannot.
async fn no_camera_here(session: &Client, calling: &mut crate::processes::Running) -> Result<()> {
    const CONTROLS: &str = "const button = document.querySelector('[data-testid=call-camera]'); \
         const me = document.querySelector('[data-testid=local-video]'); \
         const controls = { label: button?.getAttribute('aria-label'), \
                            self_view: me !== null && !me.hidden };";
    let controls = until_js(
        session,
        "the camera button offering to turn the camera on",
        &format!("{CONTROLS} return controls.label === 'Turn camera on' ? controls : null"),
    )
    .await?;
    ensure!(
        controls["self_view"] == false,
        "a self view is shown without a camera: {controls}"
    );
    calling.wait_for_line(
        "Bob told that the app's camera is off",
        UI_TIMEOUT,
        |line| line.contains("\"peer_camera_on\":false"),
    )?;

    click(session, "call-camera").await?;
    let told = until_js(
        session,
        "the failure to turn the camera on reported",
        "const toast = document.getElementById('toast'); \
         return toast !== null && !toast.hidden \
           && toast.textContent.includes('Could not turn the camera on') ? toast.textContent : null",
    )
    .await?;
    println!(
        "desktop e2e: without a camera, turning it on says: {}",
        told.as_str().unwrap_or_default().trim()
    );
    let controls = until_js(
        session,
        "the camera button offering to turn the camera on again",
        &format!("{CONTROLS} return controls.label === 'Turn camera on' ? controls : null"),
    )
    .await?;
    ensure!(
        controls["self_view"] == false,
        "a self view is shown without a camera: {controls}"
    );
    let output = calling.output();
    let last_call = output
        .lines()
        .rev()
        .find(|line| line.contains("\"type\":\"call\""))
        .unwrap_or_default();
    ensure!(
        last_call.contains("\"peer_camera_on\":false"),
        "after the failed attempt Bob's call says {last_call}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_read_as_seconds() {
        assert_eq!(timer_seconds("00:07"), Some(7));
        assert_eq!(timer_seconds("3:02"), Some(182));
        assert_eq!(timer_seconds("1:00:05"), Some(3605));
        assert_eq!(timer_seconds("Connecting…"), None);
    }
}
