//! Turns an uploaded picture into the square thumbnail the server stores. The uploaded bytes
//! are only ever decoded, never stored or served back: what is served is our own re-encoding.

use std::io::Cursor;

use std::sync::LazyLock;

use image::{ImageFormat, ImageReader, Limits, imageops};
use natter_protocol::limits::{AVATAR_MAX_SIDE, AVATAR_THUMBNAIL_SIDE, AVATAR_UPLOAD_MAX_BYTES};

use crate::error::{Error, Result};

pub const THUMBNAIL_CONTENT_TYPE: &str = "image/jpeg";

/// Decoding a large picture takes up to ~64 MiB and tens of milliseconds of CPU: one at a time
/// per core, so a burst of uploads queues instead of exhausting memory.
static DECODERS: LazyLock<std::sync::Mutex<()>> = LazyLock::new(|| std::sync::Mutex::new(()));

/// Decodes a PNG, JPEG or WebP upload (the declared type must match the bytes), centre-crops it
/// to a square and returns a `AVATAR_THUMBNAIL_SIDE`² JPEG.
pub fn make_thumbnail(content_type: &str, bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.len() > AVATAR_UPLOAD_MAX_BYTES {
        return Err(Error::PayloadTooLarge(format!(
            "avatars must be at most {AVATAR_UPLOAD_MAX_BYTES} bytes"
        )));
    }
    let declared = match content_type.split(';').next().unwrap_or("").trim() {
        "image/png" => ImageFormat::Png,
        "image/jpeg" => ImageFormat::Jpeg,
        "image/webp" => ImageFormat::WebP,
        other => {
            return Err(Error::UnsupportedMediaType(format!(
                "avatars must be image/png, image/jpeg or image/webp, not {other:?}"
            )));
        }
    };
    let detected = image::guess_format(bytes)
        .map_err(|_| Error::validation("the upload is not a PNG, JPEG or WebP picture"))?;
    if detected != declared {
        return Err(Error::validation(
            "the picture's content does not match its declared Content-Type",
        ));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), declared);
    // Bound decoding work and memory: a small file can declare a huge canvas.
    let mut limits = Limits::default();
    limits.max_image_width = Some(AVATAR_MAX_SIDE);
    limits.max_image_height = Some(AVATAR_MAX_SIDE);
    limits.max_alloc = Some(80 * 1024 * 1024);
    reader.limits(limits);
    // Held across the decode and resize; a poisoned lock only means another decode panicked.
    let _one_at_a_time = DECODERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let picture = reader
        .decode()
        .map_err(|error| Error::validation(format!("the picture could not be decoded: {error}")))?;
    let side = picture.width().min(picture.height());
    if side == 0 {
        return Err(Error::validation("the picture is empty"));
    }
    let picture = picture.to_rgb8();
    // A view, not a copy; `thumbnail` is a fast area-averaging downscale.
    let square = imageops::crop_imm(
        &picture,
        (picture.width() - side) / 2,
        (picture.height() - side) / 2,
        side,
        side,
    );
    let thumbnail = imageops::thumbnail(&*square, AVATAR_THUMBNAIL_SIDE, AVATAR_THUMBNAIL_SIDE);
    let mut encoded = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut encoded, 85)
        .encode_image(&thumbnail)
        .map_err(|error| anyhow::anyhow!("encoding a thumbnail failed: {error}"))?;
    Ok(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = image::RgbaImage::from_fn(width, height, |x, y| {
            image::Rgba([(x % 256) as u8, (y % 256) as u8, 128, 255])
        });
        let mut bytes = Vec::new();
        picture
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    #[test]
    fn makes_a_square_jpeg_thumbnail() {
        let thumbnail = make_thumbnail("image/png", &png(640, 480)).unwrap();
        let decoded = image::load_from_memory(&thumbnail).unwrap();
        assert_eq!(image::guess_format(&thumbnail).unwrap(), ImageFormat::Jpeg);
        assert_eq!(
            (decoded.width(), decoded.height()),
            (AVATAR_THUMBNAIL_SIDE, AVATAR_THUMBNAIL_SIDE)
        );
    }

    #[test]
    fn refuses_mislabelled_and_garbage_uploads() {
        assert!(matches!(
            make_thumbnail("image/jpeg", &png(10, 10)),
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            make_thumbnail("image/png", b"not a picture"),
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            make_thumbnail("image/gif", b"GIF89a"),
            Err(Error::UnsupportedMediaType(_))
        ));
    }
}
