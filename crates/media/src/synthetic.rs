//! Synthetic devices for people without hardware, and for tests: a camera that films a moving
//! test pattern with a frame counter and the capture time stamped in the picture, and a
//! microphone that plays a steady sine tone.

use std::f64::consts::TAU;

use crate::{
    frame::{AudioFrame, FRAME_SAMPLES, SAMPLE_RATE, VideoFrame},
    stamp::{self, Stamp},
};

/// Draws the pictures of the test-pattern camera.
pub struct TestPattern {
    width: u32,
    height: u32,
    /// Colour bars over a luma ramp, twice as wide as the picture so that a moving window over
    /// it is a plain copy per line.
    background: VideoFrame,
    counter: u32,
}

impl TestPattern {
    /// Width and height must be even and at least 64.
    pub fn new(width: u32, height: u32) -> Self {
        let wide = width * 2;
        let mut background = VideoFrame::black(wide, height);
        let bars: [(u8, u8, u8); 8] = [
            // (Y, U, V) of white, yellow, cyan, green, magenta, red, blue, black (BT.601).
            (235, 128, 128),
            (210, 16, 146),
            (170, 166, 16),
            (145, 54, 34),
            (106, 202, 222),
            (81, 90, 240),
            (41, 240, 110),
            (16, 128, 128),
        ];
        let bar_width = (width / 8).max(1);
        let ramp_from = height * 3 / 4;
        let luma_len = background.luma_len();
        let data = &mut background.data;
        for line in 0..height {
            for column in 0..wide {
                let (y, _, _) = bars[((column / bar_width) % 8) as usize];
                let y = if line >= ramp_from {
                    // A luma ramp along the bottom quarter.
                    (16 + (column % width) * 219 / width) as u8
                } else {
                    y
                };
                data[(line * wide + column) as usize] = y;
            }
        }
        let chroma_width = wide / 2;
        let quarter = luma_len / 4;
        for line in 0..height / 2 {
            for column in 0..chroma_width {
                let (_, u, v) = bars[((column * 2 / bar_width) % 8) as usize];
                let (u, v) = if line * 2 >= ramp_from {
                    (128, 128)
                } else {
                    (u, v)
                };
                let at = (line * chroma_width + column) as usize;
                data[luma_len + at] = u;
                data[luma_len + quarter + at] = v;
            }
        }
        Self {
            width,
            height,
            background,
            counter: 0,
        }
    }

    /// The next picture: the bars scroll, a box bounces, and the stamp carries the frame's
    /// number (from 0) and `captured_at_us`.
    pub fn next_frame(&mut self, captured_at_us: u64) -> VideoFrame {
        let (width, height) = (self.width as usize, self.height as usize);
        let wide = width * 2;
        let shift = (self.counter as usize * 4) % width;
        let mut frame = VideoFrame::black(self.width, self.height);
        frame.captured_at_us = captured_at_us;
        {
            let luma = frame.y_mut();
            let source = self.background.y();
            for line in 0..height {
                let from = line * wide + shift;
                luma[line * width..(line + 1) * width].copy_from_slice(&source[from..from + width]);
            }
        }
        {
            let (chroma_width, chroma_wide) = (width / 2, wide / 2);
            let chroma_shift = shift / 2;
            let source_u = self.background.u();
            let source_v = self.background.v();
            let (u, v) = frame.chroma_mut();
            for line in 0..height / 2 {
                let from = line * chroma_wide + chroma_shift;
                let to = line * chroma_width;
                u[to..to + chroma_width].copy_from_slice(&source_u[from..from + chroma_width]);
                v[to..to + chroma_width].copy_from_slice(&source_v[from..from + chroma_width]);
            }
        }
        self.draw_box(&mut frame);
        stamp::draw(
            &mut frame,
            Stamp {
                counter: self.counter,
                captured_at_us,
            },
        );
        self.counter = self.counter.wrapping_add(1);
        frame
    }

    /// A white box that bounces across the middle of the picture.
    fn draw_box(&self, frame: &mut VideoFrame) {
        let (width, height) = (self.width as usize, self.height as usize);
        let side = (height / 6).max(2);
        let travel = width - side;
        let step = (self.counter as usize * 8) % (2 * travel);
        let left = if step < travel {
            step
        } else {
            2 * travel - step
        };
        let top = height / 2 - side / 2;
        let luma = frame.y_mut();
        for line in top..top + side {
            luma[line * width + left..line * width + left + side].fill(235);
        }
    }

    pub fn frames_drawn(&self) -> u32 {
        self.counter
    }
}

/// A sine tone, 20 ms at a time.
pub struct SineTone {
    frequency_hz: f64,
    amplitude: f64,
    phase: f64,
}

impl SineTone {
    /// At a fifth of full scale: loud enough to measure, far from clipping.
    pub fn new(frequency_hz: f64) -> Self {
        Self {
            frequency_hz,
            amplitude: f64::from(i16::MAX) * 0.2,
            phase: 0.0,
        }
    }

    pub fn frequency_hz(&self) -> f64 {
        self.frequency_hz
    }

    pub fn next_frame(&mut self) -> AudioFrame {
        let step = TAU * self.frequency_hz / f64::from(SAMPLE_RATE);
        let samples = (0..FRAME_SAMPLES)
            .map(|_| {
                let sample = (self.phase.sin() * self.amplitude) as i16;
                self.phase = (self.phase + step) % TAU;
                sample
            })
            .collect();
        AudioFrame { samples }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_moves_and_counts() {
        let mut pattern = TestPattern::new(640, 480);
        let first = pattern.next_frame(1_000);
        let second = pattern.next_frame(34_000);
        assert_ne!(first.y(), second.y(), "the picture moves");
        assert_eq!(
            stamp::read(&second),
            Some(Stamp {
                counter: 1,
                captured_at_us: 34_000
            })
        );
        assert_eq!(pattern.frames_drawn(), 2);
    }

    #[test]
    fn the_tone_has_its_frequency() {
        let mut tone = SineTone::new(440.0);
        let samples: Vec<i16> = (0..50).flat_map(|_| tone.next_frame().samples).collect();
        let measured = crate::tone::dominant_frequency(&samples, SAMPLE_RATE).expect("a tone");
        assert!((measured - 440.0).abs() < 1.0, "measured {measured} Hz");
    }
}
