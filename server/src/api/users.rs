//! Routes for my profile, avatars and the user directory.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use natter_protocol::{ErrorBody, UpdateProfileRequest, User, UserId, UserPage};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    api::{
        error::{ApiError, ApiResult},
        extract::{Json, Path, Query},
    },
    auth::AuthSession,
    avatar::THUMBNAIL_CONTENT_TYPE,
    core::Core,
    users,
};

/// Who am I.
#[utoipa::path(get, path = "/api/me", tag = "profiles", security(("bearer" = [])),
    responses((status = 200, body = User)))]
pub async fn me(State(core): State<Arc<Core>>, auth: AuthSession) -> ApiResult<Json<User>> {
    Ok(Json(
        users::get(&core.db, &core.hub, auth.user_id, auth.user_id).await?,
    ))
}

/// Change my display name or status text.
#[utoipa::path(patch, path = "/api/me", tag = "profiles", security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses((status = 200, body = User),
        (status = 422, description = "validation_failed: a display name or status text rule", body = ErrorBody)))]
pub async fn update_me(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Json(request): Json<UpdateProfileRequest>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        users::update_profile(&core.db, &core.hub, auth, request).await?,
    ))
}

/// Upload my avatar: the raw picture as the body, `Content-Type` image/png, image/jpeg or
/// image/webp, at most 5 MiB. The server stores a 256×256 JPEG made from it.
#[utoipa::path(put, path = "/api/me/avatar", tag = "profiles", security(("bearer" = [])),
    request_body(description = "the picture's bytes", content(("image/png"), ("image/jpeg"), ("image/webp"))),
    responses((status = 200, body = User),
        (status = 413, description = "payload_too_large: over 5 MiB", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: not image/png, image/jpeg or image/webp", body = ErrorBody),
        (status = 422, description = "validation_failed: the bytes do not match the type, cannot be decoded, or the \
            picture is over 4096 pixels a side", body = ErrorBody)))]
pub async fn put_avatar(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<User>> {
    let body = body.map_err(ApiError::from)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    Ok(Json(
        users::set_avatar(&core.db, &core.hub, auth, content_type, body.to_vec()).await?,
    ))
}

/// Remove my avatar.
#[utoipa::path(delete, path = "/api/me/avatar", tag = "profiles", security(("bearer" = [])),
    responses((status = 200, body = User)))]
pub async fn delete_avatar(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
) -> ApiResult<Json<User>> {
    Ok(Json(users::delete_avatar(&core.db, &core.hub, auth).await?))
}

/// A user's profile.
#[utoipa::path(get, path = "/api/users/{user_id}", tag = "profiles", security(("bearer" = [])),
    params(("user_id" = uuid::Uuid, Path)),
    responses((status = 200, body = User), (status = 404, description = "not_found", body = ErrorBody)))]
pub async fn get_user(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(user_id): Path<UserId>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        users::get(&core.db, &core.hub, auth.user_id, user_id).await?,
    ))
}

/// A user's avatar thumbnail (JPEG). The URL in `User.avatar_url` changes with the picture,
/// so responses may be cached for long.
#[utoipa::path(get, path = "/api/users/{user_id}/avatar", tag = "profiles", security(("bearer" = [])),
    params(("user_id" = uuid::Uuid, Path),
        ("If-None-Match" = Option<String>, Header, description = "the `ETag` of the copy I have")),
    responses((status = 200, description = "the thumbnail", content(("image/jpeg")),
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "`If-None-Match` named the current picture", headers(("ETag" = String))),
        (status = 404, description = "not_found: no such user, or no avatar", body = ErrorBody)))]
pub async fn get_avatar(
    State(core): State<Arc<Core>>,
    _auth: AuthSession,
    Path(user_id): Path<UserId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (bytes, version) = users::avatar(&core.db, user_id).await?;
    let etag = format!("\"{user_id}-{version}\"");
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        == Some(etag.as_str());
    let cache = [
        (header::ETAG, etag.clone()),
        (
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable".to_owned(),
        ),
    ];
    if cached {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok((
        cache,
        [
            (header::CONTENT_TYPE, THUMBNAIL_CONTENT_TYPE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DirectoryParams {
    /// Matches usernames that start with it and display names that contain it.
    #[param(max_length = 200)]
    pub query: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 64)]
    pub cursor: Option<String>,
}

/// Search the user directory.
#[utoipa::path(get, path = "/api/users", tag = "profiles", security(("bearer" = [])),
    params(DirectoryParams),
    responses((status = 200, body = UserPage),
        (status = 422, description = "validation_failed: `limit` out of range, `query` or `cursor` too long or with \
            control characters", body = ErrorBody)))]
pub async fn directory(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Query(params): Query<DirectoryParams>,
) -> ApiResult<Json<UserPage>> {
    Ok(Json(
        users::search(
            &core.db,
            &core.hub,
            auth.user_id,
            params.query.as_deref(),
            params.limit,
            params.cursor.as_deref(),
        )
        .await?,
    ))
}
