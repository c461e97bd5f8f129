//! Files and pictures attached to messages. Uploads follow tus 1.0 (`/api/uploads`, the core
//! protocol with the creation and termination extensions): a file is sent in chunks that resume
//! after a cut, and the finished upload is an attachment that a message then carries.

use serde::{Deserialize, Serialize};

/// Identifier of an attachment: the id of the upload it came from.
pub type AttachmentId = uuid::Uuid;

/// A file attached to a message. Fetch it with `GET {url}` (the session's token; members of the
/// conversation only), always as a download: it never runs in an app or a browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: AttachmentId,
    /// The file's name as the sender gave it, without any folder: 1 to 255 bytes, no control
    /// characters, `/` or `\`.
    pub name: String,
    /// `image/jpeg`, `image/png`, `image/webp` or `image/gif` for a picture (from its content,
    /// whatever was claimed); otherwise the type the sender gave, or
    /// `application/octet-stream`.
    pub content_type: String,
    /// Bytes.
    #[cfg_attr(feature = "typescript", ts(type = "number"))]
    pub size: u64,
    /// Set for a picture.
    pub image: Option<ImageInfo>,
    /// `/api/attachments/{id}`: the file (Range requests supported).
    pub url: String,
}

/// What a client needs to lay a picture out before it loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageInfo {
    /// Pixels as shown, the camera's orientation applied.
    pub width: u32,
    pub height: u32,
    /// An animated GIF or WebP (the file animates; the thumbnail is its first picture).
    pub animated: bool,
    /// `/api/attachments/{id}/thumbnail`: a JPEG at most 640 pixels a side, same aspect ratio.
    pub thumbnail_url: String,
}
