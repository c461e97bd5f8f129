//! A frame counter and a capture time drawn into a picture as large black and white blocks,
//! and read back from a decoded picture: how tests and benchmarks check that video arrives in
//! order, complete and on time, after real encoding and decoding.
//!
//! Layout: 3 rows of 32 square blocks across the top of the picture (a block is 1/32 of the
//! width), one bit each, most significant first: the 32-bit counter, the low 56 bits of the
//! capture time in microseconds, then a CRC-8 of both. Blocks this large keep their colour
//! through any sane H.264 or VP8 bitrate; the CRC rejects a picture without a stamp.

use crate::frame::VideoFrame;

const BITS_PER_ROW: u32 = 32;
const ROWS: u32 = 3;
const TIME_BITS: u32 = 56;
const BLACK: u8 = 16;
const WHITE: u8 = 235;

/// What a stamp carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub counter: u32,
    /// Capture time, microseconds since the Unix epoch (low 56 bits).
    pub captured_at_us: u64,
}

/// Height of the stamp band at the top of a picture this wide.
pub fn band_height(width: u32) -> u32 {
    block_side(width) * ROWS
}

fn block_side(width: u32) -> u32 {
    (width / BITS_PER_ROW).max(1)
}

fn crc8(bytes: &[u8]) -> u8 {
    // CRC-8 (polynomial 0x07) with a non-zero start and final mask, so that neither an
    // all-black nor an all-white band reads as a valid stamp.
    0x5a ^ bytes.iter().fold(0xffu8, |crc, byte| {
        (0..8).fold(crc ^ byte, |crc, _| {
            if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            }
        })
    })
}

fn bits_of(stamp: Stamp) -> u128 {
    let time = stamp.captured_at_us & ((1 << TIME_BITS) - 1);
    let payload = (u128::from(stamp.counter) << TIME_BITS) | u128::from(time);
    let payload_bytes = payload.to_be_bytes();
    // The payload is 88 bits: the low 11 bytes.
    let crc = crc8(&payload_bytes[5..]);
    (payload << 8) | u128::from(crc)
}

/// Draws the stamp into the luma plane of `frame`.
pub fn draw(frame: &mut VideoFrame, stamp: Stamp) {
    let side = block_side(frame.width) as usize;
    let width = frame.width as usize;
    let bits = bits_of(stamp);
    let total = (BITS_PER_ROW * ROWS) as usize;
    let luma = frame.y_mut();
    for index in 0..total {
        let bit = (bits >> (total - 1 - index)) & 1 == 1;
        let (column, row) = (index % BITS_PER_ROW as usize, index / BITS_PER_ROW as usize);
        let value = if bit { WHITE } else { BLACK };
        for line in row * side..(row + 1) * side {
            let start = line * width + column * side;
            luma[start..start + side].fill(value);
        }
    }
}

/// Reads the stamp back, or `None` when the picture carries none (or it was damaged).
pub fn read(frame: &VideoFrame) -> Option<Stamp> {
    let side = block_side(frame.width) as usize;
    let width = frame.width as usize;
    if (frame.height as usize) < side * ROWS as usize {
        return None;
    }
    let luma = frame.y();
    let total = (BITS_PER_ROW * ROWS) as usize;
    // Average the middle half of each block: its edges bleed into the neighbours.
    let (inner_start, inner_end) = (side / 4, side - side / 4);
    let mut bits: u128 = 0;
    for index in 0..total {
        let (column, row) = (index % BITS_PER_ROW as usize, index / BITS_PER_ROW as usize);
        let mut sum = 0u32;
        let mut count = 0u32;
        for line in row * side + inner_start..row * side + inner_end.max(inner_start + 1) {
            let start = line * width + column * side;
            for &value in &luma[start + inner_start..start + inner_end.max(inner_start + 1)] {
                sum += u32::from(value);
                count += 1;
            }
        }
        let bit = sum / count.max(1) > u32::from(BLACK + WHITE) / 2;
        bits = (bits << 1) | u128::from(bit);
    }
    let payload = bits >> 8;
    let crc = (bits & 0xff) as u8;
    if crc8(&payload.to_be_bytes()[5..]) != crc {
        return None;
    }
    Some(Stamp {
        counter: (payload >> TIME_BITS) as u32,
        captured_at_us: (payload & ((1 << TIME_BITS) - 1)) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_reads_back_and_a_plain_picture_has_none() {
        for (width, height) in [(640, 480), (1280, 720), (320, 240)] {
            let mut frame = VideoFrame::black(width, height);
            assert_eq!(read(&frame), None, "a black picture carries no stamp");
            let mut white = frame.clone();
            white.y_mut().fill(WHITE);
            assert_eq!(read(&white), None, "a white picture carries no stamp");
            let stamp = Stamp {
                counter: 0xdead_beef,
                captured_at_us: 1_763_700_000_123_456,
            };
            draw(&mut frame, stamp);
            assert_eq!(read(&frame), Some(stamp), "{width}x{height}");
        }
    }

    #[test]
    fn a_damaged_stamp_is_rejected() {
        let mut frame = VideoFrame::black(640, 480);
        draw(
            &mut frame,
            Stamp {
                counter: 7,
                captured_at_us: 42,
            },
        );
        // Flip one block of the counter.
        let side = block_side(640) as usize;
        for line in 0..side {
            let start = line * 640 + 5 * side;
            for value in &mut frame.y_mut()[start..start + side] {
                *value = if *value == BLACK { WHITE } else { BLACK };
            }
        }
        assert_eq!(read(&frame), None);
    }
}
