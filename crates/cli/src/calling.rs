//! `natter call` and `natter answer`: calls from the command line, with synthetic devices, and
//! an optional probe that reads back what arrives (the test pattern's counter and capture time,
//! the tone's pitch) for scripts and tests.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use clap::Args;
use natter_client::{
    Client, ClientEvent,
    call_machine::{Direction, Ending, Phase},
    call_shell::{CallSettings, DeviceFactory},
};
use natter_media::{
    AudioFrame, SAMPLE_RATE, VideoFrame,
    devices::{self, AudioSink, VideoSink},
    engine::{Devices, VideoSettings},
    now_us, stamp, tone,
};
use natter_protocol::{CallEndReason, CallKind};
use serde::Serialize;

use crate::print;

#[derive(Debug, Clone, Args)]
pub struct MediaArgs {
    /// Send the synthetic test-pattern camera (a frame counter and the capture time in the
    /// picture): `--camera synthetic:test-pattern`.
    #[arg(long, conflicts_with = "camera")]
    pub fake_camera: bool,
    /// Send a sine tone of this frequency (Hz) as the microphone: `--microphone
    /// synthetic:tone:HZ`.
    #[arg(long, value_name = "HZ", conflicts_with = "microphone")]
    pub fake_mic: Option<f64>,
    /// The camera for video calls, by id (`natter devices` lists them). Default: none.
    #[arg(long, value_name = "ID")]
    pub camera: Option<String>,
    /// The microphone, by id (`default` for the system's). Default: none (silence).
    #[arg(long, value_name = "ID")]
    pub microphone: Option<String>,
    /// The speaker, by id (`default` for the system's). Default: none.
    #[arg(long, value_name = "ID", conflicts_with = "probe")]
    pub speaker: Option<String>,
    /// Picture size and rate of the video sent.
    #[arg(long, default_value_t = 640)]
    pub width: u32,
    #[arg(long, default_value_t = 480)]
    pub height: u32,
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// Local UDP address for ICE host candidates (repeatable; default: every interface but
    /// loopback). Use 127.0.0.1:0 to call on one machine.
    #[arg(long = "bind", value_name = "ADDR")]
    pub bind: Vec<String>,
    /// Relay the media through the server's TURN (hides this machine's addresses).
    #[arg(long)]
    pub relay_only: bool,
    /// Do not resolve peers' mDNS candidates (needed where there is no multicast).
    #[arg(long)]
    pub no_mdns: bool,
    /// Print what arrives every second: pictures with their counters and latency, the tone
    /// (the probe listens in place of a speaker).
    #[arg(long)]
    pub probe: bool,
    /// Hang up after this many seconds connected.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
}

impl MediaArgs {
    /// `--duration` as a duration (a negative or absurd value is refused).
    pub fn talk_time(&self) -> anyhow::Result<Option<Duration>> {
        self.duration
            .map(|seconds| {
                Duration::try_from_secs_f64(seconds)
                    .map_err(|_| anyhow::anyhow!("--duration {seconds}: not a number of seconds"))
            })
            .transpose()
    }
}

/// What the probe saw in the last second.
#[derive(Debug, Default, Serialize)]
struct ProbeReport {
    #[serde(rename = "type")]
    kind: &'static str,
    frames: u64,
    frames_with_stamp: u64,
    first_counter: Option<u32>,
    last_counter: Option<u32>,
    /// Every stamped picture so far carried a higher counter than the one before.
    counters_in_order: bool,
    /// Capture to decoded, from the stamps (same machine clock), averaged.
    latency_ms: Option<f64>,
    tone_hz: Option<f64>,
}

#[derive(Default)]
pub struct Probe {
    video: Mutex<VideoProbe>,
    /// The last second of played-out audio.
    audio: Mutex<VecDeque<i16>>,
}

#[derive(Default)]
struct VideoProbe {
    frames: u64,
    stamped: u64,
    first: Option<u32>,
    last: Option<u32>,
    out_of_order: bool,
    latency_sum_us: u64,
    latency_count: u64,
}

impl VideoSink for Probe {
    fn frame(&self, frame: VideoFrame) {
        let mut video = self.video.lock().unwrap_or_else(|p| p.into_inner());
        video.frames += 1;
        if let Some(stamp) = stamp::read(&frame) {
            video.stamped += 1;
            if video.last.is_some_and(|last| stamp.counter <= last) {
                video.out_of_order = true;
            }
            video.first.get_or_insert(stamp.counter);
            video.last = Some(stamp.counter);
            let now = now_us() & ((1 << 56) - 1);
            video.latency_sum_us += now.saturating_sub(stamp.captured_at_us);
            video.latency_count += 1;
        }
    }
}

impl AudioSink for Probe {
    fn frame(&self, frame: AudioFrame) {
        let mut audio = self.audio.lock().unwrap_or_else(|p| p.into_inner());
        audio.extend(frame.samples);
        let excess = audio.len().saturating_sub(SAMPLE_RATE as usize);
        audio.drain(..excess);
    }
}

impl Probe {
    fn report(&self) -> ProbeReport {
        let video = self.video.lock().unwrap_or_else(|p| p.into_inner());
        let audio: Vec<i16> = self
            .audio
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect();
        ProbeReport {
            kind: "media_probe",
            frames: video.frames,
            frames_with_stamp: video.stamped,
            first_counter: video.first,
            last_counter: video.last,
            counters_in_order: !video.out_of_order,
            latency_ms: (video.latency_count > 0)
                .then(|| video.latency_sum_us as f64 / video.latency_count as f64 / 1000.0),
            tone_hz: tone::dominant_frequency(&audio, SAMPLE_RATE),
        }
    }
}

impl MediaArgs {
    /// The client's call settings, and the probe if asked for. Fails on a device id that no
    /// device has.
    pub fn settings(&self) -> anyhow::Result<(CallSettings, Option<Arc<Probe>>)> {
        let probe = self.probe.then(|| Arc::new(Probe::default()));
        let camera = self.camera.clone().or_else(|| {
            self.fake_camera
                .then(|| devices::TEST_PATTERN_ID.to_owned())
        });
        let microphone = self
            .microphone
            .clone()
            .or_else(|| self.fake_mic.map(devices::tone_id));
        let speaker = self.speaker.clone();
        check_listed(camera.as_deref(), microphone.as_deref(), speaker.as_deref())?;
        let video = VideoSettings {
            width: self.width,
            height: self.height,
            frame_rate: self.fps,
            ..VideoSettings::default()
        };
        let sinks = probe.clone();
        // Runs off the async runtime, once per call: a device unplugged since is left out.
        let factory: DeviceFactory = Arc::new(move |kind| Devices {
            camera: camera
                .as_deref()
                .filter(|_| kind == CallKind::Video)
                .and_then(|id| {
                    opened(
                        "camera",
                        devices::open_camera(id, video.width, video.height, video.frame_rate),
                    )
                }),
            microphone: microphone
                .as_deref()
                .and_then(|id| opened("microphone", devices::open_microphone(id))),
            video_sink: sinks.clone().map(|probe| probe as Arc<dyn VideoSink>),
            audio_sink: match &sinks {
                Some(probe) => Some(probe.clone() as Arc<dyn AudioSink>),
                None => speaker
                    .as_deref()
                    .and_then(|id| opened("speaker", devices::open_speaker(id))),
            },
            self_view: None,
        });
        let mut settings = CallSettings {
            mdns: !self.no_mdns,
            relay_only: self.relay_only,
            video,
            devices: factory,
            ..CallSettings::default()
        };
        if !self.bind.is_empty() {
            settings.udp_bind = self.bind.clone();
        }
        Ok((settings, probe))
    }
}

/// The device, or a warning and none.
fn opened<T>(what: &str, result: Result<T, devices::DeviceError>) -> Option<T> {
    result
        .inspect_err(|error| tracing::warn!(%error, "the {what} could not be opened"))
        .ok()
}

/// Refuses ids that name no device (a tone of any frequency is fine), before anything starts.
fn check_listed(
    camera: Option<&str>,
    microphone: Option<&str>,
    speaker: Option<&str>,
) -> anyhow::Result<()> {
    if camera.is_none() && microphone.is_none() && speaker.is_none() {
        return Ok(());
    }
    let list = devices::list();
    let tone = |id: &str| id.starts_with("synthetic:tone:") && devices::open_microphone(id).is_ok();
    for (what, id, listed) in [
        ("camera", camera, &list.cameras),
        ("microphone", microphone, &list.microphones),
        ("speaker", speaker, &list.speakers),
    ] {
        if let Some(id) = id
            && !listed.iter().any(|device| device.id == id)
            && !(what == "microphone" && tone(id))
        {
            anyhow::bail!("no {what} {id:?} (`natter devices` lists them)");
        }
    }
    Ok(())
}

/// What `natter call`/`answer` do once the client runs.
pub enum Mode {
    Call {
        callee: natter_protocol::UserId,
        kind: CallKind,
    },
    /// Waits for a call and takes it; with `keep_answering`, every call until interrupted.
    Answer { keep_answering: bool },
    /// Waits for a call and declines it.
    Decline,
}

/// How long an interrupted call waits for the server to confirm its end before exiting anyway.
const HANG_UP_WAIT: Duration = Duration::from_secs(5);

/// Runs `mode` with [`run`], then stops the client: exit code 0 for a call that ended as the
/// mode wanted (completed; declined for [`Mode::Decline`]).
pub async fn run_to_end(
    client: Client,
    mode: Mode,
    talk_time: Option<Duration>,
    probe: Option<Arc<Probe>>,
) -> anyhow::Result<std::process::ExitCode> {
    let outcome = run(&client, mode, talk_time, probe).await;
    client.stop().await;
    Ok(if outcome? {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

/// Prints the call's changes (and stats, and the probe) as JSON lines until it ends; true for a
/// call that ended as the mode wanted. Ctrl-C hangs up (or cancels, or declines) and still waits
/// for the end, so the last line says how the call ended; a second Ctrl-C leaves at once.
pub async fn run(
    client: &Client,
    mode: Mode,
    talk_time: Option<Duration>,
    probe: Option<Arc<Probe>>,
) -> anyhow::Result<bool> {
    let mut events = client.subscribe();
    let keep_answering = matches!(
        mode,
        Mode::Answer {
            keep_answering: true
        }
    );
    let declining = matches!(mode, Mode::Decline);
    let wanted_reason = if declining {
        CallEndReason::Declined
    } else {
        CallEndReason::Completed
    };
    if let Mode::Call { callee, kind } = mode {
        client.place_call(callee, kind).await?;
    }
    let mut hang_up_at: Option<tokio::time::Instant> = None;
    let mut interrupted_at: Option<tokio::time::Instant> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let hang_up = until(hang_up_at);
        tokio::select! {
            event = events.recv() => match event {
                Ok(event @ ClientEvent::Call { .. }) => {
                    print(&event)?;
                    let ClientEvent::Call { call } = event else { continue };
                    match call.phase {
                        Phase::Incoming if call.direction == Direction::Incoming => {
                            let taken = if declining {
                                client.decline_call().await
                            } else {
                                client.accept_call(true).await
                            };
                            // It may have ended meanwhile; its next change will say so.
                            if let Err(error) = taken {
                                tracing::warn!(%error, "the incoming call could not be taken");
                            }
                        }
                        Phase::Connected if hang_up_at.is_none() => {
                            hang_up_at =
                                talk_time.map(|talk_time| tokio::time::Instant::now() + talk_time);
                        }
                        Phase::Ended => {
                            hang_up_at = None;
                            if let Some(probe) = &probe {
                                print(&probe.report())?;
                            }
                            if !keep_answering || interrupted_at.is_some() {
                                return Ok(matches!(
                                    call.ending,
                                    Some(Ending::Ended { reason }) if reason == wanted_reason
                                ));
                            }
                        }
                        _ => {}
                    }
                }
                Ok(event @ ClientEvent::CallStats { .. }) => {
                    print(&event)?;
                }
                Ok(ClientEvent::SignedOut) => anyhow::bail!("the server refused the session"),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(error) => return Err(error.into()),
            },
            () = hang_up => {
                hang_up_at = None;
                client.hang_up().await?;
            }
            _ = tick.tick() => {
                if let Some(probe) = &probe
                    && client.call().is_some_and(|call| call.phase == Phase::Connected)
                {
                    print(&probe.report())?;
                }
            }
            _ = tokio::signal::ctrl_c() => {
                if interrupted_at.is_some() || client.call().is_none() {
                    return Ok(false);
                }
                interrupted_at = Some(tokio::time::Instant::now());
                client.hang_up().await?;
            }
            () = until(interrupted_at.map(|at| at + HANG_UP_WAIT)) => {
                anyhow::bail!("the server did not confirm the end of the call");
            }
        }
    }
}

/// Sleeps until `at`, or forever.
async fn until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
