//! Routes for what people control about their own account: password, two-factor sign-in,
//! blocks, deletion and export.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use natter_protocol::{
    AccountExport, AccountInfo, BlockList, ChangePasswordRequest, ConfirmWithPassword, ErrorBody,
    RecoveryCodes, TotpConfirmRequest, TotpSetup, UserId,
};

use crate::{
    accounts::{self, deletion, export, passwords, second_factor},
    api::{
        error::ApiResult,
        extract::{ClientIp, Json, Path},
    },
    auth::AuthSession,
    blocks,
    core::Core,
    util::now_ms,
};

/// My account: whether I am an admin, have two-factor sign-in, may invite.
#[utoipa::path(get, path = "/api/me/account", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = AccountInfo)))]
pub async fn account(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
) -> ApiResult<Json<AccountInfo>> {
    Ok(Json(
        accounts::account_info(&core.db, &core.hub, auth, core.config.users_can_invite).await?,
    ))
}

/// Change my password. With `sign_out_other_devices`, every other session ends.
#[utoipa::path(post, path = "/api/me/password", tag = "account", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses((status = 204, description = "changed"),
        (status = 403, description = "wrong_password: `current_password` is not the account's", body = ErrorBody),
        (status = 422, description = "validation_failed: the new password's rule", body = ErrorBody),
        (status = 429, description = "rate_limited: too many password checks for this account", body = ErrorBody)))]
pub async fn change_password(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    ClientIp(ip): ClientIp,
    Json(request): Json<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    passwords::change(&core.db, &core.hub, &core.gate, auth, ip, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start setting up two-factor sign-in: a new secret for the authenticator app.
#[utoipa::path(post, path = "/api/me/totp/setup", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = TotpSetup),
        (status = 409, description = "conflict: two-factor sign-in is already on", body = ErrorBody)))]
pub async fn totp_setup(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
) -> ApiResult<Json<TotpSetup>> {
    Ok(Json(second_factor::setup(&core.db, auth).await?))
}

/// Turn two-factor sign-in on with a code from the app; answers the recovery codes.
#[utoipa::path(post, path = "/api/me/totp/confirm", tag = "account", security(("bearer" = [])),
    request_body = TotpConfirmRequest,
    responses((status = 200, body = RecoveryCodes),
        (status = 403, description = "totp_invalid: the code does not match the new secret", body = ErrorBody),
        (status = 409, description = "conflict: no setup was started, or it is on already", body = ErrorBody)))]
pub async fn totp_confirm(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Json(request): Json<TotpConfirmRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    Ok(Json(
        second_factor::confirm(&core.db, auth, &request.code).await?,
    ))
}

/// Turn two-factor sign-in off (password and a current code or recovery code).
#[utoipa::path(post, path = "/api/me/totp/disable", tag = "account", security(("bearer" = [])),
    request_body = ConfirmWithPassword,
    responses((status = 204, description = "off"),
        (status = 403, description = "wrong_password, totp_required or totp_invalid", body = ErrorBody),
        (status = 429, description = "rate_limited: too many password checks for this account", body = ErrorBody)))]
pub async fn totp_disable(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    ClientIp(ip): ClientIp,
    Json(request): Json<ConfirmWithPassword>,
) -> ApiResult<StatusCode> {
    second_factor::disable(&core.db, &core.gate, auth, ip, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete my account. My messages stay, shown as from "Deleted account"; everything that
/// identifies me goes, and every session ends.
#[utoipa::path(post, path = "/api/me/delete", tag = "account", security(("bearer" = [])),
    request_body = ConfirmWithPassword,
    responses((status = 204, description = "deleted"),
        (status = 403, description = "wrong_password, totp_required or totp_invalid", body = ErrorBody),
        (status = 429, description = "rate_limited: too many password checks for this account", body = ErrorBody)))]
pub async fn delete_account(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    ClientIp(ip): ClientIp,
    Json(request): Json<ConfirmWithPassword>,
) -> ApiResult<StatusCode> {
    deletion::delete_own(&core.db, &core.hub, &core.gate, auth, ip, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything of mine the server keeps, as a JSON download.
#[utoipa::path(get, path = "/api/me/export", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = AccountExport,
        headers(("Content-Disposition" = String, description = "attachment; filename=\"natter-export-<time>.json\"")))))]
pub async fn export(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
) -> ApiResult<impl IntoResponse> {
    let archive = export::export(&core.db, &core.hub, auth, core.config.users_can_invite).await?;
    let disposition = format!("attachment; filename=\"natter-export-{}.json\"", now_ms());
    Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(archive)))
}

/// The people I blocked.
#[utoipa::path(get, path = "/api/blocks", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = BlockList)))]
pub async fn blocked(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
) -> ApiResult<Json<BlockList>> {
    Ok(Json(blocks::list(&core.db, &core.hub, auth).await?))
}

/// Block someone: they cannot start a conversation with me, write to our direct
/// conversation or call me. Blocking twice is the same as once.
#[utoipa::path(put, path = "/api/blocks/{user_id}", tag = "account", security(("bearer" = [])),
    params(("user_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "blocked"),
        (status = 404, description = "not_found: no such user", body = ErrorBody),
        (status = 422, description = "validation_failed: that is me", body = ErrorBody)))]
pub async fn block(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(user_id): Path<UserId>,
) -> ApiResult<StatusCode> {
    blocks::block(&core.db, auth, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unblock someone.
#[utoipa::path(delete, path = "/api/blocks/{user_id}", tag = "account", security(("bearer" = [])),
    params(("user_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "unblocked"),
        (status = 404, description = "not_found: not someone I blocked", body = ErrorBody)))]
pub async fn unblock(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(user_id): Path<UserId>,
) -> ApiResult<StatusCode> {
    blocks::unblock(&core.db, auth, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
