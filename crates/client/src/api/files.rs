//! Files (docs/protocol.md §3.10): tus 1.0 uploads in pieces that resume where the server
//! stands, and downloads that stream (and resume with a range).

use std::time::Duration;

use base64::Engine;
use natter_protocol::AttachmentId;
use reqwest::{Method, Response, header};

use super::{Api, ApiError};

const TUS_VERSION: &str = "1.0.0";
/// One piece may take this long: the client's usual request timeout is for small requests.
const PIECE_TIMEOUT: Duration = Duration::from_secs(300);

/// An upload in progress: where its bytes go.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadTarget {
    /// `/api/uploads/{id}`.
    pub path: String,
    pub id: AttachmentId,
}

impl Api {
    /// Starts an upload of `length` bytes named `name`.
    pub async fn create_upload(
        &self,
        length: u64,
        name: &str,
        content_type: &str,
    ) -> Result<UploadTarget, ApiError> {
        let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
        let request = self
            .request(Method::POST, "/api/uploads")
            .header("Tus-Resumable", TUS_VERSION)
            .header("Upload-Length", length.to_string())
            .header(
                "Upload-Metadata",
                format!(
                    "filename {},filetype {}",
                    encode(name),
                    encode(content_type)
                ),
            );
        let response = self.respond(request).await?;
        let path = response
            .headers()
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| ApiError::Malformed("an upload without a Location".into()))?
            .to_owned();
        let id = path
            .rsplit('/')
            .next()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| ApiError::Malformed(format!("an upload at {path}")))?;
        Ok(UploadTarget { path, id })
    }

    /// Where an upload stands: the bytes the server has, and the upload's length.
    pub async fn upload_offset(&self, target: &UploadTarget) -> Result<(u64, u64), ApiError> {
        let request = self
            .request(Method::HEAD, &target.path)
            .header("Tus-Resumable", TUS_VERSION);
        let response = self.respond(request).await?;
        let length = response
            .headers()
            .get("Upload-Length")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| ApiError::Malformed("an upload answer without Upload-Length".into()))?;
        Ok((offset(&response)?, length))
    }

    /// Sends `bytes` at `offset`; answers the new offset.
    pub async fn upload_piece(
        &self,
        target: &UploadTarget,
        offset: u64,
        bytes: bytes::Bytes,
    ) -> Result<u64, ApiError> {
        let request = self
            .request(Method::PATCH, &target.path)
            .timeout(PIECE_TIMEOUT)
            .header("Tus-Resumable", TUS_VERSION)
            .header("Upload-Offset", offset.to_string())
            .header(header::CONTENT_TYPE, "application/offset+octet-stream")
            .body(bytes);
        offset_of(&self.respond(request).await?, offset)
    }

    /// Abandons an upload, or deletes a finished file no message carries.
    pub async fn cancel_upload(&self, target: &UploadTarget) -> Result<(), ApiError> {
        let request = self
            .request(Method::DELETE, &target.path)
            .header("Tus-Resumable", TUS_VERSION);
        self.respond(request).await.map(|_| ())
    }

    /// A picture to show (a thumbnail or the file itself), whole: refused beyond `max` bytes.
    /// `url` is one an [`Attachment`](natter_protocol::Attachment) gave: nothing else of the
    /// server is fetched through here.
    pub async fn attachment_bytes(&self, url: &str, max: u64) -> Result<Vec<u8>, ApiError> {
        let is_attachment = url
            .strip_prefix("/api/attachments/")
            .is_some_and(|rest| !rest.contains(['?', '#', '.', '\\']));
        if !is_attachment {
            return Err(ApiError::Malformed(format!(
                "{url:?} is not a file of this server"
            )));
        }
        let too_large = || ApiError::Malformed(format!("{url} is larger than {max} bytes"));
        let mut response = self.download(url, 0).await?;
        if response.content_length().is_some_and(|length| length > max) {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(ApiError::Unreachable)? {
            if (bytes.len() + chunk.len()) as u64 > max {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// A file's bytes from `from` on, as a response to stream (`from` > 0: a range).
    pub async fn download(&self, url: &str, from: u64) -> Result<Response, ApiError> {
        let mut request = self.request(Method::GET, url).timeout(PIECE_TIMEOUT * 12);
        if from > 0 {
            request = request.header(header::RANGE, format!("bytes={from}-"));
        }
        self.respond(request).await
    }
}

fn offset(response: &Response) -> Result<u64, ApiError> {
    response
        .headers()
        .get("Upload-Offset")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| ApiError::Malformed("an upload answer without Upload-Offset".into()))
}

fn offset_of(response: &Response, sent_at: u64) -> Result<u64, ApiError> {
    let at = offset(response)?;
    if at < sent_at {
        return Err(ApiError::Malformed(format!(
            "the upload went back from {sent_at} to {at}"
        )));
    }
    Ok(at)
}
