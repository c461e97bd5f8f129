//! Real sound devices: the test starts its own PulseAudio server with a null sink (what plays
//! there can be recorded from its monitor), and cpal reaches it through ALSA's pulse plugin, as
//! on a desktop. A tone played on the default speaker comes back from the default microphone.
//!
//! Needs `pulseaudio` and `libasound2-plugins` (`cargo xtask test` installs them).

use std::{
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use natter_media::{
    AudioFrame, FRAME_MS, SAMPLE_RATE,
    devices::{self, AudioSink},
    synthetic::SineTone,
    tone,
};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);

/// A private PulseAudio server; stopped when dropped.
struct Pulse {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_pulse() -> Pulse {
    let dir = tempfile::tempdir().expect("a directory for the sound server");
    let socket = dir.path().join("native");
    let runtime = dir.path().join("runtime");
    std::fs::create_dir_all(&runtime).expect("the runtime directory");
    let child = Command::new("pulseaudio")
        .args([
            "-n",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--use-pid-file=no",
            "--disable-shm=yes",
            "--log-target=stderr",
            "-L",
        ])
        .arg(format!(
            "module-native-protocol-unix socket={} auth-anonymous=1",
            socket.display()
        ))
        .args(["-L", "module-null-sink sink_name=natter_test rate=48000"])
        .env("HOME", dir.path())
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("pulseaudio does not start ({error}): install it"));
    let deadline = Instant::now() + WAIT;
    while !socket.exists() {
        assert!(
            Instant::now() < deadline,
            "pulseaudio did not open its socket"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: set once, before this test (the only one in this binary) starts a thread that
    // reads the environment; cpal's ALSA plugin reads it when a device is opened.
    unsafe {
        std::env::set_var("PULSE_SERVER", format!("unix:{}", socket.display()));
    }
    Pulse { child, _dir: dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tone_played_on_the_speaker_is_heard_by_the_microphone() {
    let _pulse = start_pulse();

    let list = tokio::task::spawn_blocking(devices::list)
        .await
        .expect("listing does not panic");
    for (kind, listed) in [
        ("microphones", &list.microphones),
        ("speakers", &list.speakers),
    ] {
        assert_eq!(
            listed.first().map(|device| device.id.as_str()),
            Some("default"),
            "the system default comes first among the {kind}: {listed:#?}"
        );
        assert!(
            listed.iter().any(|device| device.id.starts_with("alsa:")),
            "the sound system's own {kind} are listed: {listed:#?}"
        );
        assert!(
            listed.iter().all(|device| !device.name.is_empty()),
            "{listed:#?}"
        );
    }
    assert!(
        list.cameras
            .iter()
            .any(|camera| camera.id == devices::TEST_PATTERN_ID)
    );

    // Everything played on the null sink comes back on its monitor, the default source.
    let speaker = tokio::task::spawn_blocking(|| devices::open_speaker("default"))
        .await
        .expect("opening does not panic")
        .expect("the default speaker opens");
    let (frames, mut recorded) = mpsc::channel::<AudioFrame>(256);
    let microphone = devices::open_microphone("default").expect("the default microphone");
    let _recording = microphone.start(frames).expect("the microphone records");

    let player = play_tone(speaker, 523.0);
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut heard: Vec<i16> = Vec::new();
    loop {
        let frame = tokio::time::timeout_at(deadline, recorded.recv())
            .await
            .unwrap_or_else(|_| panic!("no 523 Hz on the microphone within {WAIT:?}"))
            .expect("the microphone keeps recording");
        heard.extend(frame.samples);
        let last_half_second = &heard[heard.len().saturating_sub(SAMPLE_RATE as usize / 2)..];
        if last_half_second.len() == SAMPLE_RATE as usize / 2
            && let Some(frequency) = tone::dominant_frequency(last_half_second, SAMPLE_RATE)
            && (frequency - 523.0).abs() / 523.0 < 0.02
        {
            break;
        }
    }
    player.abort();
}

/// Plays a tone on the speaker in real time, 20 ms at a time, until aborted.
fn play_tone(speaker: Arc<dyn AudioSink>, hz: f64) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tone = SineTone::new(hz);
        let mut clock = tokio::time::interval(Duration::from_millis(FRAME_MS));
        loop {
            clock.tick().await;
            speaker.frame(tone.next_frame());
        }
    })
}
