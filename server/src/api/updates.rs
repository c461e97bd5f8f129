//! Routes of the desktop app's updates (`crate::updates`): the updater's question, and the
//! files of the operator's updates folder.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use natter_protocol::{ErrorBody, ErrorCode};

use crate::{
    api::error::{ApiError, ApiResult},
    core::Core,
    updates::{self, Location},
};

fn invalid_parameter(message: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidParameter,
        message,
    )
}

/// One part of the platform (`linux`, `x86_64`, `deb`): short, lower-case, plain.
fn platform_part(name: &'static str, value: &str) -> ApiResult<()> {
    let plain = !value.is_empty()
        && value.len() <= 32
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        Ok(())
    } else {
        Err(invalid_parameter(format!(
            "{name} {value:?} is not a platform name"
        )))
    }
}

/// Is there a newer app than `current_version` for this platform? The answer is Tauri's
/// updater format, or 204 when there is nothing newer (or no updates folder at all).
#[utoipa::path(get, path = "/api/updates/{target}/{arch}/{bundle_type}/{current_version}",
    tag = "updates",
    params(
        ("target" = String, Path, description = "`linux`, `windows` or `darwin`"),
        ("arch" = String, Path, description = "`x86_64` or `aarch64`"),
        ("bundle_type" = String, Path, description = "`deb`, `rpm`, `appimage`, `nsis`, `app`"),
        ("current_version" = String, Path, description = "the app's version (semver)"),
    ),
    responses(
        (status = 200, description = "a newer version: `{ version, url, signature, notes?, pub_date? }`"),
        (status = 204, description = "nothing newer"),
        (status = 400, description = "invalid_parameter: a malformed platform or version", body = ErrorBody)))]
pub async fn check(
    State(core): State<Arc<Core>>,
    headers: HeaderMap,
    Path((target, arch, bundle_type, current_version)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    platform_part("target", &target)?;
    platform_part("arch", &arch)?;
    platform_part("bundle_type", &bundle_type)?;
    let current = semver::Version::parse(&current_version).map_err(|error| {
        invalid_parameter(format!(
            "current_version {current_version:?} is not a version: {error}"
        ))
    })?;
    let Some(folder) = &core.config.updates_dir else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let platform = format!("{target}-{arch}-{bundle_type}");
    let fallback = format!("{target}-{arch}");
    let Some((mut offer, location)) =
        updates::offer(folder, &platform, &fallback, &current).await?
    else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    offer.url = match location {
        Location::Absolute(url) => url,
        Location::Folder(name) => format!(
            "{}/api/updates/files/{name}",
            public_base(&headers, core.config.trust_forwarded_for)?
        ),
    };
    Ok(axum::Json(offer).into_response())
}

/// The address the client reached this server at: its `Host`, over https when a trusted proxy
/// says so.
fn public_base(headers: &HeaderMap, trust_proxy: bool) -> ApiResult<String> {
    let bad_host = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidParameter,
            "the request has no usable Host header",
        )
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(bad_host)?;
    let plain = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    if !plain {
        return Err(bad_host());
    }
    let https = trust_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    Ok(format!("{}://{host}", if https { "https" } else { "http" }))
}

/// A file of the updates folder: an installer or its signature.
#[utoipa::path(get, path = "/api/updates/files/{name}", tag = "updates",
    params(("name" = String, Path, description = "a file name of the folder")),
    responses(
        (status = 200, description = "the file", content((Vec<u8> = "application/octet-stream"))),
        (status = 400, description = "invalid_parameter: a name that could leave the folder", body = ErrorBody),
        (status = 404, description = "not_found: no such file, or no updates folder", body = ErrorBody)))]
pub async fn file(State(core): State<Arc<Core>>, Path(name): Path<String>) -> ApiResult<Response> {
    if !updates::is_file_name(&name) {
        return Err(invalid_parameter(format!(
            "{name:?} is not a file name of the updates folder"
        )));
    }
    let Some(folder) = &core.config.updates_dir else {
        return Err(crate::error::Error::NotFound.into());
    };
    let (path, length) = updates::file(folder, &name).await?;
    let opened = tokio::fs::File::open(&path)
        .await
        .map_err(|error| crate::error::Error::Internal(error.into()))?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(opened));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, length.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}
