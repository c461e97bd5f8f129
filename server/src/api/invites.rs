//! Routes for invites: make, list and revoke my own; and the page an invite link opens in a
//! browser.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use natter_protocol::{
    CreateInviteRequest, CreatedInvite, ErrorBody, ErrorCode, InviteId, InviteList,
};

use crate::{
    accounts::invites,
    api::{
        error::{ApiError, ApiResult},
        extract::{Json, Path},
    },
    auth::AuthSession,
    core::Core,
};

/// Make an invite: admins always; other users when the server allows it
/// (`users_can_invite` in `GET /api/server`).
#[utoipa::path(post, path = "/api/invites", tag = "invites", security(("bearer" = [])),
    request_body = CreateInviteRequest,
    responses((status = 201, body = CreatedInvite),
        (status = 403, description = "forbidden: only admins may invite on this server", body = ErrorBody),
        (status = 422, description = "validation_failed: max_uses, expires_in_hours or note", body = ErrorBody)))]
pub async fn create(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Json(request): Json<CreateInviteRequest>,
) -> ApiResult<(StatusCode, Json<CreatedInvite>)> {
    let created = invites::create(&core.db, auth, core.config.users_can_invite, request).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The invites I made, newest first.
#[utoipa::path(get, path = "/api/invites", tag = "invites", security(("bearer" = [])),
    responses((status = 200, body = InviteList)))]
pub async fn mine(State(core): State<Arc<Core>>, auth: AuthSession) -> ApiResult<Json<InviteList>> {
    Ok(Json(invites::list(&core.db, Some(auth)).await?))
}

/// Revoke an invite of mine (an admin: anyone's). Sign-ups with it are refused from now on.
#[utoipa::path(delete, path = "/api/invites/{invite_id}", tag = "invites", security(("bearer" = [])),
    params(("invite_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "revoked"),
        (status = 404, description = "not_found: not my invite, or already revoked", body = ErrorBody)))]
pub async fn revoke(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(invite_id): Path<InviteId>,
) -> ApiResult<StatusCode> {
    invites::revoke(&core.db, auth, invite_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What an invite link (`<server>/invite/<code>`) shows in a browser: how to use it. The code
/// is not checked here (that would let anyone test codes without a rate limit).
#[utoipa::path(get, path = "/invite/{code}", tag = "invites",
    params(("code" = String, Path)),
    responses((status = 200, description = "instructions", content((String = "text/plain; charset=utf-8")))))]
pub async fn link_page(Path(code): Path<String>) -> ApiResult<impl IntoResponse> {
    let plausible = !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '-');
    if !plausible {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidParameter,
            "code must be letters, digits and dashes",
        ));
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "You are invited to a Natter server.\n\n\
             Open Natter, choose \"Create an account\", and paste this page's address (or the \
             code {code}) into the invite field.\n"
        ),
    ))
}
