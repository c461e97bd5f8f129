//! Codecs: H.264 through OpenH264 (built from bundled source on every OS) and Opus.

use openh264::{
    OpenH264API, Timestamp,
    decoder::Decoder,
    encoder::{BitRate, Encoder, EncoderConfig, FrameRate, FrameType, RateControlMode, UsageType},
    formats::{YUVSlices, YUVSource},
};

use crate::frame::{AudioFrame, FRAME_SAMPLES, SAMPLE_RATE, VideoFrame};

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("H.264: {0}")]
    H264(#[from] openh264::Error),
    #[error("Opus: {0}")]
    Opus(#[from] opus::Error),
    #[error("the picture is {width}x{height}; sides must be even and non-zero")]
    BadSize { width: u32, height: u32 },
}

/// One encoded picture: an H.264 access unit in Annex B form (start codes between NAL units).
#[derive(Debug, Clone)]
pub struct EncodedVideo {
    pub data: Vec<u8>,
    pub keyframe: bool,
}

pub struct H264Encoder {
    encoder: Encoder,
    bitrate_bps: u32,
    force_keyframe: bool,
    /// The last picture's timestamp given to the rate controller (milliseconds, increasing).
    last_timestamp_ms: u64,
    /// The size of the last picture: OpenH264 starts over (at its first bitrate) on a new one.
    size: Option<(u32, u32)>,
    initial_bitrate_bps: u32,
}

impl H264Encoder {
    /// A real-time camera encoder (constrained baseline, what every WebRTC peer decodes) with
    /// bitrate control, no B-frames and a keyframe only when asked (the receiver asks with PLI).
    pub fn new(frame_rate: f32, bitrate_bps: u32) -> Result<Self, CodecError> {
        let config = EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(frame_rate))
            // Without skipping, OpenH264 cannot hold a low target (it says so on stderr): a
            // busy picture at the highest quantiser still costs more than a slow link carries,
            // and the overflow becomes loss and a frozen picture. Skipping lowers the frame
            // rate instead. It paces by the pictures' timestamps.
            .skip_frames(true)
            .num_threads(1);
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)?;
        Ok(Self {
            encoder,
            bitrate_bps,
            force_keyframe: true,
            last_timestamp_ms: 0,
            size: None,
            initial_bitrate_bps: bitrate_bps,
        })
    }

    /// The next picture is encoded as a keyframe (after a picture loss indication).
    pub fn request_keyframe(&mut self) {
        self.force_keyframe = true;
    }

    pub fn bitrate_bps(&self) -> u32 {
        self.bitrate_bps
    }

    /// Changes the target bitrate from the next picture on (bandwidth estimation drives this).
    pub fn set_bitrate(&mut self, bitrate_bps: u32) {
        if bitrate_bps == self.bitrate_bps {
            return;
        }
        // OpenH264 refuses a target above the layer's maximum (which starts at the first
        // target) and a maximum below the target: move them in the order that keeps
        // maximum >= target.
        let options = if bitrate_bps > self.bitrate_bps {
            [
                openh264_sys2::ENCODER_OPTION_MAX_BITRATE,
                openh264_sys2::ENCODER_OPTION_BITRATE,
            ]
        } else {
            [
                openh264_sys2::ENCODER_OPTION_BITRATE,
                openh264_sys2::ENCODER_OPTION_MAX_BITRATE,
            ]
        };
        for option in options {
            // The maximum that binds is the (single) spatial layer's; the target is set for all
            // layers, which OpenH264 then checks against that maximum.
            let layer = if option == openh264_sys2::ENCODER_OPTION_MAX_BITRATE {
                openh264_sys2::SPATIAL_LAYER_0
            } else {
                openh264_sys2::SPATIAL_LAYER_ALL
            };
            let mut info = openh264_sys2::SBitrateInfo {
                iLayer: layer,
                iBitrate: i32::try_from(bitrate_bps).unwrap_or(i32::MAX),
            };
            // SAFETY: both options take a pointer to an SBitrateInfo, which lives across the
            // call; before the first picture the encoder is not initialised and answers with
            // an error code, which is handled.
            let status = unsafe {
                self.encoder
                    .raw_api()
                    .set_option(option, std::ptr::addr_of_mut!(info).cast())
            };
            if status != 0 {
                tracing::debug!(
                    status,
                    option,
                    bitrate_bps,
                    "OpenH264 refused a bitrate change"
                );
                return;
            }
        }
        self.bitrate_bps = bitrate_bps;
    }

    /// Encodes a picture; `None` when the rate controller skipped it.
    pub fn encode(&mut self, frame: &VideoFrame) -> Result<Option<EncodedVideo>, CodecError> {
        let (width, height) = (frame.width as usize, frame.height as usize);
        if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 {
            return Err(CodecError::BadSize {
                width: frame.width,
                height: frame.height,
            });
        }
        if std::mem::take(&mut self.force_keyframe) {
            self.encoder.force_intra_frame();
        }
        let source = YUVSlices::new(
            (frame.y(), frame.u(), frame.v()),
            (width, height),
            (width, width / 2, width / 2),
        );
        let timestamp_ms = (frame.captured_at_us / 1000).max(self.last_timestamp_ms + 1);
        self.last_timestamp_ms = timestamp_ms;
        let resized = self
            .size
            .replace((frame.width, frame.height))
            .is_some_and(|size| size != (frame.width, frame.height));
        let stream = self
            .encoder
            .encode_at(&source, Timestamp::from_millis(timestamp_ms))?;
        let keyframe = matches!(stream.frame_type(), FrameType::IDR | FrameType::I);
        let encoded =
            (!matches!(stream.frame_type(), FrameType::Skip | FrameType::Invalid)).then(|| {
                EncodedVideo {
                    data: stream.to_vec(),
                    keyframe,
                }
            });
        if resized {
            // The encoder started over at its first bitrate: bring it back to the current one.
            let wanted = std::mem::replace(&mut self.bitrate_bps, self.initial_bitrate_bps);
            self.set_bitrate(wanted);
        }
        Ok(encoded)
    }
}

pub struct H264Decoder {
    decoder: Decoder,
}

impl H264Decoder {
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            decoder: Decoder::with_api_config(OpenH264API::from_source(), Default::default())?,
        })
    }

    /// Decodes one access unit (Annex B); `None` when it completes no picture (parameter sets
    /// alone, or a picture that references one that was lost).
    pub fn decode(&mut self, access_unit: &[u8]) -> Result<Option<VideoFrame>, CodecError> {
        let Some(picture) = self.decoder.decode(access_unit)? else {
            return Ok(None);
        };
        let (width, height) = picture.dimensions();
        let (y_stride, u_stride, v_stride) = picture.strides();
        let mut frame = VideoFrame::black(width as u32, height as u32);
        {
            let luma = frame.y_mut();
            for line in 0..height {
                luma[line * width..(line + 1) * width]
                    .copy_from_slice(&picture.y()[line * y_stride..line * y_stride + width]);
            }
        }
        let (chroma_width, chroma_height) = (width / 2, height / 2);
        let (u, v) = frame.chroma_mut();
        for line in 0..chroma_height {
            let to = line * chroma_width;
            u[to..to + chroma_width]
                .copy_from_slice(&picture.u()[line * u_stride..line * u_stride + chroma_width]);
            v[to..to + chroma_width]
                .copy_from_slice(&picture.v()[line * v_stride..line * v_stride + chroma_width]);
        }
        Ok(Some(frame))
    }
}

/// Opus for voice: 48 kHz mono, 20 ms packets, in-band forward error correction so a lost
/// packet is partly rebuilt from the next one.
pub struct OpusEncoder {
    encoder: opus::Encoder,
}

impl OpusEncoder {
    pub fn new(bitrate_bps: i32) -> Result<Self, CodecError> {
        let mut encoder =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)?;
        encoder.set_bitrate(opus::Bitrate::Bits(bitrate_bps))?;
        encoder.set_inband_fec(true)?;
        encoder.set_packet_loss_perc(5)?;
        Ok(Self { encoder })
    }

    /// Tells the encoder the loss the receiver reports, so it spends more on redundancy.
    pub fn set_expected_loss(&mut self, percent: u8) -> Result<(), CodecError> {
        Ok(self
            .encoder
            .set_packet_loss_perc(i32::from(percent.min(100)))?)
    }

    pub fn encode(&mut self, frame: &AudioFrame) -> Result<Vec<u8>, CodecError> {
        Ok(self.encoder.encode_vec(&frame.samples, 1500)?)
    }
}

pub struct OpusDecoder {
    decoder: opus::Decoder,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            decoder: opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)?,
        })
    }

    pub fn decode(&mut self, packet: &[u8]) -> Result<AudioFrame, CodecError> {
        let mut samples = vec![0i16; FRAME_SAMPLES * 6];
        let count = self.decoder.decode(packet, &mut samples, false)?;
        samples.truncate(count);
        Ok(AudioFrame { samples })
    }

    /// 20 ms to stand in for a lost packet: rebuilt from `next` (its forward error correction)
    /// when the next packet is at hand, concealed otherwise.
    pub fn conceal(&mut self, next: Option<&[u8]>) -> Result<AudioFrame, CodecError> {
        let mut samples = vec![0i16; FRAME_SAMPLES];
        let count = match next {
            Some(packet) => self.decoder.decode(packet, &mut samples, true)?,
            None => self.decoder.decode(&[], &mut samples, false)?,
        };
        samples.truncate(count);
        Ok(AudioFrame { samples })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{stamp, synthetic::SineTone, synthetic::TestPattern, tone};

    #[test]
    fn h264_round_trip_keeps_the_stamps() {
        let mut pattern = TestPattern::new(640, 480);
        let mut encoder = H264Encoder::new(30.0, 1_000_000).expect("an encoder");
        let mut decoder = H264Decoder::new().expect("a decoder");
        let mut keyframes = 0;
        for index in 0..30u32 {
            if index == 10 {
                encoder.set_bitrate(2_000_000);
                assert_eq!(encoder.bitrate_bps(), 2_000_000, "raised");
            }
            if index == 15 {
                encoder.request_keyframe();
                encoder.set_bitrate(300_000);
            }
            let frame = pattern.next_frame(u64::from(index) * 33_333);
            let encoded = encoder
                .encode(&frame)
                .expect("encodes")
                .expect("not skipped");
            keyframes += u32::from(encoded.keyframe);
            let decoded = decoder
                .decode(&encoded.data)
                .expect("decodes")
                .expect("a picture per access unit");
            assert_eq!((decoded.width, decoded.height), (640, 480));
            let read = stamp::read(&decoded).expect("the stamp survives");
            assert_eq!(read.counter, index);
            assert_eq!(read.captured_at_us, u64::from(index) * 33_333);
        }
        assert_eq!(keyframes, 2, "the first picture and the one asked for");
        assert_eq!(encoder.bitrate_bps(), 300_000);
    }

    #[test]
    fn opus_round_trip_keeps_the_pitch() {
        let mut tone = SineTone::new(523.25);
        let mut encoder = OpusEncoder::new(32_000).expect("an encoder");
        let mut decoder = OpusDecoder::new().expect("a decoder");
        let mut heard = Vec::new();
        for _ in 0..50 {
            let packet = encoder.encode(&tone.next_frame()).expect("encodes");
            heard.extend(decoder.decode(&packet).expect("decodes").samples);
        }
        // Skip the codec's start-up.
        let pitch = tone::dominant_frequency(&heard[4800..], SAMPLE_RATE).expect("a tone");
        assert!((pitch - 523.25).abs() / 523.25 < 0.01, "heard {pitch} Hz");
        let lost = decoder.conceal(None).expect("concealment");
        assert_eq!(lost.samples.len(), FRAME_SAMPLES);
    }
}
