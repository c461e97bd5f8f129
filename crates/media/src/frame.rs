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
