//! Observing what a call shows and plays: a private PulseAudio with a null sink (the app's
//! speaker) whose monitor is recorded, and checks on pictures of the rendered video.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use natter_media::{SAMPLE_RATE, tone};

use crate::processes::{Running, poll};

/// Name of the null sink: everything the app plays goes there.
const SINK: &str = "natter_e2e";
/// Longest wait for the sound server to open its socket.
const PULSE_TIMEOUT: Duration = Duration::from_secs(15);

/// A PulseAudio of the test's own, with a null sink as its only speaker.
pub struct Pulse {
    /// `unix:<socket>`, for `PULSE_SERVER`.
    pub server: String,
    _process: Running,
    _dir: tempfile::TempDir,
}

impl Pulse {
    pub fn start(artifacts: &Path) -> Result<Self> {
        let dir = tempfile::tempdir().context("no directory for the sound server")?;
        let socket = dir.path().join("native");
        let runtime = dir.path().join("runtime");
        fs::create_dir_all(&runtime)?;
        let mut process = Running::logged(
            "pulseaudio",
            Command::new("pulseaudio")
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
                .args([
                    "-L",
                    &format!("module-null-sink sink_name={SINK} rate=48000"),
                ])
                .env("HOME", dir.path())
                .env("XDG_RUNTIME_DIR", &runtime),
            &artifacts.join("e2e-pulseaudio.log"),
        )?;
        poll("pulseaudio opening its socket", PULSE_TIMEOUT, || {
            process.ensure_running()?;
            Ok(socket.exists().then_some(()))
        })?;
        Ok(Self {
            server: format!("unix:{}", socket.display()),
            _process: process,
            _dir: dir,
        })
    }

    /// Starts recording what the speaker plays (48 kHz mono, 16-bit) into `path`.
    pub fn record(&self, path: &Path) -> Result<Recording> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let process = Running::spawned(
            "parec",
            Command::new("parec")
                .arg(format!("--device={SINK}.monitor"))
                .args([
                    "--raw",
                    "--format=s16le",
                    "--rate=48000",
                    "--channels=1",
                    "--latency-msec=20",
                ])
                .env("PULSE_SERVER", &self.server)
                .stdin(Stdio::null())
                .stdout(file)
                .stderr(Stdio::null()),
        )?;
        Ok(Recording {
            path: path.to_path_buf(),
            _process: process,
        })
    }
}

/// What the speaker played since the recording started.
pub struct Recording {
    path: PathBuf,
    _process: Running,
}

impl Recording {
    /// The frequencies of the steady tones played so far: one per tenth of a second that is
    /// loud all through (every 10 ms of it above a fortieth of full scale; a ringtone, not
    /// noise or a fade).
    pub fn tones(&self) -> Result<Vec<f64>> {
        let bytes = fs::read(&self.path)?;
        let samples: Vec<i16> = bytes
            .chunks_exact(2)
            .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        let tenth = SAMPLE_RATE as usize / 10;
        let loud = i16::MAX / 40;
        Ok(samples
            .chunks_exact(tenth)
            .filter(|chunk| {
                chunk
                    .chunks(tenth / 10)
                    .all(|part| part.iter().map(|s| s.saturating_abs()).max() > Some(loud))
            })
            .filter_map(|chunk| tone::dominant_frequency(chunk, SAMPLE_RATE))
            .collect())
    }
}

/// The eight bars of the synthetic camera's test pattern, in RGB.
const BARS: [(&str, [u8; 3]); 8] = [
    ("white", [235, 235, 235]),
    ("yellow", [235, 235, 16]),
    ("cyan", [16, 235, 235]),
    ("green", [16, 235, 16]),
    ("magenta", [235, 16, 235]),
    ("red", [235, 16, 16]),
    ("blue", [16, 16, 235]),
    ("black", [16, 16, 16]),
];

/// The test pattern's bars seen along a line at a quarter of the picture's height: the names
/// of the bar colours found (each in at least a twentieth of the line, within a tolerance).
pub fn bars_seen(png: &[u8]) -> Result<Vec<&'static str>> {
    let picture = image::load_from_memory(png)
        .context("the screenshot is not a picture")?
        .to_rgb8();
    let (width, height) = picture.dimensions();
    let y = height / 4;
    let mut counts = [0u32; BARS.len()];
    for x in 0..width {
        let pixel = picture.get_pixel(x, y).0;
        let nearest = BARS.iter().enumerate().find(|(_, (_, colour))| {
            colour
                .iter()
                .zip(pixel)
                .all(|(want, got)| want.abs_diff(got) < 60)
        });
        if let Some((index, _)) = nearest {
            counts[index] += 1;
        }
    }
    Ok(BARS
        .iter()
        .zip(counts)
        .filter(|(_, count)| *count >= width / 20)
        .map(|((name, _), _)| *name)
        .collect())
}

/// The mean absolute difference of two pictures of the same size, per channel (0 to 255).
pub fn difference(a: &[u8], b: &[u8]) -> Result<f64> {
    let a = image::load_from_memory(a)?.to_rgb8();
    let b = image::load_from_memory(b)?.to_rgb8();
    anyhow::ensure!(
        a.dimensions() == b.dimensions(),
        "pictures of different sizes"
    );
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    Ok(total as f64 / a.as_raw().len().max(1) as f64)
}
