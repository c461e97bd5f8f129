//! Smaller pictures: for slow links (below the bitrate a picture size needs, sending fewer
//! pixels keeps the frame rate up, what WebRTC calls degrading resolution), and for the display
//! (a picture is sent to the page no larger than it is drawn).

use fast_image_resize::{
    FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
    images::{Image, ImageRef},
};

use crate::frame::VideoFrame;

/// Bits per pixel per frame below which a picture size looks worse than a smaller one at the
/// same bitrate (a rule of thumb for H.264 at camera content).
const BITS_PER_PIXEL: f64 = 0.05;
/// Going back up needs this much more than the bare requirement, so the size does not flap.
const UP_MARGIN: f64 = 1.3;
/// Width and height are divided by one of these.
const DIVISORS: [u32; 3] = [1, 2, 4];

/// The divisor of the source's width and height to send at `bitrate_bps`, given the one in use.
pub fn divisor_for(
    bitrate_bps: u32,
    width: u32,
    height: u32,
    frame_rate: u32,
    current: u32,
) -> u32 {
    let needs = |divisor: u32| {
        f64::from(width / divisor)
            * f64::from(height / divisor)
            * f64::from(frame_rate)
            * BITS_PER_PIXEL
    };
    let bitrate = f64::from(bitrate_bps);
    DIVISORS
        .into_iter()
        .find(|&divisor| {
            let margin = if divisor < current { UP_MARGIN } else { 1.0 };
            bitrate >= needs(divisor) * margin
        })
        .unwrap_or(DIVISORS[DIVISORS.len() - 1])
}

/// Resizes I420 pictures plane by plane.
#[derive(Default)]
pub struct Scaler {
    resizer: Resizer,
}

impl Scaler {
    /// `frame` divided by `divisor` in each dimension (kept even); `None` for 1, a picture too
    /// small to divide, or a failure (send it as it is).
    pub fn scale(&mut self, frame: &VideoFrame, divisor: u32) -> Option<VideoFrame> {
        if divisor <= 1 {
            return None;
        }
        self.resize(frame, frame.width / divisor, frame.height / divisor)
    }

    /// `frame` made as large as fits in `max_width` x `max_height` with its aspect kept, never
    /// larger than it is (the display scales up for free); `None` when it already fits.
    pub fn fit_within(
        &mut self,
        frame: &VideoFrame,
        max_width: u32,
        max_height: u32,
    ) -> Option<VideoFrame> {
        if frame.width <= max_width && frame.height <= max_height {
            return None;
        }
        let by_width = f64::from(max_width) / f64::from(frame.width);
        let by_height = f64::from(max_height) / f64::from(frame.height);
        let factor = by_width.min(by_height);
        self.resize(
            frame,
            (f64::from(frame.width) * factor) as u32,
            (f64::from(frame.height) * factor) as u32,
        )
    }

    /// `frame` resized to `width` x `height` (rounded down to even); `None` for a size too
    /// small or a failure.
    fn resize(&mut self, frame: &VideoFrame, width: u32, height: u32) -> Option<VideoFrame> {
        let (width, height) = (width & !1, height & !1);
        if width < 2 || height < 2 {
            return None;
        }
        let mut scaled = VideoFrame::black(width, height);
        scaled.captured_at_us = frame.captured_at_us;
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        let planes = [
            (frame.y(), frame.width, frame.height, 0, width, height),
            (
                frame.u(),
                frame.width / 2,
                frame.height / 2,
                1,
                width / 2,
                height / 2,
            ),
            (
                frame.v(),
                frame.width / 2,
                frame.height / 2,
                2,
                width / 2,
                height / 2,
            ),
        ];
        let luma = scaled.luma_len();
        for (source, from_width, from_height, plane, to_width, to_height) in planes {
            let range = match plane {
                0 => 0..luma,
                1 => luma..luma + luma / 4,
                _ => luma + luma / 4..luma + luma / 2,
            };
            let resized = ImageRef::new(from_width, from_height, source, PixelType::U8)
                .map_err(|error| error.to_string())
                .and_then(|source| {
                    let mut target = Image::from_slice_u8(
                        to_width,
                        to_height,
                        &mut scaled.data[range],
                        PixelType::U8,
                    )
                    .map_err(|error| error.to_string())?;
                    self.resizer
                        .resize(&source, &mut target, &options)
                        .map_err(|error| error.to_string())
                });
            if let Err(error) = resized {
                tracing::debug!(%error, "a picture could not be scaled");
                return None;
            }
        }
        Some(scaled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_follows_the_bitrate_with_a_margin_going_back_up() {
        // 640x480 at 30 fps needs about 460 kbit/s, 320x240 about 115 kbit/s.
        assert_eq!(divisor_for(800_000, 640, 480, 30, 1), 1);
        assert_eq!(divisor_for(300_000, 640, 480, 30, 1), 2);
        assert_eq!(divisor_for(100_000, 640, 480, 30, 2), 4);
        // Just enough for full size again is not enough to go back up...
        assert_eq!(divisor_for(470_000, 640, 480, 30, 2), 2);
        // ...30 % more is.
        assert_eq!(divisor_for(600_000, 640, 480, 30, 2), 1);
    }

    #[test]
    fn a_picture_is_scaled_plane_by_plane() {
        let mut frame = VideoFrame::black(640, 480);
        frame.y_mut().fill(200);
        frame.captured_at_us = 42;
        let scaled = Scaler::default().scale(&frame, 2).expect("scaled");
        assert_eq!((scaled.width, scaled.height), (320, 240));
        assert_eq!(scaled.data.len(), 320 * 240 * 3 / 2);
        assert!(scaled.y().iter().all(|&luma| luma == 200));
        assert!(scaled.u().iter().all(|&chroma| chroma == 128));
        assert_eq!(scaled.captured_at_us, 42);
    }

    #[test]
    fn a_picture_fits_the_display_with_its_aspect_and_is_never_enlarged() {
        let frame = VideoFrame::black(1280, 720);
        let mut scaler = Scaler::default();
        let fitted = scaler.fit_within(&frame, 800, 800).expect("scaled");
        assert_eq!((fitted.width, fitted.height), (800, 450));
        let fitted = scaler.fit_within(&frame, 1000, 300).expect("scaled");
        assert_eq!((fitted.width, fitted.height), (532, 300));
        assert!(
            scaler.fit_within(&frame, 1920, 1080).is_none(),
            "fits already"
        );
        assert!(scaler.fit_within(&frame, 1280, 720).is_none());
    }
}
