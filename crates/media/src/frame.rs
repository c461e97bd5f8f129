//! Raw media as it moves between devices, codecs and sinks.

use std::time::{SystemTime, UNIX_EPOCH};

/// Audio runs at 48 kHz, mono, in 20 ms frames: what Opus and WebRTC use for voice.
pub const SAMPLE_RATE: u32 = 48_000;
pub const FRAME_SAMPLES: usize = 960;
pub const FRAME_MS: u64 = 20;

/// A picture in I420 (planar Y, then U and V at half resolution), tightly packed.
#[derive(Clone, PartialEq, Eq)]
pub struct VideoFrame {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
    /// When the picture was taken (wall clock, microseconds since the Unix epoch): comparable
    /// between processes on one machine, which is what latency measurements need.
    pub captured_at_us: u64,
}

impl std::fmt::Debug for VideoFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFrame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("captured_at_us", &self.captured_at_us)
            .finish_non_exhaustive()
    }
}

impl VideoFrame {
    /// A black frame. Width and height must be even (chroma is subsampled 2x2).
    pub fn black(width: u32, height: u32) -> Self {
        let luma = (width * height) as usize;
        let mut data = vec![16u8; luma + luma / 2];
        data[luma..].fill(128);
        Self {
            width,
            height,
            data,
            captured_at_us: 0,
        }
    }

    pub fn luma_len(&self) -> usize {
        (self.width * self.height) as usize
    }

    pub fn y(&self) -> &[u8] {
        &self.data[..self.luma_len()]
    }

    pub fn y_mut(&mut self) -> &mut [u8] {
        let luma = self.luma_len();
        &mut self.data[..luma]
    }

    pub fn u(&self) -> &[u8] {
        let luma = self.luma_len();
        &self.data[luma..luma + luma / 4]
    }

    pub fn v(&self) -> &[u8] {
        let luma = self.luma_len();
        &self.data[luma + luma / 4..]
    }

    /// The U and V planes, mutably.
    pub fn chroma_mut(&mut self) -> (&mut [u8], &mut [u8]) {
        let luma = self.luma_len();
        self.data[luma..].split_at_mut(luma / 4)
    }

    /// Appends the picture as RGBA (opaque, rows of `width * 4` bytes) to `out`: what a page
    /// can hand to a 2D canvas as it is. `None` for an odd size (the planes' layout assumes
    /// even ones) or planes that do not add up.
    pub fn append_rgba(&self, out: &mut Vec<u8>) -> Option<()> {
        let (width, height) = (self.width, self.height);
        if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 {
            return None;
        }
        if self.data.len() < self.luma_len() * 3 / 2 {
            return None;
        }
        let planes = yuv::YuvPlanarImage {
            y_plane: self.y(),
            y_stride: self.width,
            u_plane: self.u(),
            u_stride: self.width / 2,
            v_plane: self.v(),
            v_stride: self.width / 2,
            width,
            height,
        };
        let start = out.len();
        out.resize(start + (width * height * 4) as usize, 0);
        // BT.601, limited range: what the decoders and cameras give (see `webcam.rs`).
        yuv::yuv420_to_rgba(
            &planes,
            &mut out[start..],
            width * 4,
            yuv::YuvRange::Limited,
            yuv::YuvStandardMatrix::Bt601,
        )
        .map_err(|error| tracing::debug!(%error, "colour conversion failed"))
        .ok()
    }
}

/// 20 ms of mono audio at [`SAMPLE_RATE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFrame {
    pub samples: Vec<i16>,
}

/// Now, in microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgba_keeps_the_colours_of_limited_range_bt601() {
        let mut frame = VideoFrame::black(4, 2);
        // Left half white (Y 235), right half pure red in BT.601 limited range.
        let luma = frame.luma_len();
        for row in 0..2 {
            frame.data[row * 4..row * 4 + 2].fill(235);
            frame.data[row * 4 + 2..row * 4 + 4].fill(81);
        }
        frame.data[luma] = 128;
        frame.data[luma + 1] = 90;
        frame.data[luma + 2] = 128;
        frame.data[luma + 3] = 240;
        let mut out = vec![7];
        frame.append_rgba(&mut out).expect("converted");
        assert_eq!(out.len(), 1 + 4 * 2 * 4, "appended after what was there");
        let pixel = |x: usize| &out[1 + x * 4..1 + x * 4 + 4];
        for channel in pixel(0) {
            assert!(*channel >= 250, "white: {:?}", pixel(0));
        }
        let red = pixel(3);
        assert!(
            red[0] >= 245 && red[1] <= 10 && red[2] <= 10,
            "red: {red:?}"
        );
        assert_eq!(red[3], 255, "opaque");
    }

    #[test]
    fn odd_or_short_pictures_are_refused() {
        let mut out = Vec::new();
        let mut odd = VideoFrame::black(4, 2);
        odd.width = 3;
        assert!(odd.append_rgba(&mut out).is_none());
        let mut short = VideoFrame::black(4, 2);
        short.data.truncate(5);
        assert!(short.append_rgba(&mut out).is_none());
    }
}
