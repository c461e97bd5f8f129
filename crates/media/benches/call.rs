//! The call benchmark: two media sessions in one process call each other over loopback UDP at
//! 640x480, 30 fps, with the test-pattern camera and tones, and report:
//! - setup: from both sides starting their media (what an accept sets off) to the first
//!   decoded picture at the callee;
//! - glass to glass: capture time (stamped in the picture) to decoded picture, per picture;
//! - the CPU time spent encoding and decoding video, per picture and as a share of one core,
//!   and the whole process's CPU while both sides run.
//!
//! `cargo bench -p natter-media --bench call -- [--seconds N] [--width W --height H --fps F]`
//! (or `cargo xtask bench call`). Prints a table and one JSON line.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use natter_media::{
    VideoFrame,
    devices::{TestPatternCamera, ToneMicrophone, VideoSink},
    engine::{Devices, MediaConfig, MediaEvent, MediaSession, Role, VideoSettings},
    now_us, stamp,
};
use tokio::sync::mpsc;

struct Latencies {
    started: Instant,
    first_frame: Option<Duration>,
    glass_to_glass_us: Vec<u64>,
}

struct Recorder(Mutex<Latencies>);

impl VideoSink for Recorder {
    fn frame(&self, frame: VideoFrame) {
        let now = now_us() & ((1 << 56) - 1);
        let mut latencies = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if latencies.first_frame.is_none() {
            latencies.first_frame = Some(latencies.started.elapsed());
        }
        if let Some(stamp) = stamp::read(&frame) {
            latencies
                .glass_to_glass_us
                .push(now.saturating_sub(stamp.captured_at_us));
        }
    }
}

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time of this process so far (user + system), from /proc.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux reports in clock ticks of 1/100 s on every common configuration.
    Some(Duration::from_millis(ticks * 10))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds = arg("--seconds", 20.0);
    let width = arg("--width", 640.0) as u32;
    let height = arg("--height", 480.0) as u32;
    let fps = arg("--fps", 30.0) as u32;
    let video = VideoSettings {
        width,
        height,
        frame_rate: fps,
        ..VideoSettings::default()
    };
    let config = MediaConfig {
        udp_bind: vec!["127.0.0.1:0".into()],
        mdns: false,
        video: Some(video),
        ..MediaConfig::default()
    };
    let devices = |tone: f64, sink: Option<Arc<Recorder>>| Devices {
        camera: Some(Box::new(TestPatternCamera {
            width,
            height,
            frame_rate: fps,
        })),
        microphone: Some(Box::new(ToneMicrophone { frequency_hz: tone })),
        video_sink: sink.map(|sink| sink as Arc<dyn VideoSink>),
        audio_sink: None,
        self_view: None,
    };
    let recorder = Arc::new(Recorder(Mutex::new(Latencies {
        started: Instant::now(),
        first_frame: None,
        glass_to_glass_us: Vec::new(),
    })));
    let started = Instant::now();
    recorder.0.lock().unwrap_or_else(|p| p.into_inner()).started = started;
    let (caller, mut caller_events) =
        MediaSession::start(config.clone(), Role::Offerer, devices(440.0, None))
            .await
            .expect("the caller's media starts");
    let (callee, mut callee_events) = MediaSession::start(
        config,
        Role::Answerer,
        devices(660.0, Some(recorder.clone())),
    )
    .await
    .expect("the callee's media starts");
    let forward = |mut from: mpsc::UnboundedReceiver<MediaEvent>, to: Arc<MediaSession>| {
        tokio::spawn(async move {
            while let Some(event) = from.recv().await {
                if let MediaEvent::Signal(signal) = event {
                    to.handle_signal(signal);
                }
            }
        })
    };
    let caller = Arc::new(caller);
    let callee = Arc::new(callee);
    let _forward_out = forward(
        std::mem::replace(&mut caller_events, mpsc::unbounded_channel().1),
        callee.clone(),
    );
    let _forward_back = forward(
        std::mem::replace(&mut callee_events, mpsc::unbounded_channel().1),
        caller.clone(),
    );

    // Warm up until the first picture, then measure the steady state.
    let deadline = Instant::now() + Duration::from_secs(20);
    while recorder
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .first_frame
        .is_none()
    {
        assert!(Instant::now() < deadline, "no picture within 20 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    recorder
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .glass_to_glass_us
        .clear();
    let before_stats = (caller.stats().await, callee.stats().await);
    let cpu_before = process_cpu();
    let measure_started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let wall = measure_started.elapsed();
    let cpu_after = process_cpu();
    let after_stats = (caller.stats().await, callee.stats().await);

    let (mut glass, first_frame) = {
        let latencies = recorder.0.lock().unwrap_or_else(|p| p.into_inner());
        (latencies.glass_to_glass_us.clone(), latencies.first_frame)
    };
    glass.sort_unstable();
    let setup_ms = first_frame.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    let encoded = after_stats.0.frames_sent - before_stats.0.frames_sent;
    let decoded = after_stats.1.frames_decoded - before_stats.1.frames_decoded;
    let encode_cpu = after_stats.0.encode_cpu - before_stats.0.encode_cpu;
    let decode_cpu = after_stats.1.decode_cpu - before_stats.1.decode_cpu;
    let per_frame =
        |cpu: Duration, frames: u32| cpu.as_secs_f64() * 1000.0 / f64::from(frames.max(1));
    let share = |cpu: Duration| cpu.as_secs_f64() / wall.as_secs_f64() * 100.0;
    let process_share = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) => share(after - before),
        _ => f64::NAN,
    };
    println!(
        "Call bench: {width}x{height} at {fps} fps, H.264 + Opus, loopback UDP, {seconds} s measured"
    );
    println!("  setup (media start -> first decoded picture): {setup_ms:.0} ms");
    println!(
        "  glass to glass: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} pictures)",
        percentile(&glass, 0.5),
        percentile(&glass, 0.95),
        percentile(&glass, 1.0),
        glass.len()
    );
    println!(
        "  pictures: {encoded} encoded by the caller, {decoded} decoded by the callee ({:.1} fps)",
        f64::from(decoded) / wall.as_secs_f64()
    );
    println!(
        "  encode: {:.2} ms CPU per picture ({:.1} % of a core); decode: {:.2} ms ({:.1} %)",
        per_frame(encode_cpu, encoded),
        share(encode_cpu),
        per_frame(decode_cpu, decoded),
        share(decode_cpu)
    );
    println!("  whole process (both sides, capture to playout): {process_share:.0} % of a core");
    println!(
        "{}",
        serde_json::json!({
            "width": width, "height": height, "fps": fps, "seconds": seconds,
            "setup_ms": setup_ms,
            "glass_to_glass_p50_ms": percentile(&glass, 0.5),
            "glass_to_glass_p95_ms": percentile(&glass, 0.95),
            "frames_encoded": encoded, "frames_decoded": decoded,
            "encode_ms_per_frame": per_frame(encode_cpu, encoded),
            "decode_ms_per_frame": per_frame(decode_cpu, decoded),
            "encode_core_percent": share(encode_cpu),
            "decode_core_percent": share(decode_cpu),
            "process_core_percent": process_share,
        })
    );
    if let (Ok(caller), Ok(callee)) = (Arc::try_unwrap(caller), Arc::try_unwrap(callee)) {
        caller.close().await;
        callee.close().await;
    }
}
