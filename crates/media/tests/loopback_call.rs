//! Two media sessions in one process, connected over real UDP on 127.0.0.1 with real
//! encoding and decoding: the callee sees the caller's test pattern in order and nearly
//! complete, and each side hears the other's tone.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use natter_media::{
    AudioFrame, SAMPLE_RATE, VideoFrame,
    devices::{AudioSink, TestPatternCamera, ToneMicrophone, VideoSink},
    engine::{Devices, MediaConfig, MediaEvent, MediaSession, MediaState, Role, VideoSettings},
    stamp, tone,
};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);

#[derive(Default)]
struct Recorder {
    stamps: Mutex<Vec<(u32, Instant)>>,
    unreadable: Mutex<u32>,
    audio: Mutex<Vec<i16>>,
}

impl VideoSink for Recorder {
    fn frame(&self, frame: VideoFrame) {
        match stamp::read(&frame) {
            Some(stamp) => self
                .stamps
                .lock()
                .unwrap()
                .push((stamp.counter, Instant::now())),
            None => *self.unreadable.lock().unwrap() += 1,
        }
    }
}

impl AudioSink for Recorder {
    fn frame(&self, frame: AudioFrame) {
        self.audio.lock().unwrap().extend(frame.samples);
    }
}

struct Side {
    session: MediaSession,
    events: mpsc::UnboundedReceiver<MediaEvent>,
    recorder: Arc<Recorder>,
    /// My own camera's pictures, as the engine hands them to the self view.
    self_view: Arc<Recorder>,
}

async fn side(role: Role, tone_hz: f64) -> Side {
    let recorder = Arc::new(Recorder::default());
    let self_view = Arc::new(Recorder::default());
    let config = MediaConfig {
        udp_bind: vec!["127.0.0.1:0".into()],
        mdns: false,
        video: Some(VideoSettings::default()),
        ..MediaConfig::default()
    };
    let devices = Devices {
        camera: Some(Box::new(TestPatternCamera {
            width: 640,
            height: 480,
            frame_rate: 30,
        })),
        microphone: Some(Box::new(ToneMicrophone {
            frequency_hz: tone_hz,
        })),
        video_sink: Some(recorder.clone()),
        audio_sink: Some(recorder.clone()),
        self_view: Some(self_view.clone()),
    };
    let (session, events) = MediaSession::start(config, role, devices)
        .await
        .expect("the media session starts");
    Side {
        session,
        events,
        recorder,
        self_view,
    }
}

/// Carries signals both ways until both sides are connected.
async fn connect(caller: &mut Side, callee: &mut Side) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let (mut caller_up, mut callee_up) = (false, false);
    while !(caller_up && callee_up) {
        tokio::select! {
            event = caller.events.recv() => match event.expect("caller events") {
                MediaEvent::Signal(signal) => callee.session.handle_signal(signal),
                MediaEvent::State(state) => caller_up |= state == MediaState::Connected,
            },
            event = callee.events.recv() => match event.expect("callee events") {
                MediaEvent::Signal(signal) => caller.session.handle_signal(signal),
                MediaEvent::State(state) => callee_up |= state == MediaState::Connected,
            },
            () = tokio::time::sleep_until(deadline) => panic!("not connected within {WAIT:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_carries_the_pattern_and_the_tones_both_ways() {
    let mut caller = side(Role::Offerer, 440.0).await;
    let mut callee = side(Role::Answerer, 660.0).await;
    connect(&mut caller, &mut callee).await;

    // Wait for the first picture, then measure five seconds of video.
    let deadline = Instant::now() + WAIT;
    while callee.recorder.stamps.lock().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "no picture decoded within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let start = Instant::now();
    let first = callee.recorder.stamps.lock().unwrap()[0].0;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stamps: Vec<u32> = callee
        .recorder
        .stamps
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, at)| *at >= start && at.duration_since(start) <= Duration::from_secs(5))
        .map(|(counter, _)| *counter)
        .collect();
    assert!(
        stamps.windows(2).all(|pair| pair[0] < pair[1]),
        "frame counters in increasing order: {stamps:?}"
    );
    let (Some(&low), Some(&high)) = (stamps.first(), stamps.last()) else {
        panic!("no pictures in five seconds");
    };
    let sent = high - low + 1;
    let decoded = stamps.len() as u32;
    assert!(
        f64::from(decoded) >= 0.9 * f64::from(sent),
        "decoded {decoded} of {sent} pictures sent (from #{first})"
    );
    assert!(
        sent >= 120,
        "about 30 fps for five seconds, got {sent} pictures"
    );
    assert_eq!(
        *callee.recorder.unreadable.lock().unwrap(),
        0,
        "every picture carries its stamp"
    );
    eprintln!("decoded {decoded} of {sent} pictures in 5 s");

    // Each side hears the other's tone (the last two seconds, past any start-up).
    for (listener, expected) in [(&callee, 440.0), (&caller, 660.0)] {
        let audio = listener.recorder.audio.lock().unwrap().clone();
        let recent = &audio[audio.len().saturating_sub(2 * SAMPLE_RATE as usize)..];
        let heard = tone::dominant_frequency(recent, SAMPLE_RATE).expect("a tone is heard");
        eprintln!("heard {heard:.2} Hz, sent {expected} Hz");
        assert!(
            (heard - expected).abs() / expected < 0.02,
            "heard {heard:.1} Hz, expected {expected} Hz"
        );
    }

    // The self view shows what is sent: the same pictures, in order.
    let shown: Vec<u32> = caller
        .self_view
        .stamps
        .lock()
        .unwrap()
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert!(
        shown.len() >= stamps.len() && shown.windows(2).all(|pair| pair[0] < pair[1]),
        "the self view had {} pictures in order ({} decoded by the peer)",
        shown.len(),
        stamps.len()
    );

    let stats = callee.session.stats().await;
    eprintln!("{stats:?}");
    assert!(stats.frames_decoded >= decoded, "{stats:?}");
    assert_eq!(stats.remote_resolution, Some((640, 480)));
    assert!(stats.rtt_ms.is_some(), "{stats:?}");
    caller.session.close().await;
    callee.session.close().await;
}

/// Polls `done` until it holds, for at most [`WAIT`].
async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done().await {
        assert!(Instant::now() < deadline, "{what}: not within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The tone in the last half second a recorder played.
fn recent_tone(recorder: &Recorder) -> Option<f64> {
    let audio = recorder.audio.lock().unwrap();
    let recent = &audio[audio.len().saturating_sub(SAMPLE_RATE as usize / 2)..];
    (recent.len() == SAMPLE_RATE as usize / 2)
        .then(|| tone::dominant_frequency(recent, SAMPLE_RATE))
        .flatten()
}

fn near(heard: Option<f64>, expected: f64) -> bool {
    heard.is_some_and(|heard| (heard - expected).abs() / expected < 0.02)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microphone_camera_and_speaker_switch_mid_call() {
    let mut caller = side(Role::Offerer, 440.0).await;
    let mut callee = side(Role::Answerer, 660.0).await;
    connect(&mut caller, &mut callee).await;
    wait_until("the callee hears 440 Hz", async || {
        near(recent_tone(&callee.recorder), 440.0)
    })
    .await;
    wait_until("the callee sees 640x480", async || {
        callee.session.stats().await.remote_resolution == Some((640, 480))
    })
    .await;

    caller
        .session
        .switch_microphone(Box::new(ToneMicrophone {
            frequency_hz: 550.0,
        }))
        .await
        .expect("the microphone switches");
    caller
        .session
        .switch_camera(Box::new(TestPatternCamera {
            width: 320,
            height: 240,
            frame_rate: 30,
        }))
        .await
        .expect("the camera switches");
    let headphones = Arc::new(Recorder::default());
    callee.session.switch_speaker(headphones.clone());

    wait_until(
        "the new speaker plays the new microphone's 550 Hz",
        async || near(recent_tone(&headphones), 550.0),
    )
    .await;
    wait_until("the callee sees the new camera's 320x240", async || {
        callee.session.stats().await.remote_resolution == Some((320, 240))
    })
    .await;
    let before = callee.recorder.audio.lock().unwrap().len();
    wait_until("the old speaker stays silent", async || {
        headphones.audio.lock().unwrap().len() >= SAMPLE_RATE as usize
    })
    .await;
    assert_eq!(
        callee.recorder.audio.lock().unwrap().len(),
        before,
        "the old speaker got audio after the switch"
    );
    caller.session.close().await;
    callee.session.close().await;
}
