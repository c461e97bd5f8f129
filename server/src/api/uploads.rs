//! tus 1.0 at `/api/uploads` (core protocol, creation and termination extensions) and the
//! downloads at `/api/attachments/{id}`. The bytes stream through in both directions.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use natter_protocol::{AttachmentId, ErrorBody, ErrorCode};

use crate::{
    api::{
        error::{ApiError, ApiResult},
        extract::Path,
    },
    auth::AuthSession,
    core::Core,
    files::{attachments, uploads},
};

const TUS_VERSION: &str = "1.0.0";
const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");

fn tus_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
}

/// Every tus request but `OPTIONS` names the protocol version; another version is refused
/// (412) rather than misread.
fn check_version(headers: &HeaderMap) -> ApiResult<()> {
    match headers.get(TUS_RESUMABLE) {
        Some(version) if version == TUS_VERSION => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            ErrorCode::InvalidParameter,
            "Tus-Resumable: 1.0.0 is required",
        )),
    }
}

fn number(headers: &HeaderMap, name: &HeaderName) -> ApiResult<u64> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidParameter,
                format!("{name} must be a number of bytes"),
            )
        })
}

/// `Upload-Metadata: filename <base64>,filetype <base64>`.
fn metadata(headers: &HeaderMap) -> ApiResult<(String, String)> {
    let raw = headers
        .get(UPLOAD_METADATA)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let mut name = None;
    let mut declared = None;
    for pair in raw.split(',') {
        let mut parts = pair.trim().splitn(2, ' ');
        let (Some(key), value) = (parts.next(), parts.next()) else {
            continue;
        };
        let decoded = value
            .map(|value| base64::engine::general_purpose::STANDARD.decode(value.trim()))
            .transpose()
            .ok()
            .flatten()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        match key {
            "filename" => name = decoded,
            "filetype" => declared = decoded,
            _ => {}
        }
    }
    let name = name.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
            "Upload-Metadata must carry filename (base64 of UTF-8)",
        )
    })?;
    Ok((name, declared.unwrap_or_default()))
}

/// What this server's uploads take.
#[utoipa::path(options, path = "/api/uploads", tag = "files",
    responses((status = 204, description = "Tus-Version, Tus-Extension, Tus-Max-Size")))]
pub async fn options(State(core): State<Arc<Core>>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    tus_headers(&mut response);
    let headers = response.headers_mut();
    headers.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    headers.insert(
        "tus-extension",
        HeaderValue::from_static("creation,termination"),
    );
    headers.insert("tus-max-size", HeaderValue::from(core.files.max_bytes));
    response
}

/// Start an upload of `Upload-Length` bytes; the answer's `Location` is where to send them.
#[utoipa::path(post, path = "/api/uploads", tag = "files", security(("bearer" = [])),
    params(("Upload-Length" = u64, Header), ("Upload-Metadata" = String, Header,
        description = "filename and filetype, each base64"), ("Tus-Resumable" = String, Header)),
    responses((status = 201, description = "Location: /api/uploads/{id}"),
        (status = 412, description = "Tus-Resumable: 1.0.0 is missing", body = ErrorBody),
        (status = 413, description = "payload_too_large: over the server's file limit; quota_exceeded", body = ErrorBody),
        (status = 422, description = "validation_failed: the file name", body = ErrorBody)))]
pub async fn create(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    headers: HeaderMap,
) -> ApiResult<Response> {
    check_version(&headers)?;
    let length = number(&headers, &UPLOAD_LENGTH)?;
    let (name, declared_type) = metadata(&headers)?;
    let id = uploads::create(
        &core.db,
        &core.files,
        auth,
        uploads::NewUpload {
            length,
            name,
            declared_type,
        },
    )
    .await?;
    let mut response = StatusCode::CREATED.into_response();
    tus_headers(&mut response);
    let headers = response.headers_mut();
    headers.insert(
        header::LOCATION,
        HeaderValue::try_from(format!("/api/uploads/{id}"))
            .map_err(|error| ApiError::from(crate::error::Error::Internal(error.into())))?,
    );
    headers.insert(UPLOAD_OFFSET, HeaderValue::from(0));
    Ok(response)
}

fn state_response(status: StatusCode, state: uploads::UploadState) -> Response {
    let mut response = status.into_response();
    tus_headers(&mut response);
    let headers = response.headers_mut();
    headers.insert(UPLOAD_OFFSET, HeaderValue::from(state.offset));
    headers.insert(UPLOAD_LENGTH, HeaderValue::from(state.length));
    response
}

/// Where my upload stands (after a cut: resume from `Upload-Offset`).
#[utoipa::path(head, path = "/api/uploads/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "Upload-Offset and Upload-Length"),
        (status = 412, description = "Tus-Resumable: 1.0.0 is missing", body = ErrorBody),
        (status = 404, description = "not_found: no upload of mine")))]
pub async fn head(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(id): Path<AttachmentId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    check_version(&headers)?;
    let state = uploads::state(&core.db, &core.files, auth, id).await?;
    Ok(state_response(StatusCode::OK, state))
}

/// Send bytes from `Upload-Offset` on (`Content-Type: application/offset+octet-stream`).
#[utoipa::path(patch, path = "/api/uploads/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path), ("Upload-Offset" = u64, Header)),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses((status = 204, description = "stored; Upload-Offset is the new offset"),
        (status = 412, description = "Tus-Resumable: 1.0.0 is missing", body = ErrorBody),
        (status = 404, description = "not_found: no upload of mine in progress", body = ErrorBody),
        (status = 409, description = "offset_mismatch: resume from the offset HEAD gives; conflict: \
            another request is writing to it", body = ErrorBody),
        (status = 413, description = "payload_too_large: more bytes than the upload's length", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: not application/offset+octet-stream", body = ErrorBody),
        (status = 422, description = "validation_failed: a file that claims to be a picture and \
            is not (the upload is dropped)", body = ErrorBody)))]
pub async fn patch(
    State(core): State<Arc<Core>>,
    auth: Result<AuthSession, ApiError>,
    Path(id): Path<String>,
    request: Request,
) -> ApiResult<Response> {
    let checked = (|| {
        let auth = auth?;
        // As the typed path of the other routes answers: malformed is 400, not 404.
        let id: AttachmentId = id.parse().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidParameter,
                "the upload id is not a UUID",
            )
        })?;
        let headers = request.headers();
        if headers
            .get(header::CONTENT_TYPE)
            .is_none_or(|value| value != "application/offset+octet-stream")
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "an upload's bytes come as application/offset+octet-stream",
            ));
        }
        check_version(headers)?;
        let offset = number(headers, &UPLOAD_OFFSET)?;
        Ok((auth, id, offset))
    })();
    let (auth, id, offset) = match checked {
        Ok(checked) => checked,
        Err(error) => {
            drain(request.into_body()).await;
            return Err(error);
        }
    };
    let body = request.into_body().into_data_stream();
    let state = uploads::append(&core.db, &core.files, auth, id, offset, body).await?;
    Ok(state_response(StatusCode::NO_CONTENT, state))
}

/// Reads (and drops) the start of a body refused before its bytes were wanted: a client still
/// sending a small piece then reads the answer, instead of finding the connection closed under
/// it. A large body is cut off after 64 KiB.
async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    let mut read = 0;
    while read < 64 * 1024 {
        match futures_util::StreamExt::next(&mut stream).await {
            Some(Ok(piece)) => read += piece.len(),
            _ => break,
        }
    }
}

/// Abandon my upload (or delete my finished file no message carries).
#[utoipa::path(delete, path = "/api/uploads/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204, description = "gone"),
        (status = 412, description = "Tus-Resumable: 1.0.0 is missing", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody)))]
pub async fn terminate(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(id): Path<AttachmentId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    check_version(&headers)?;
    uploads::terminate(&core.db, &core.files, auth, id).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    tus_headers(&mut response);
    Ok(response)
}

/// `Range: bytes=a-b`, `bytes=a-` or `bytes=-n`, one range; `None` for none or one we do not
/// serve (the whole file is sent then, as HTTP allows).
fn byte_range(headers: &HeaderMap, size: u64) -> Option<Result<std::ops::Range<u64>, ()>> {
    let raw = headers.get(header::RANGE)?.to_str().ok()?;
    let (unit, spec) = raw.split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let range = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let length: u64 = suffix.parse().ok()?;
            if length == 0 {
                return Some(Err(()));
            }
            size.saturating_sub(length)..size
        }
        (start, "") => start.parse().ok()?..size,
        (start, end) => {
            let (start, end): (u64, u64) = (start.parse().ok()?, end.parse().ok()?);
            if end < start {
                // Not a valid range: ignored, as HTTP says (the whole file is sent).
                return None;
            }
            start..end.saturating_add(1).min(size)
        }
    };
    Some(if range.start < range.end && range.start < size {
        Ok(range)
    } else {
        Err(())
    })
}

/// `attachment; filename="…"; filename*=UTF-8''…`: a download under its own name, whatever
/// characters it has.
fn disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string();
    HeaderValue::try_from(format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// A file of a message I can see, as a download (Range requests supported).
#[utoipa::path(get, path = "/api/attachments/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"),
        (status = 206, description = "the range asked for"),
        (status = 404, description = "not_found: not a file I can see", body = ErrorBody),
        (status = 416, description = "the range is outside the file")))]
pub async fn download(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(id): Path<AttachmentId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let file = attachments::for_download(&core.db, auth, id).await?;
    let size = file.attachment.size;
    let range = match byte_range(&headers, size) {
        Some(Err(())) => {
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::try_from(format!("bytes */{size}"))
                    .unwrap_or_else(|_| HeaderValue::from_static("bytes */0")),
            );
            return Ok(response);
        }
        Some(Ok(range)) => Some(range),
        None => None,
    };
    let stream = core
        .files
        .store
        .get(&file.blob, range.clone().filter(|_| size > 0))
        .await
        .map_err(|error| ApiError::from(crate::error::Error::Internal(error)))?;
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    // Served as a download of plain bytes: an uploaded HTML page or SVG never runs in a
    // browser, and nothing sniffs it into something else.
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        disposition(&file.attachment.name),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // The same id always has the same bytes, but a deleted message's file must not outlive
    // it in a cache: kept privately, asked again each time.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    match range {
        Some(range) => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_LENGTH,
                HeaderValue::from(range.end - range.start),
            );
            if let Ok(value) =
                HeaderValue::try_from(format!("bytes {}-{}/{size}", range.start, range.end - 1))
            {
                headers.insert(header::CONTENT_RANGE, value);
            }
        }
        None => {
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
        }
    }
    Ok(response)
}

/// A picture's thumbnail (JPEG, at most 640 pixels a side).
#[utoipa::path(get, path = "/api/attachments/{id}/thumbnail", tag = "files", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "the thumbnail", content_type = "image/jpeg"),
        (status = 404, description = "not_found: not a picture I can see", body = ErrorBody)))]
pub async fn thumbnail(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(id): Path<AttachmentId>,
) -> ApiResult<Response> {
    let file = attachments::for_download(&core.db, auth, id).await?;
    let key = file.thumbnail_blob.ok_or(crate::error::Error::NotFound)?;
    let bytes = core
        .files
        .store
        .read_small(&key)
        .await
        .map_err(|error| ApiError::from(crate::error::Error::Internal(error)))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable",
            ),
        ],
        bytes,
    )
        .into_response())
}
