//! Devices behind small traits: a camera and a microphone push frames into a channel at their
//! own pace; decoded video goes to a [`VideoSink`] and played-out audio to an [`AudioSink`].
//! Synthetic devices are real implementations of the same traits, selectable like any other:
//! [`list`] names them all, [`open_camera`], [`open_microphone`] and [`open_speaker`] open one
//! by the id listed.

pub mod sound;
pub mod webcam;

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
    /// What a selection names; stable across runs for the same device where the system allows.
    pub id: String,
    /// What a person reads in a list.
    pub name: String,
}

/// Everything that can be picked, real devices first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceList {
    pub cameras: Vec<DeviceInfo>,
    pub microphones: Vec<DeviceInfo>,
    pub speakers: Vec<DeviceInfo>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("no device {0:?}")]
    NotFound(String),
    #[error("the device cannot be used: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The synthetic camera's id.
pub const TEST_PATTERN_ID: &str = "synthetic:test-pattern";
/// The synthetic speaker that plays nothing (a machine without sound, a bot).
pub const SILENT_SPEAKER_ID: &str = "synthetic:silent";
/// The frequency of the listed synthetic microphone; any other can be opened by id.
const LISTED_TONE_HZ: f64 = 440.0;

/// The synthetic microphone's id for a tone of `hz`.
pub fn tone_id(hz: f64) -> String {
    format!("synthetic:tone:{hz}")
}

/// Lists the system's cameras, microphones and speakers, and the synthetic ones. Asks the
/// system (blocking, up to a few hundred milliseconds; on macOS the first time, until the
/// person answers whether Natter may use the camera): call it off the async runtime.
pub fn list() -> DeviceList {
    let mut list = DeviceList {
        cameras: webcam::cameras(),
        microphones: sound::microphones(),
        speakers: sound::speakers(),
    };
    list.cameras.push(DeviceInfo {
        id: TEST_PATTERN_ID.into(),
        name: "Test pattern".into(),
    });
    list.microphones.push(DeviceInfo {
        id: tone_id(LISTED_TONE_HZ),
        name: format!("Sine tone ({LISTED_TONE_HZ} Hz)"),
    });
    list.speakers.push(DeviceInfo {
        id: SILENT_SPEAKER_ID.into(),
        name: "Silent".into(),
    });
    list
}

/// Opens the camera listed as `id`, asking it for this size and rate.
pub fn open_camera(
    id: &str,
    width: u32,
    height: u32,
    frame_rate: u32,
) -> Result<Box<dyn Camera>, DeviceError> {
    if id == TEST_PATTERN_ID {
        return Ok(Box::new(TestPatternCamera {
            width,
            height,
            frame_rate,
        }));
    }
    Ok(Box::new(webcam::Webcam::open(
        id, width, height, frame_rate,
    )?))
}

/// Opens the microphone listed as `id` (`default` for the system's choice).
pub fn open_microphone(id: &str) -> Result<Box<dyn Microphone>, DeviceError> {
    if let Some(hz) = id.strip_prefix("synthetic:tone:") {
        let frequency_hz = hz
            .parse::<f64>()
            .ok()
            .filter(|hz| (20.0..=20_000.0).contains(hz))
            .ok_or_else(|| DeviceError::NotFound(id.into()))?;
        return Ok(Box::new(ToneMicrophone { frequency_hz }));
    }
    Ok(Box::new(sound::SoundInput::open(id)?))
}

/// Opens the speaker listed as `id` (`default` for the system's choice) and starts it.
pub fn open_speaker(id: &str) -> Result<Arc<dyn AudioSink>, DeviceError> {
    if id == SILENT_SPEAKER_ID {
        return Ok(Arc::new(SilentSpeaker));
    }
    Ok(Arc::new(sound::SoundOutput::open(id)?))
}

/// Plays nothing.
pub struct SilentSpeaker;

impl AudioSink for SilentSpeaker {
    fn frame(&self, _: AudioFrame) {}
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
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// Opens a device on a thread of its own (device handles are not `Send` on every platform)
/// and runs `tick` there until the [`Capture`] is dropped or `tick` returns false. Returns once
/// the device is open, or with the reason it could not be.
fn run_on_thread<D: 'static>(
    name: &str,
    open: impl FnOnce() -> Result<D, DeviceError> + Send + 'static,
    mut tick: impl FnMut(&mut D) -> bool + Send + 'static,
) -> std::io::Result<Capture> {
    let (opened, opened_rx) = std::sync::mpsc::channel();
    let running = Arc::new(AtomicBool::new(true));
    let flag = running.clone();
    let thread = thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let mut device = match open() {
                Ok(device) => {
                    let _ = opened.send(Ok(()));
                    device
                }
                Err(error) => {
                    let _ = opened.send(Err(error));
                    return;
                }
            };
            while flag.load(Ordering::SeqCst) && tick(&mut device) {}
        })?;
    let capture = Capture {
        running,
        thread: Some(thread),
    };
    match opened_rx.recv() {
        Ok(Ok(())) => Ok(capture),
        Ok(Err(error)) => Err(std::io::Error::other(error)),
        Err(_) => Err(std::io::Error::other("the device thread ended")),
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
pub(crate) fn run_every(
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
