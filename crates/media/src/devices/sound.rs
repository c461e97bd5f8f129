//! Microphones and speakers through cpal (ALSA, and PulseAudio or PipeWire behind it, on Linux;
//! WASAPI on Windows; CoreAudio on macOS).
//!
//! Calls run at 48 kHz mono; a device that cannot run at 48 kHz is resampled (rubato), and
//! channels are mixed down (capture) or copied out (playback). cpal streams are not `Send` on
//! every platform, so each lives on a thread of its own for as long as its [`Capture`] does.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    thread,
    time::Duration,
};

use cpal::{
    Device, FromSample, Sample, SampleFormat, SizedSample, StreamConfig,
    traits::{DeviceTrait, HostTrait, StreamTrait},
};
use rubato::{FastFixedIn, PolynomialDegree, Resampler};
use tokio::sync::mpsc;

use super::{AudioSink, Capture, DeviceError, DeviceInfo, Microphone};
use crate::frame::{AudioFrame, FRAME_SAMPLES, SAMPLE_RATE};

/// What a speaker holds at most before it drops the oldest audio: more is only delay.
const SPEAKER_QUEUE_MS: usize = 200;
/// How long opening a stream may take before the device counts as unavailable.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);

/// The system's microphones (the default first), as the user would pick them.
pub fn microphones() -> Vec<DeviceInfo> {
    let host = cpal::default_host();
    listed(
        host.default_input_device(),
        host.input_devices(),
        "microphones",
    )
}

/// The system's speakers and headphones (the default first).
pub fn speakers() -> Vec<DeviceInfo> {
    let host = cpal::default_host();
    listed(
        host.default_output_device(),
        host.output_devices(),
        "speakers",
    )
}

fn listed(
    default: Option<Device>,
    devices: Result<impl Iterator<Item = Device>, cpal::Error>,
    what: &str,
) -> Vec<DeviceInfo> {
    let devices: Vec<Device> = devices.map(Iterator::collect).unwrap_or_else(|error| {
        tracing::warn!(%error, "could not list the {what}");
        Vec::new()
    });
    let mut listed: Vec<DeviceInfo> = Vec::new();
    if let Some(default) = &default {
        listed.push(DeviceInfo {
            id: "default".into(),
            name: format!("System default ({})", display_name(default)),
        });
    }
    for device in devices {
        let Ok(id) = device.id() else { continue };
        let id = id.to_string();
        if !is_user_facing(&id) {
            continue;
        }
        listed.push(DeviceInfo {
            name: display_name(&device),
            id,
        });
    }
    listed
}

/// ALSA lists its plugins (rate converters, up/down mixers, JACK, OSS, a null sink) beside the
/// sound cards: only the cards and the sound servers are something a person picks.
fn is_user_facing(id: &str) -> bool {
    let Some(alsa) = id.strip_prefix("alsa:") else {
        return true;
    };
    matches!(alsa, "default" | "pulse" | "pipewire")
        || alsa.contains("CARD=")
        || alsa.starts_with("hw:")
        || alsa.starts_with("plughw:")
}

fn display_name(device: &Device) -> String {
    device
        .description()
        .map(|description| description.name().to_owned())
        .unwrap_or_else(|_| "Unnamed device".into())
}

/// `default` or a cpal device id (`alsa:hw:1,0`, `wasapi:…`).
fn find(id: &str, input: bool) -> Result<Device, DeviceError> {
    let host = cpal::default_host();
    let device = if id == "default" {
        if input {
            host.default_input_device()
        } else {
            host.default_output_device()
        }
    } else {
        let parsed: cpal::DeviceId = id.parse().map_err(|_| DeviceError::NotFound(id.into()))?;
        host.device_by_id(&parsed)
    };
    device.ok_or_else(|| DeviceError::NotFound(id.into()))
}

/// The stream configuration to ask for: 48 kHz if the device has it (no resampling), else its
/// own default rate; float or 16-bit samples; as few channels as it allows.
fn pick_config(device: &Device, input: bool) -> Result<(StreamConfig, SampleFormat), DeviceError> {
    let unavailable = |error: cpal::Error| DeviceError::Unavailable(error.to_string());
    let ranges: Vec<cpal::SupportedStreamConfigRange> = if input {
        device
            .supported_input_configs()
            .map_err(unavailable)?
            .collect()
    } else {
        device
            .supported_output_configs()
            .map_err(unavailable)?
            .collect()
    };
    let usable = |format: SampleFormat| matches!(format, SampleFormat::F32 | SampleFormat::I16);
    let best = ranges
        .iter()
        .filter(|range| usable(range.sample_format()))
        .filter(|range| (range.min_sample_rate()..=range.max_sample_rate()).contains(&SAMPLE_RATE))
        .min_by_key(|range| (range.channels(), range.sample_format() != SampleFormat::F32));
    if let Some(range) = best {
        let config = range.with_sample_rate(SAMPLE_RATE);
        return Ok((config.config(), config.sample_format()));
    }
    let default = if input {
        device.default_input_config()
    } else {
        device.default_output_config()
    }
    .map_err(unavailable)?;
    if !usable(default.sample_format()) {
        return Err(DeviceError::Unavailable(format!(
            "the device only takes {} samples",
            default.sample_format()
        )));
    }
    Ok((default.config(), default.sample_format()))
}

/// A microphone through cpal.
pub struct SoundInput {
    device: Device,
    info: DeviceInfo,
}

impl SoundInput {
    pub fn open(id: &str) -> Result<Self, DeviceError> {
        let device = find(id, true)?;
        let name = display_name(&device);
        Ok(Self {
            device,
            info: DeviceInfo {
                id: id.into(),
                name,
            },
        })
    }
}

impl Microphone for SoundInput {
    fn info(&self) -> DeviceInfo {
        self.info.clone()
    }

    fn start(self: Box<Self>, frames: mpsc::Sender<AudioFrame>) -> std::io::Result<Capture> {
        let device = self.device;
        run_stream("natter-microphone", move || {
            let (config, format) = pick_config(&device, true)?;
            let framer = Framer::new(config.sample_rate, usize::from(config.channels), frames)?;
            let stream = match format {
                SampleFormat::I16 => build_input::<i16>(&device, &config, framer),
                _ => build_input::<f32>(&device, &config, framer),
            }
            .map_err(|error| DeviceError::Unavailable(error.to_string()))?;
            Ok(stream)
        })
    }
}

fn build_input<T>(
    device: &Device,
    config: &StreamConfig,
    mut framer: Framer,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    device.build_input_stream(
        *config,
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            framer.push(data.iter().map(|sample| sample.to_sample::<f32>()));
        },
        stream_error,
        Some(OPEN_TIMEOUT),
    )
}

fn stream_error(error: cpal::Error) {
    tracing::warn!(%error, "sound device error");
}

/// Turns a device's interleaved samples into 20 ms mono frames at 48 kHz.
struct Framer {
    channels: usize,
    resampler: Option<(FastFixedIn<f32>, Vec<f32>)>,
    mono: Vec<f32>,
    out: mpsc::Sender<AudioFrame>,
}

impl Framer {
    fn new(rate: u32, channels: usize, out: mpsc::Sender<AudioFrame>) -> Result<Self, DeviceError> {
        Ok(Self {
            channels: channels.max(1),
            resampler: resampler(rate, SAMPLE_RATE)?.map(|resampler| (resampler, Vec::new())),
            mono: Vec::with_capacity(FRAME_SAMPLES * 2),
            out,
        })
    }

    fn push(&mut self, interleaved: impl Iterator<Item = f32>) {
        let mut channel = 0;
        let mut sum = 0.0;
        let mut mixed = Vec::new();
        for sample in interleaved {
            sum += sample;
            channel += 1;
            if channel == self.channels {
                mixed.push(sum / self.channels as f32);
                channel = 0;
                sum = 0.0;
            }
        }
        match &mut self.resampler {
            None => self.mono.extend(mixed),
            Some((resampler, pending)) => {
                pending.extend(mixed);
                resample_into(resampler, pending, &mut self.mono);
            }
        }
        while self.mono.len() >= FRAME_SAMPLES {
            let samples = self
                .mono
                .drain(..FRAME_SAMPLES)
                .map(|sample| (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)
                .collect();
            // Capture never waits: a full queue drops the frame.
            let _ = self.out.try_send(AudioFrame { samples });
        }
    }
}

/// Resamples whole chunks of `pending` into `out`, keeping the rest for next time.
fn resample_into(resampler: &mut FastFixedIn<f32>, pending: &mut Vec<f32>, out: &mut Vec<f32>) {
    loop {
        let needed = resampler.input_frames_next();
        if pending.len() < needed {
            return;
        }
        match resampler.process(&[&pending[..needed]], None) {
            Ok(mut resampled) => out.append(&mut resampled[0]),
            Err(error) => tracing::warn!(%error, "could not resample"),
        }
        pending.drain(..needed);
    }
}

fn resampler(from: u32, to: u32) -> Result<Option<FastFixedIn<f32>>, DeviceError> {
    if from == to {
        return Ok(None);
    }
    FastFixedIn::new(
        f64::from(to) / f64::from(from),
        1.0,
        PolynomialDegree::Cubic,
        // 10 ms of input per chunk.
        (from / 100) as usize,
        1,
    )
    .map(Some)
    .map_err(|error| DeviceError::Unavailable(format!("cannot resample from {from} Hz: {error}")))
}

/// A speaker through cpal: frames are queued for the device's own clock to play.
pub struct SoundOutput {
    queue: Arc<Mutex<VecDeque<f32>>>,
    info: DeviceInfo,
    _stream: Capture,
}

impl SoundOutput {
    /// Opens the speaker and starts playing (silence until frames come).
    pub fn open(id: &str) -> Result<Self, DeviceError> {
        let device = find(id, false)?;
        let info = DeviceInfo {
            id: id.into(),
            name: display_name(&device),
        };
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let playing = queue.clone();
        let stream = run_stream("natter-speaker", move || {
            let (config, format) = pick_config(&device, false)?;
            let channels = usize::from(config.channels).max(1);
            let mut converter = Converter::new(config.sample_rate, playing)?;
            let stream = match format {
                SampleFormat::I16 => device.build_output_stream(
                    config,
                    move |data: &mut [i16], _: &cpal::OutputCallbackInfo| {
                        let frames = data.len() / channels;
                        for (slot, sample) in
                            data.chunks_mut(channels).zip(converter.samples(frames))
                        {
                            slot.fill(sample.to_sample::<i16>());
                        }
                    },
                    stream_error,
                    Some(OPEN_TIMEOUT),
                ),
                _ => device.build_output_stream(
                    config,
                    move |data: &mut [f32], _: &cpal::OutputCallbackInfo| {
                        let frames = data.len() / channels;
                        for (slot, sample) in
                            data.chunks_mut(channels).zip(converter.samples(frames))
                        {
                            slot.fill(sample);
                        }
                    },
                    stream_error,
                    Some(OPEN_TIMEOUT),
                ),
            }
            .map_err(|error| DeviceError::Unavailable(error.to_string()))?;
            Ok(stream)
        })?;
        Ok(Self {
            queue,
            info,
            _stream: stream,
        })
    }

    pub fn info(&self) -> DeviceInfo {
        self.info.clone()
    }
}

impl AudioSink for SoundOutput {
    fn frame(&self, frame: AudioFrame) {
        let mut queue = self
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        queue.extend(
            frame
                .samples
                .iter()
                .map(|sample| f32::from(*sample) / f32::from(i16::MAX)),
        );
        // The device's clock and the playout clock drift apart; never let that become delay.
        let limit = SAMPLE_RATE as usize * SPEAKER_QUEUE_MS / 1000;
        let excess = queue.len().saturating_sub(limit);
        queue.drain(..excess);
    }
}

/// Takes 48 kHz samples off the queue at the device's rate.
struct Converter {
    queue: Arc<Mutex<VecDeque<f32>>>,
    resampler: Option<(FastFixedIn<f32>, Vec<f32>)>,
    ready: VecDeque<f32>,
}

impl Converter {
    fn new(device_rate: u32, queue: Arc<Mutex<VecDeque<f32>>>) -> Result<Self, DeviceError> {
        Ok(Self {
            queue,
            resampler: resampler(SAMPLE_RATE, device_rate)?
                .map(|resampler| (resampler, Vec::new())),
            ready: VecDeque::new(),
        })
    }

    /// `count` samples at the device's rate; silence where nothing has arrived.
    fn samples(&mut self, count: usize) -> impl Iterator<Item = f32> + '_ {
        let mut queue = self
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &mut self.resampler {
            None => {
                let available = count.min(queue.len());
                self.ready.extend(queue.drain(..available));
            }
            Some((resampler, pending)) => {
                while self.ready.len() < count && !queue.is_empty() {
                    let needed = resampler.input_frames_next();
                    let available = needed.min(queue.len());
                    pending.extend(queue.drain(..available));
                    let mut out = Vec::new();
                    resample_into(resampler, pending, &mut out);
                    self.ready.extend(out);
                }
            }
        }
        drop(queue);
        let available = count.min(self.ready.len());
        self.ready
            .drain(..available)
            .chain(std::iter::repeat_n(0.0, count - available))
    }
}

/// Builds a stream on a thread of its own and keeps it there until the [`Capture`] is dropped.
/// Returns once the stream plays, or with the reason it could not.
fn run_stream(
    name: &str,
    open: impl FnOnce() -> Result<cpal::Stream, DeviceError> + Send + 'static,
) -> std::io::Result<Capture> {
    super::run_on_thread(
        name,
        move || {
            let stream = open()?;
            stream
                .play()
                .map_err(|error| DeviceError::Unavailable(error.to_string()))?;
            Ok(stream)
        },
        // The device's own thread does the work; this one only keeps the stream alive.
        |_| {
            thread::park_timeout(Duration::from_millis(500));
            true
        },
    )
}
