//! Pictures among uploaded files: what a JPEG, PNG, WebP or GIF is (by its bytes, not its
//! claim), its size as shown (the camera's orientation applied), a thumbnail, and the file as
//! stored: without its EXIF metadata (GPS position, camera serial), which a photo carries and
//! its sender rarely means to share. Blocking CPU work: run it on a blocking thread.

use std::{io::Cursor, sync::LazyLock};

use bytes::Bytes;
use image::{
    AnimationDecoder, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits,
    metadata::Orientation,
};
use img_parts::ImageEXIF;
use natter_protocol::limits::{PICTURE_MAX_PIXELS, PICTURE_MAX_SIDE, THUMBNAIL_MAX_SIDE};

/// Files larger than this are kept as plain files without a look inside.
pub const PICTURE_MAX_FILE_BYTES: u64 = 50 * 1024 * 1024;

/// Decoding a large picture takes hundreds of MiB and a good part of a second: one at a time,
/// so a burst of uploads queues instead of exhausting memory.
static DECODERS: LazyLock<std::sync::Mutex<()>> = LazyLock::new(|| std::sync::Mutex::new(()));

/// What a picture upload becomes.
#[derive(Debug)]
pub struct Picture {
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub animated: bool,
    /// The JPEG thumbnail, at most `THUMBNAIL_MAX_SIDE` a side.
    pub thumbnail: Vec<u8>,
    /// The bytes to store instead of the upload's, when its metadata had to go.
    pub cleaned: Option<Bytes>,
}

#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    /// Claimed to be a picture (by its type or name), and is not one we can read.
    #[error("the file is not a picture it claims to be: {0}")]
    NotAPicture(String),
}

/// The picture formats, by content.
pub fn format_of(bytes: &[u8]) -> Option<ImageFormat> {
    match image::guess_format(bytes).ok()? {
        format @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif) => {
            Some(format)
        }
        _ => None,
    }
}

fn content_type(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "image/png",
        ImageFormat::WebP => "image/webp",
        ImageFormat::Gif => "image/gif",
        _ => "image/jpeg",
    }
}

/// Whether the sender presented the file as a picture (so a failure to read it is an error
/// rather than a plain file).
pub fn claims_picture(declared_type: &str, name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    declared_type.starts_with("image/")
        || [".jpg", ".jpeg", ".png", ".webp", ".gif"]
            .iter()
            .any(|suffix| lower.ends_with(suffix))
}

/// Looks at an uploaded file: `Ok(None)` for a file that is not a picture (and does not claim
/// to be one), or one too large to decode, kept as it is.
pub fn inspect(
    bytes: &[u8],
    declared_type: &str,
    name: &str,
) -> Result<Option<Picture>, PictureError> {
    let Some(format) = format_of(bytes) else {
        return if claims_picture(declared_type, name) {
            Err(PictureError::NotAPicture(
                "its content is not JPEG, PNG, WebP or GIF".into(),
            ))
        } else {
            Ok(None)
        };
    };
    let _one_at_a_time = DECODERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let not_a_picture = |error: image::ImageError| PictureError::NotAPicture(error.to_string());
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(PICTURE_MAX_SIDE);
    limits.max_image_height = Some(PICTURE_MAX_SIDE);
    limits.max_alloc = Some(PICTURE_MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(not_a_picture)?;
    let (raw_width, raw_height) = decoder.dimensions();
    if u64::from(raw_width) * u64::from(raw_height) > PICTURE_MAX_PIXELS {
        // Real, but more than we decode: a plain file (no thumbnail).
        return Ok(None);
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut first = DynamicImage::from_decoder(decoder).map_err(not_a_picture)?;
    first.apply_orientation(orientation);
    let animated = is_animated(bytes, format);
    let thumbnail = thumbnail_of(&first);
    let cleaned = without_metadata(bytes, format, orientation, &first);
    Ok(Some(Picture {
        content_type: if cleaned.as_ref().is_some_and(|c| c.reencoded) {
            "image/jpeg"
        } else {
            content_type(format)
        },
        width: first.width(),
        height: first.height(),
        animated,
        thumbnail,
        cleaned: cleaned.map(|c| c.bytes),
    }))
}

fn is_animated(bytes: &[u8], format: ImageFormat) -> bool {
    match format {
        ImageFormat::Gif => image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
            .map(|decoder| decoder.into_frames().take(2).count() > 1)
            .unwrap_or(false),
        ImageFormat::WebP => image::codecs::webp::WebPDecoder::new(Cursor::new(bytes))
            .map(|decoder| decoder.has_animation())
            .unwrap_or(false),
        _ => false,
    }
}

fn thumbnail_of(picture: &DynamicImage) -> Vec<u8> {
    let small = if picture.width().max(picture.height()) > THUMBNAIL_MAX_SIDE {
        picture.thumbnail(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE)
    } else {
        picture.clone()
    };
    let mut encoded = Vec::new();
    // Failing to encode our own RGB buffer cannot happen short of memory running out; an empty
    // thumbnail then just shows the file card.
    let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut encoded, 82)
        .encode_image(&small.to_rgb8());
    encoded
}

struct Cleaned {
    bytes: Bytes,
    reencoded: bool,
}

/// The file without its EXIF block. A JPEG that needs turning is stored turned (re-encoded at
/// high quality), since the orientation lived in the EXIF that goes.
fn without_metadata(
    bytes: &[u8],
    format: ImageFormat,
    orientation: Orientation,
    oriented: &DynamicImage,
) -> Option<Cleaned> {
    let stripped = |bytes: Bytes| {
        Some(Cleaned {
            bytes,
            reencoded: false,
        })
    };
    let input = Bytes::copy_from_slice(bytes);
    match format {
        ImageFormat::Jpeg if orientation != Orientation::NoTransforms => {
            let mut encoded = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut encoded, 92)
                .encode_image(&oriented.to_rgb8())
                .ok()?;
            Some(Cleaned {
                bytes: Bytes::from(encoded),
                reencoded: true,
            })
        }
        ImageFormat::Jpeg => {
            let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(input).ok()?;
            jpeg.exif()?;
            jpeg.set_exif(None);
            stripped(jpeg.encoder().bytes())
        }
        ImageFormat::Png => {
            let mut png = img_parts::png::Png::from_bytes(input).ok()?;
            png.exif()?;
            png.set_exif(None);
            stripped(png.encoder().bytes())
        }
        ImageFormat::WebP => {
            let mut webp = img_parts::webp::WebP::from_bytes(input).ok()?;
            webp.exif()?;
            webp.set_exif(None);
            stripped(webp.encoder().bytes())
        }
        _ => None,
    }
}
