//! Routes for sign-up, log-in, log-out and device sessions.

use std::sync::Arc;

use axum::{extract::State, http::StatusCode};
use natter_protocol::{
    AuthResponse, ErrorBody, LoginRequest, ResetPasswordRequest, ServerInfo, SessionId,
    SessionList, SignupRequest,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    accounts::{self, passwords, sessions},
    api::{
        error::ApiResult,
        extract::{ClientIp, Json, Path, Query},
    },
    auth::AuthSession,
    core::Core,
};

/// Create an account and sign in on this device.
#[utoipa::path(post, path = "/api/auth/signup", tag = "accounts", request_body = SignupRequest,
    responses((status = 201, body = AuthResponse), (status = 409, description = "username_taken", body = ErrorBody),
        (status = 403, description = "signup_closed: the server takes no sign-ups; invite_invalid: the server needs an \
            invite and this one is missing, unknown, expired, revoked or used up (the message says which)", body = ErrorBody),
        (status = 422, description = "validation_failed: a username, display name, password or device name rule",
            body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait before trying again")))))]
pub async fn signup(
    State(core): State<Arc<Core>>,
    ClientIp(ip): ClientIp,
    Json(request): Json<SignupRequest>,
) -> ApiResult<(StatusCode, Json<AuthResponse>)> {
    let response = accounts::signup(
        &core.db,
        &core.hub,
        &core.gate,
        core.config.signup,
        request,
        ip,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(response)))
}

/// Sign in on a device. Unknown users and wrong passwords get the same answer.
#[utoipa::path(post, path = "/api/auth/login", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, body = AuthResponse), (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 403, description = "account_disabled: an admin disabled the account; totp_required: give `totp_code`; \
            totp_invalid: that code is wrong or was used", body = ErrorBody),
        (status = 422, description = "validation_failed: the device name rule", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait before trying again")))))]
pub async fn login(
    State(core): State<Arc<Core>>,
    ClientIp(ip): ClientIp,
    Json(request): Json<LoginRequest>,
) -> ApiResult<Json<AuthResponse>> {
    Ok(Json(
        accounts::login(&core.db, &core.hub, &core.gate, request, ip).await?,
    ))
}

/// Sign out this device: its token stops working and its WebSocket closes.
#[utoipa::path(post, path = "/api/auth/logout", tag = "accounts", security(("bearer" = [])),
    responses((status = 204, description = "signed out")))]
pub async fn logout(State(core): State<Arc<Core>>, auth: AuthSession) -> ApiResult<StatusCode> {
    sessions::revoke_session(&core.db, &core.hub, auth, auth.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// My signed-in devices, newest first.
#[utoipa::path(get, path = "/api/sessions", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = SessionList)))]
pub async fn list_sessions(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
) -> ApiResult<Json<SessionList>> {
    Ok(Json(sessions::list_sessions(&core.db, auth).await?))
}

/// Revoke one of my sessions.
#[utoipa::path(delete, path = "/api/sessions/{session_id}", tag = "accounts", security(("bearer" = [])),
    params(("session_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "revoked"),
        (status = 404, description = "not_found: not one of my sessions, or already revoked", body = ErrorBody)))]
pub async fn revoke_session(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(session_id): Path<SessionId>,
) -> ApiResult<StatusCode> {
    sessions::revoke_session(&core.db, &core.hub, auth, session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RevokeAllParams {
    /// Keep the session making this request signed in.
    #[serde(default)]
    pub keep_current: bool,
}

/// Revoke all my sessions ("sign out everywhere"), optionally keeping this one.
#[utoipa::path(delete, path = "/api/sessions", tag = "accounts", security(("bearer" = [])),
    params(RevokeAllParams), responses((status = 204, description = "revoked")))]
pub async fn revoke_all_sessions(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Query(params): Query<RevokeAllParams>,
) -> ApiResult<StatusCode> {
    sessions::revoke_all_sessions(&core.db, &core.hub, auth, params.keep_current).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a client needs before signing in: who may sign up, whether users may invite.
#[utoipa::path(get, path = "/api/server", tag = "accounts",
    responses((status = 200, body = ServerInfo)))]
pub async fn server_info(State(core): State<Arc<Core>>) -> Json<ServerInfo> {
    Json(ServerInfo {
        signup: core.config.signup,
        users_can_invite: core.config.users_can_invite,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// Set a new password with a one-time code from an admin. Every session of the account ends.
#[utoipa::path(post, path = "/api/auth/reset-password", tag = "accounts", request_body = ResetPasswordRequest,
    responses((status = 204, description = "the password is set; sign in with it"),
        (status = 403, description = "forbidden: the code is unknown, used or expired", body = ErrorBody),
        (status = 422, description = "validation_failed: the password rule", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait before trying again")))))]
pub async fn reset_password(
    State(core): State<Arc<Core>>,
    ClientIp(ip): ClientIp,
    Json(request): Json<ResetPasswordRequest>,
) -> ApiResult<StatusCode> {
    passwords::reset(&core.db, &core.hub, &core.gate, ip, request).await?;
    Ok(StatusCode::NO_CONTENT)
}
