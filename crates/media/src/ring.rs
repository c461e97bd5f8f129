//! The app's own sounds, synthesised: the ringtone of an incoming call, the ringback a caller
//! hears while the callee's devices ring, and the speaker test. Played natively through a
//! speaker ([`play`]), never by the webview, so they sound while the window is hidden.

use std::{f64::consts::TAU, sync::Arc, time::Duration};

use crate::{
    devices::{AudioSink, Capture},
    frame::{AudioFrame, FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE},
};

/// A sound: notes on a repeating (or single) cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tune {
    /// An incoming call: two short rings at 880 Hz every 2.5 s, until answered.
    Ringtone,
    /// My call rings at the other end: 425 Hz, one second on, four off (the ETSI ringback).
    Ringback,
    /// The speaker test in the settings: three short beeps, once.
    SpeakerTest,
}

/// One note of a tune: when it starts in the cycle, how long it lasts, its pitch.
struct Note {
    start: Duration,
    length: Duration,
    frequency_hz: f64,
}

const fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}

impl Tune {
    pub const RINGTONE_HZ: f64 = 880.0;
    pub const RINGBACK_HZ: f64 = 425.0;

    fn notes(self) -> &'static [Note] {
        const RINGTONE: [Note; 2] = [
            Note {
                start: ms(0),
                length: ms(400),
                frequency_hz: Tune::RINGTONE_HZ,
            },
            Note {
                start: ms(550),
                length: ms(400),
                frequency_hz: Tune::RINGTONE_HZ,
            },
        ];
        const RINGBACK: [Note; 1] = [Note {
            start: ms(0),
            length: ms(1000),
            frequency_hz: Tune::RINGBACK_HZ,
        }];
        const SPEAKER_TEST: [Note; 3] = [
            Note {
                start: ms(0),
                length: ms(200),
                frequency_hz: 660.0,
            },
            Note {
                start: ms(350),
                length: ms(200),
                frequency_hz: 660.0,
            },
            Note {
                start: ms(700),
                length: ms(200),
                frequency_hz: 660.0,
            },
        ];
        match self {
            Tune::Ringtone => &RINGTONE,
            Tune::Ringback => &RINGBACK,
            Tune::SpeakerTest => &SPEAKER_TEST,
        }
    }

    /// The length of one cycle, and whether it repeats.
    fn cycle(self) -> (Duration, bool) {
        match self {
            Tune::Ringtone => (ms(2500), true),
            Tune::Ringback => (ms(5000), true),
            Tune::SpeakerTest => (ms(900), false),
        }
    }

    /// Loudness as a fraction of full scale: a ringtone must be heard across the room, the
    /// ringback only in the caller's ear.
    fn level(self) -> f64 {
        match self {
            Tune::Ringtone => 0.35,
            Tune::Ringback | Tune::SpeakerTest => 0.2,
        }
    }
}

/// Fade in and out over this long, so that notes start and stop without clicks.
const FADE: Duration = ms(10);

/// The samples of a tune, 20 ms at a time.
pub struct TuneSamples {
    tune: Tune,
    /// Samples produced so far.
    position: u64,
}

impl TuneSamples {
    pub fn new(tune: Tune) -> Self {
        Self { tune, position: 0 }
    }

    /// The next 20 ms, or `None` once a tune that does not repeat is over.
    pub fn next_frame(&mut self) -> Option<AudioFrame> {
        let rate = u64::from(SAMPLE_RATE);
        let (cycle, repeats) = self.tune.cycle();
        let cycle_samples = cycle.as_micros() as u64 * rate / 1_000_000;
        if !repeats && self.position >= cycle_samples {
            return None;
        }
        let level = self.tune.level() * f64::from(i16::MAX);
        let fade = FADE.as_secs_f64();
        let samples = (0..FRAME_SAMPLES as u64)
            .map(|offset| {
                let at = self.position + offset;
                let in_cycle = (at % cycle_samples) as f64 / rate as f64;
                let time = at as f64 / rate as f64;
                self.tune
                    .notes()
                    .iter()
                    .find_map(|note| {
                        let into = in_cycle - note.start.as_secs_f64();
                        let length = note.length.as_secs_f64();
                        (0.0..length).contains(&into).then(|| {
                            let envelope = (into / fade).min((length - into) / fade).min(1.0);
                            envelope * (TAU * note.frequency_hz * time).sin()
                        })
                    })
                    .map_or(0, |value| (value * level) as i16)
            })
            .collect();
        self.position += FRAME_SAMPLES as u64;
        Some(AudioFrame { samples })
    }
}

/// Plays `tune` on `speaker` from a thread of its own, on the audio clock, until the returned
/// [`Capture`] is dropped (or the tune is over).
pub fn play(tune: Tune, speaker: Arc<dyn AudioSink>) -> std::io::Result<Capture> {
    let mut samples = TuneSamples::new(tune);
    crate::devices::run_every("natter-ring", ms(FRAME_MS), move || {
        match samples.next_frame() {
            Some(frame) => {
                speaker.frame(frame);
                true
            }
            None => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::dominant_frequency;

    /// The first `duration` of a tune.
    fn render(tune: Tune, duration: Duration) -> Vec<i16> {
        let mut samples = TuneSamples::new(tune);
        let frames = duration.as_millis() as u64 / FRAME_MS;
        (0..frames)
            .filter_map(|_| samples.next_frame())
            .flat_map(|frame| frame.samples)
            .collect()
    }

    fn seconds(samples: &[i16], from: f64, to: f64) -> &[i16] {
        let rate = f64::from(SAMPLE_RATE);
        &samples[(from * rate) as usize..(to * rate) as usize]
    }

    fn peak(samples: &[i16]) -> i16 {
        samples
            .iter()
            .map(|s| s.saturating_abs())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn the_ringtone_rings_twice_then_pauses_and_repeats() {
        let audio = render(Tune::Ringtone, ms(5000));
        for cycle in [0.0, 2.5] {
            let ring = seconds(&audio, cycle + 0.05, cycle + 0.35);
            let heard = dominant_frequency(ring, SAMPLE_RATE).expect("a ring");
            assert!((heard - Tune::RINGTONE_HZ).abs() < 5.0, "heard {heard} Hz");
            assert!(peak(ring) > i16::MAX / 4, "loud enough to be heard");
            assert!(peak(seconds(&audio, cycle + 0.6, cycle + 0.9)) > i16::MAX / 4);
            assert_eq!(
                peak(seconds(&audio, cycle + 1.0, cycle + 2.5)),
                0,
                "a pause"
            );
        }
    }

    #[test]
    fn notes_fade_in_without_a_click() {
        let audio = render(Tune::Ringtone, ms(100));
        // 1 ms into the note the fade has barely begun.
        assert!(peak(&audio[..48]) < i16::MAX / 20);
    }

    #[test]
    fn the_ringback_is_one_second_of_425_hz_in_five() {
        let audio = render(Tune::Ringback, ms(10_000));
        let heard = dominant_frequency(seconds(&audio, 0.1, 0.9), SAMPLE_RATE).unwrap();
        assert!((heard - Tune::RINGBACK_HZ).abs() < 3.0, "heard {heard} Hz");
        assert_eq!(peak(seconds(&audio, 1.0, 5.0)), 0);
        assert!(peak(seconds(&audio, 5.1, 5.9)) > 0, "it repeats");
    }

    #[test]
    fn the_speaker_test_ends() {
        let mut samples = TuneSamples::new(Tune::SpeakerTest);
        let frames = std::iter::from_fn(|| samples.next_frame()).count();
        assert_eq!(frames as u64, 900 / FRAME_MS);
    }
}
