//! Devices behind small traits: a camera and a microphone push frames into a channel at their
//! own pace; decoded video goes to a [`VideoSink`] and played-out audio to an [`AudioSink`].
//! Synthetic devices are real implementations of the same traits, selectable like any other.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use tokio::sync::mpsc;

use crate::{
    frame::{AudioFrame, FRAME_MS, VideoFrame, now_us},
    synthetic::{SineTone, TestPattern},
};

/// A device the user can pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Stable within a run: what a selection names.
    pub id: String,
    /// What a person reads in a list.
    pub name: String,
}

/// Stops the device's capture thread when dropped.
pub struct Capture {
    running: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.running.store(false, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A source of pictures.
pub trait Camera: Send {
    fn info(&self) -> DeviceInfo;
    /// Starts capturing into `frames` (a full channel drops the picture: capture never waits).
    fn start(self: Box<Self>, frames: mpsc::Sender<VideoFrame>) -> std::io::Result<Capture>;
}

/// A source of 20 ms audio frames.
pub trait Microphone: Send {
    fn info(&self) -> DeviceInfo;
    fn start(self: Box<Self>, frames: mpsc::Sender<AudioFrame>) -> std::io::Result<Capture>;
}

/// Where decoded pictures go (the desktop app renders them, tests inspect them).
pub trait VideoSink: Send + Sync {
    fn frame(&self, frame: VideoFrame);
}

/// Where played-out audio goes, 20 ms at a time, on the playout clock.
pub trait AudioSink: Send + Sync {
    fn frame(&self, frame: AudioFrame);
}

/// Runs `tick` every `period` on a thread of its own, on a schedule that does not drift.
fn run_every(
    name: &str,
    period: Duration,
    mut tick: impl FnMut() -> bool + Send + 'static,
) -> std::io::Result<Capture> {
    let running = Arc::new(AtomicBool::new(true));
    let flag = running.clone();
    let thread = thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let mut next = Instant::now();
            while flag.load(Ordering::SeqCst) {
                if !tick() {
                    break;
                }
                next += period;
                let now = Instant::now();
                if next > now {
                    thread::sleep(next - now);
                } else {
                    // Fell behind (a busy machine): skip ahead rather than burst.
                    next = now;
                }
            }
        })?;
    Ok(Capture {
        running,
        thread: Some(thread),
    })
}

/// The test-pattern camera.
pub struct TestPatternCamera {
    pub width: u32,
    pub height: u32,
    pub frame_rate: u32,
}

impl Camera for TestPatternCamera {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: "synthetic:test-pattern".into(),
            name: format!(
                "Test pattern ({}x{}, {} fps)",
                self.width, self.height, self.frame_rate
            ),
        }
    }

    fn start(self: Box<Self>, frames: mpsc::Sender<VideoFrame>) -> std::io::Result<Capture> {
        let mut pattern = TestPattern::new(self.width, self.height);
        let period = Duration::from_secs_f64(1.0 / f64::from(self.frame_rate.max(1)));
        run_every("natter-test-pattern", period, move || {
            let frame = pattern.next_frame(now_us());
            match frames.try_send(frame) {
                Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => true,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        })
    }
}

/// The sine-tone microphone.
pub struct ToneMicrophone {
    pub frequency_hz: f64,
}

impl Microphone for ToneMicrophone {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: format!("synthetic:tone:{}", self.frequency_hz),
            name: format!("Sine tone ({} Hz)", self.frequency_hz),
        }
    }

    fn start(self: Box<Self>, frames: mpsc::Sender<AudioFrame>) -> std::io::Result<Capture> {
        let mut tone = SineTone::new(self.frequency_hz);
        run_every(
            "natter-tone",
            Duration::from_millis(FRAME_MS),
            move || match frames.try_send(tone.next_frame()) {
                Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => true,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            },
        )
    }
}

/// The playout clock: every 20 ms asks `next` for the frame to play and hands it to `sink`.
pub fn start_playout(
    mut next: impl FnMut() -> AudioFrame + Send + 'static,
    sink: Arc<dyn AudioSink>,
) -> std::io::Result<Capture> {
    run_every(
        "natter-playout",
        Duration::from_millis(FRAME_MS),
        move || {
            sink.frame(next());
            true
        },
    )
}
