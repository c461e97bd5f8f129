//! Which devices the desktop app opens: the user's picks from the settings, else the system's
//! default, else the first that works, so that a call still has sound on a machine whose
//! "default" is missing. Everything here blocks (the system is asked): call it off the async
//! runtime.

use std::sync::{Arc, RwLock};

use natter_client::call_shell::DeviceFactory;
use natter_media::{
    devices::{self, AudioSink, Camera, Microphone, VideoSink},
    engine::{Devices, VideoSettings},
};
use natter_protocol::CallKind;

use crate::frames::Streams;

/// The devices picked in the settings (`None`: the system's choice).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Picks {
    pub camera: Option<String>,
    pub microphone: Option<String>,
    pub speaker: Option<String>,
}

/// Shared between the settings (which change it) and the call factory (which reads it per call).
pub type SharedPicks = Arc<RwLock<Picks>>;

/// The ids of the system's devices of one kind (the synthetic ones are not among them: nobody
/// chose a test pattern), each kind listed alone so opening a speaker does not scan cameras.
fn ids(listed: Vec<devices::DeviceInfo>) -> Vec<String> {
    listed.into_iter().map(|device| device.id).collect()
}

/// Tries `preferred`, then the listed ones (the system default first); the first that opens.
fn first_that_opens<T>(
    what: &str,
    preferred: Option<&str>,
    listed: impl FnOnce() -> Vec<String>,
    open: impl Fn(&str) -> Result<T, devices::DeviceError>,
) -> Option<T> {
    if let Some(id) = preferred {
        match open(id) {
            Ok(device) => return Some(device),
            Err(error) => {
                tracing::warn!(%error, id, "the {what} picked in the settings did not open")
            }
        }
    }
    for id in listed() {
        if Some(id.as_str()) == preferred {
            continue;
        }
        match open(&id) {
            Ok(device) => return Some(device),
            Err(error) => tracing::debug!(%error, id, "{what} did not open"),
        }
    }
    None
}

/// The picked camera, else the first real one; none on a machine without a camera (the call
/// goes on with my camera off rather than with a test pattern nobody chose).
pub fn open_camera(picks: &Picks, video: VideoSettings) -> Option<Box<dyn Camera>> {
    first_that_opens(
        "camera",
        picks.camera.as_deref(),
        || ids(devices::webcam::cameras()),
        |id| devices::open_camera(id, video.width, video.height, video.frame_rate),
    )
}

/// The camera a call opens when none is picked.
pub fn first_camera() -> Option<String> {
    ids(devices::webcam::cameras()).into_iter().next()
}

/// The picked microphone, else the system's, else the first real one.
pub fn open_microphone(picks: &Picks) -> Option<Box<dyn Microphone>> {
    first_that_opens(
        "microphone",
        picks.microphone.as_deref(),
        || ids(devices::sound::microphones()),
        devices::open_microphone,
    )
}

/// The picked speaker, else the system's, else the first real one, else silence.
pub fn open_speaker(picks: &Picks) -> Arc<dyn AudioSink> {
    first_that_opens(
        "speaker",
        picks.speaker.as_deref(),
        || ids(devices::sound::speakers()),
        devices::open_speaker,
    )
    .unwrap_or_else(|| {
        tracing::warn!("no speaker opens: calls and ringtones are silent");
        Arc::new(devices::SilentSpeaker)
    })
}

/// Opens a call's devices: the picks of the moment, the pictures to the page's streams.
pub fn call_devices(picks: SharedPicks, streams: &Streams, video: VideoSettings) -> DeviceFactory {
    let remote: Arc<dyn VideoSink> = streams.remote.clone();
    let local: Arc<dyn VideoSink> = streams.local.clone();
    Arc::new(move |kind| {
        let picks = picks.read().map(|picks| picks.clone()).unwrap_or_default();
        Devices {
            camera: (kind == CallKind::Video)
                .then(|| open_camera(&picks, video))
                .flatten(),
            microphone: open_microphone(&picks),
            video_sink: Some(remote.clone()),
            audio_sink: Some(open_speaker(&picks)),
            self_view: Some(local.clone()),
        }
    })
}

/// The id to switch to mid-call for a pick (`None`, the system's choice, is `default`).
pub fn id_or_default(id: Option<&str>) -> String {
    id.unwrap_or("default").to_owned()
}
