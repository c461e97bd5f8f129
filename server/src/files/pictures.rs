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

/// Pictures larger than this are refused: their metadata could not be taken out without
/// holding them whole.
pub const PICTURE_MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

/// Decoding a large picture takes hundreds of MiB and a good part of a second: one at a time,
/// so a burst of uploads queues instead of exhausting memory.
static DECODERS: LazyLock<std::sync::Mutex<()>> = LazyLock::new(|| std::sync::Mutex::new(()));

/// What a picture upload becomes.
#[derive(Debug)]
pub struct Picture {
    pub content_type: &'static str,
    /// Within the decoding budget: how it shows.
    pub shown: Option<Shown>,
    /// The bytes to store: the upload without its metadata.
    pub cleaned: Bytes,
}

#[derive(Debug)]
pub struct Shown {
    pub width: u32,
    pub height: u32,
    pub animated: bool,
    /// The JPEG thumbnail, at most `THUMBNAIL_MAX_SIDE` a side.
    pub thumbnail: Vec<u8>,
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

/// Looks at a file whose bytes say it is a picture: its metadata goes (always, whatever its
/// size: fail closed), and when it is within the decoding budget its shown size and thumbnail
/// come with it. Only JPEG is turned by its EXIF orientation (re-encoded); other formats are
/// shown as stored.
pub fn inspect(bytes: &[u8], format: ImageFormat) -> Result<Picture, PictureError> {
    let cleaned = without_metadata(bytes, format).ok_or_else(|| {
        PictureError::NotAPicture("its container could not be read to take its metadata out".into())
    })?;
    let _one_at_a_time = DECODERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let not_a_picture = |error: image::ImageError| PictureError::NotAPicture(error.to_string());
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    let mut decoder = reader.into_decoder().map_err(not_a_picture)?;
    let (raw_width, raw_height) = decoder.dimensions();
    if u64::from(raw_width) * u64::from(raw_height) > PICTURE_MAX_PIXELS {
        // Real, but more than we decode: stored without its metadata, shown as a file.
        return Ok(Picture {
            content_type: content_type(format),
            shown: None,
            cleaned,
        });
    }
    let orientation = match format {
        ImageFormat::Jpeg => decoder.orientation().unwrap_or(Orientation::NoTransforms),
        _ => Orientation::NoTransforms,
    };
    let mut first = DynamicImage::from_decoder(decoder).map_err(not_a_picture)?;
    first.apply_orientation(orientation);
    let cleaned = if orientation == Orientation::NoTransforms {
        cleaned
    } else {
        // The orientation lived in the EXIF that went: store the picture turned.
        let mut encoded = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut encoded, 92)
            .encode_image(&first.to_rgb8())
            .map_err(not_a_picture)?;
        Bytes::from(encoded)
    };
    Ok(Picture {
        content_type: content_type(format),
        shown: Some(Shown {
            width: first.width(),
            height: first.height(),
            animated: is_animated(bytes, format),
            thumbnail: thumbnail_of(&first),
        }),
        cleaned,
    })
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(PICTURE_MAX_SIDE);
    limits.max_image_height = Some(PICTURE_MAX_SIDE);
    limits.max_alloc = Some(PICTURE_MAX_PIXELS * 4 + 64 * 1024 * 1024);
    limits
}

fn is_animated(bytes: &[u8], format: ImageFormat) -> bool {
    match format {
        ImageFormat::Gif => image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
            .and_then(|mut decoder| {
                decoder.set_limits(limits())?;
                Ok(decoder.into_frames().take(2).count() > 1)
            })
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

/// JPEG segments that carry metadata: APP1 (EXIF, XMP) and APP13 (IPTC).
const JPEG_METADATA: [u8; 2] = [0xE1, 0xED];
/// PNG chunks that carry metadata: EXIF and the three text chunks (XMP and "Raw profile"
/// EXIF travel in those).
const PNG_METADATA: [[u8; 4]; 4] = [*b"eXIf", *b"tEXt", *b"zTXt", *b"iTXt"];

/// The file without its metadata (`None`: its container could not be read). GIF carries none
/// that locates anyone.
fn without_metadata(bytes: &[u8], format: ImageFormat) -> Option<Bytes> {
    let input = Bytes::copy_from_slice(bytes);
    match format {
        ImageFormat::Jpeg => {
            let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(input).ok()?;
            jpeg.segments_mut()
                .retain(|segment| !JPEG_METADATA.contains(&segment.marker()));
            Some(jpeg.encoder().bytes())
        }
        ImageFormat::Png => {
            let mut png = img_parts::png::Png::from_bytes(input).ok()?;
            for kind in PNG_METADATA {
                png.remove_chunks_by_type(kind);
            }
            Some(png.encoder().bytes())
        }
        ImageFormat::WebP => {
            let mut webp = img_parts::webp::WebP::from_bytes(input).ok()?;
            webp.set_exif(None);
            webp.remove_chunks_by_id(*b"XMP ");
            Some(webp.encoder().bytes())
        }
        _ => Some(input),
    }
}
