//! Interoperability: the native client and headless Chromium (an independent WebRTC stack, with
//! its fake camera and a tone for its microphone) call each other through a real server, both
//! ways, and each decodes the other's video and audio.
//!
//! Needs Debian's `chromium` (`cargo xtask test` installs it; `NATTER_CHROMIUM` overrides the
//! path). Chromium leaves out loopback when it gathers candidates, so the two peers meet on the
//! machine's own non-loopback address.

mod common;

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use common::{Setup, WAIT, start_server_with};
use serde_json::Value;

/// What the native client's microphone plays, and what Chromium's plays (from a WAV file).
const NATIVE_TONE_HZ: f64 = 440.0;
const NATIVE_TONE: &str = "440";
const CHROMIUM_TONE_HZ: f64 = 550.0;
const TALK_SECONDS: u64 = 6;

/// Chromium, killed when the test ends however it ends.
struct Chromium {
    child: Child,
    reports: mpsc::Receiver<Value>,
    _profile: tempfile::TempDir,
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Chromium {
    /// Opens the peer page as the user with `token`.
    fn start(setup: &Setup, token: &str, role: &str, callee: Option<&str>) -> Chromium {
        let profile = tempfile::tempdir().expect("a profile directory");
        let tone = profile.path().join("tone.wav");
        write_tone(&tone, CHROMIUM_TONE_HZ);
        let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/chromium/peer.html");
        let mut url = url::Url::from_file_path(&page).expect("an absolute path");
        url.query_pairs_mut()
            .append_pair(
                "ws",
                &format!("{}/api/ws", setup.url.replacen("http", "ws", 1)),
            )
            .append_pair("token", token)
            .append_pair("role", role)
            .append_pair("callee", callee.unwrap_or(""))
            .append_pair("seconds", &TALK_SECONDS.to_string());
        let binary = std::env::var("NATTER_CHROMIUM").unwrap_or_else(|_| "chromium".into());
        let mut child = Command::new(&binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                "--autoplay-policy=no-user-gesture-required",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!(
                "--use-file-for-fake-audio-capture={}",
                tone.display()
            ))
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url.as_str())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("{binary} could not start ({error}): install Debian's chromium package")
            });
        let stderr = child.stderr.take().expect("stderr is piped");
        let (sender, reports) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(report) = page_report(&line)
                    && sender.send(report).is_err()
                {
                    break;
                }
            }
        });
        Chromium {
            child,
            reports,
            _profile: profile,
        }
    }

    /// Waits for a report of this type, failing on an error report or after `within`.
    fn wait_for(&self, kind: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.reports.recv_timeout(left) {
                Ok(report) if report["type"] == kind => return report,
                Ok(report) => {
                    assert_ne!(
                        report["type"], "error",
                        "the Chromium peer failed: {report}"
                    );
                    seen.push(report);
                }
                Err(_) => {
                    panic!("Chromium did not report {kind:?} in {within:?}; it said {seen:#?}")
                }
            }
        }
    }
}

/// `NATTER-PEER {json}` from a console line such as
/// `[…:INFO:CONSOLE:52] "NATTER-PEER {…}", source: file:///…/peer.html (52)`.
fn page_report(line: &str) -> Option<Value> {
    let start = line.find("\"NATTER-PEER ")? + "\"NATTER-PEER ".len();
    let end = line.rfind("\", source:")?;
    serde_json::from_str(line.get(start..end)?).ok()
}

/// Two seconds of a sine tone, 48 kHz mono 16-bit: Chromium loops it as its microphone.
fn write_tone(path: &Path, hz: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("the tone file is writable");
    for n in 0..96_000 {
        let phase = 2.0 * std::f64::consts::PI * hz * f64::from(n) / 48_000.0;
        writer
            .write_sample((phase.sin() * 8_000.0) as i16)
            .expect("a sample is written");
    }
    writer.finalize().expect("the tone file is complete");
}

/// `command` with the native side's media flags: synthetic camera and tone, every interface
/// (not only loopback).
fn native_args<'a>(command: &[&'a str]) -> Vec<&'a str> {
    let mut args = command.to_vec();
    args.extend([
        "--fake-camera",
        "--fake-mic",
        NATIVE_TONE,
        "--no-mdns",
        "--probe",
    ]);
    args
}

fn assert_near(heard: Option<f64>, expected: f64, who: &str) {
    let heard = heard.unwrap_or_else(|| panic!("{who} heard no tone"));
    assert!(
        (heard - expected).abs() / expected < 0.02,
        "{who} heard {heard} Hz instead of {expected} Hz"
    );
}

/// Chromium decoded H.264 video and Opus audio from us, and heard our tone.
fn check_chromium_received(ended: &Value) {
    assert_eq!(ended["video_codec"], "video/H264", "{ended}");
    assert_eq!(ended["audio_codec"], "audio/opus", "{ended}");
    let frames = ended["frames_decoded"].as_u64().unwrap_or(0);
    assert!(
        frames >= 4 * 30 / 2,
        "Chromium decoded only {frames} pictures: {ended}"
    );
    assert_eq!(ended["frame_width"], 640, "{ended}");
    assert_eq!(ended["frame_height"], 480, "{ended}");
    assert!(
        ended["audio_samples"].as_u64().unwrap_or(0) >= 4 * 48_000,
        "Chromium decoded too little audio: {ended}"
    );
    assert_near(ended["tone_hz"].as_f64(), NATIVE_TONE_HZ, "Chromium");
}

/// We decoded Chromium's fake camera and heard its tone.
fn check_native_received(lines: &[Value]) {
    let probe = lines
        .iter()
        .rev()
        .find(|line| line["type"] == "media_probe")
        .unwrap_or_else(|| panic!("no media_probe line in {lines:#?}"));
    let frames = probe["frames"].as_u64().unwrap_or(0);
    assert!(
        frames >= 4 * 30 / 2,
        "we decoded only {frames} of Chromium's pictures: {probe}"
    );
    let resolution = lines
        .iter()
        .rev()
        .find(|line| line["type"] == "call_stats" && line["stats"]["remote_width"].is_number())
        .map(|line| {
            (
                &line["stats"]["remote_width"],
                &line["stats"]["remote_height"],
            )
        })
        .unwrap_or_else(|| panic!("no remote resolution in {lines:#?}"));
    assert_eq!(resolution, (&Value::from(640), &Value::from(480)));
    assert_near(
        probe["tone_hz"].as_f64(),
        CHROMIUM_TONE_HZ,
        "the native client",
    );
}

/// Signs up the native user and the browser user, who share a conversation (calls need one).
/// Returns their tokens and the native user's id.
async fn users(setup: &Setup) -> (String, String, String) {
    let native = setup.sign_up("native").await;
    let browser = setup.sign_up("browser").await;
    setup.run(Some(&native), &["dm", "@browser"]).await;
    let me = setup.run(Some(&native), &["whoami"]).await;
    let native_id = me[0]["id"]
        .as_str()
        .expect("whoami prints my id")
        .to_owned();
    (native, browser, native_id)
}

/// A server that lets the test page open its WebSocket: the page is a local file, whose
/// `Origin` is `null`, which the server refuses unless its operator allows it.
async fn start_browser_server() -> Setup {
    start_server_with(|config| config.allowed_origins = vec!["null".into()]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_native_client_calls_chromium() {
    let setup = start_browser_server().await;
    let (native, browser, _) = users(&setup).await;
    let chromium = Chromium::start(&setup, &browser, "answer", None);
    chromium.wait_for("ready", WAIT);

    let talk = TALK_SECONDS.to_string();
    let caller = setup.start(
        "native-call",
        &native,
        &native_args(&["call", "browser", "--video", "--duration", &talk]),
    );
    let (seen, ok) = caller.finish();
    assert!(ok, "{seen:#?}");
    let ended = chromium.wait_for("ended", WAIT);

    assert_eq!(ended["reason"], "completed", "{ended}");
    check_chromium_received(&ended);
    check_native_received(&seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_calls_the_native_client() {
    let setup = start_browser_server().await;
    let (native, browser, native_id) = users(&setup).await;

    let answerer = setup.start("native-answer", &native, &native_args(&["answer"]));
    let chromium = Chromium::start(&setup, &browser, "call", Some(&native_id));
    let (seen, ok) = answerer.finish();
    assert!(ok, "{seen:#?}");
    let ended = chromium.wait_for("ended", WAIT);

    assert_eq!(ended["reason"], "completed", "{ended}");
    check_chromium_received(&ended);
    check_native_received(&seen);
}
