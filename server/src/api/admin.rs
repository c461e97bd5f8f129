//! Routes for admins, under `/api/admin`. To anyone who is not an admin (signed in or not),
//! every path here answers `not_found` exactly as a path that does not exist: the guard runs
//! before routing, so neither a method nor a path gives the section away.

use std::sync::Arc;

use axum::{
    Router,
    extract::{FromRequestParts, Request, State},
    http::{StatusCode, request::Parts},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use natter_protocol::{
    AdminStats, AdminUpdateUserRequest, AdminUser, AdminUserPage, AuditPage, ErrorBody, InviteList,
    PasswordResetCode, ReportId, ReportList, UserId,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    accounts::invites,
    admin,
    api::{
        error::{ApiError, ApiResult},
        extract::{Json, Path, Query, bearer_token},
    },
    audit::{self, Actor},
    auth::AuthSession,
    core::Core,
    reports,
};

pub fn router(core: Arc<Core>) -> Router<Arc<Core>> {
    Router::new()
        .route("/users", get(users))
        .route(
            "/users/{user_id}",
            get(user).patch(update_user).delete(delete_user),
        )
        .route("/users/{user_id}/password-reset", post(reset_password))
        .route("/users/{user_id}/reset-two-factor", post(reset_two_factor))
        .route("/invites", get(all_invites))
        .route("/stats", get(stats))
        .route("/audit", get(audit_log))
        .route("/reports", get(report_list))
        .route("/reports/{report_id}/resolve", post(resolve_report))
        .fallback(super::not_found)
        .method_not_allowed_fallback(super::not_found)
        .layer(middleware::from_fn_with_state(core, admins_only))
}

/// Lets only admins through; everyone else gets the answer of a path that does not exist.
async fn admins_only(State(core): State<Arc<Core>>, mut request: Request, next: Next) -> Response {
    let admin = match bearer_token(request.headers()) {
        Some(token) => crate::accounts::authenticate(&core.db, token).await.ok(),
        None => None,
    }
    .filter(|auth| auth.is_admin);
    match admin {
        Some(auth) => {
            request.extensions_mut().insert(Admin(auth));
            next.run(request).await
        }
        None => super::not_found().await.into_response(),
    }
}

/// The admin making the request, as the guard found them.
#[derive(Debug, Clone, Copy)]
pub struct Admin(pub AuthSession);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        match parts.extensions.get::<Admin>() {
            Some(admin) => Ok(*admin),
            None => Err(super::not_found().await),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UserSearch {
    /// Start of a username, or part of a display name; empty lists everyone.
    pub query: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Accounts, by username, with search and paging.
#[utoipa::path(get, path = "/api/admin/users", tag = "admin", security(("bearer" = [])),
    params(UserSearch),
    responses((status = 200, body = AdminUserPage),
        (status = 404, description = "not_found: not an admin", body = ErrorBody)))]
pub async fn users(
    State(core): State<Arc<Core>>,
    _admin: Admin,
    Query(search): Query<UserSearch>,
) -> ApiResult<Json<AdminUserPage>> {
    Ok(Json(
        admin::users(
            &core.db,
            &core.hub,
            search.query.as_deref(),
            search.limit,
            search.cursor.as_deref(),
        )
        .await?,
    ))
}

/// One account.
#[utoipa::path(get, path = "/api/admin/users/{user_id}", tag = "admin", security(("bearer" = [])),
    params(("user_id" = uuid::Uuid, Path)),
    responses((status = 200, body = AdminUser),
        (status = 404, description = "not_found: no such account, or not an admin", body = ErrorBody)))]
pub async fn user(
    State(core): State<Arc<Core>>,
    _admin: Admin,
    Path(user_id): Path<UserId>,
) -> ApiResult<Json<AdminUser>> {
    Ok(Json(admin::user(&core.db, &core.hub, user_id).await?))
}

/// Promote or demote; disable (every session ends at once) or enable.
#[utoipa::path(patch, path = "/api/admin/users/{user_id}", tag = "admin", security(("bearer" = [])),
    params(("user_id" = uuid::Uuid, Path)), request_body = AdminUpdateUserRequest,
    responses((status = 200, body = AdminUser),
        (status = 403, description = "forbidden: admins cannot demote or disable themselves", body = ErrorBody),
        (status = 404, description = "not_found: no such account, or not an admin", body = ErrorBody)))]
pub async fn update_user(
    State(core): State<Arc<Core>>,
    Admin(admin): Admin,
    Path(user_id): Path<UserId>,
    Json(request): Json<AdminUpdateUserRequest>,
) -> ApiResult<Json<AdminUser>> {
    Ok(Json(
        admin::update_user(&core.db, &core.hub, Actor::from(admin), user_id, request).await?,
    ))
}

/// Delete an account, as its owner could (messages stay, as from "Deleted account").
#[utoipa::path(delete, path = "/api/admin/users/{user_id}", tag = "admin", security(("bearer" = [])),
    params(("user_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "deleted"),
        (status = 403, description = "forbidden: that is me (delete it from my account)", body = ErrorBody),
        (status = 404, description = "not_found: no such account, or not an admin", body = ErrorBody)))]
pub async fn delete_user(
    State(core): State<Arc<Core>>,
    Admin(admin): Admin,
    Path(user_id): Path<UserId>,
) -> ApiResult<StatusCode> {
    admin::delete_user(&core.db, &core.hub, Actor::from(admin), user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A one-time code that sets a new password (24 hours); earlier codes stop working.
#[utoipa::path(post, path = "/api/admin/users/{user_id}/password-reset", tag = "admin",
    security(("bearer" = [])), params(("user_id" = uuid::Uuid, Path)),
    responses((status = 201, body = PasswordResetCode),
        (status = 404, description = "not_found: no such account, or not an admin", body = ErrorBody)))]
pub async fn reset_password(
    State(core): State<Arc<Core>>,
    Admin(admin): Admin,
    Path(user_id): Path<UserId>,
) -> ApiResult<(StatusCode, Json<PasswordResetCode>)> {
    let code = admin::reset_password(&core.db, Actor::from(admin), user_id).await?;
    Ok((StatusCode::CREATED, Json(code)))
}

/// Turn off the second factor of someone who lost it (phone and recovery codes).
#[utoipa::path(post, path = "/api/admin/users/{user_id}/reset-two-factor", tag = "admin",
    security(("bearer" = [])), params(("user_id" = uuid::Uuid, Path)),
    responses((status = 200, body = AdminUser),
        (status = 404, description = "not_found: no such account, or not an admin", body = ErrorBody),
        (status = 409, description = "conflict: two-factor sign-in is not on", body = ErrorBody)))]
pub async fn reset_two_factor(
    State(core): State<Arc<Core>>,
    Admin(admin): Admin,
    Path(user_id): Path<UserId>,
) -> ApiResult<Json<AdminUser>> {
    Ok(Json(
        admin::reset_two_factor(&core.db, &core.hub, Actor::from(admin), user_id).await?,
    ))
}

/// Every invite, newest first.
#[utoipa::path(get, path = "/api/admin/invites", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = InviteList),
        (status = 404, description = "not_found: not an admin", body = ErrorBody)))]
pub async fn all_invites(
    State(core): State<Arc<Core>>,
    _admin: Admin,
) -> ApiResult<Json<InviteList>> {
    Ok(Json(invites::list(&core.db, None).await?))
}

/// Counts of accounts, sessions, conversations, messages, open reports, connections.
#[utoipa::path(get, path = "/api/admin/stats", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = AdminStats),
        (status = 404, description = "not_found: not an admin", body = ErrorBody)))]
pub async fn stats(State(core): State<Arc<Core>>, _admin: Admin) -> ApiResult<Json<AdminStats>> {
    Ok(Json(
        admin::stats(&core.db, &core.hub, core.config.signup, core.started_at).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditParams {
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The audit log of admin actions, newest first.
#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", security(("bearer" = [])),
    params(AuditParams),
    responses((status = 200, body = AuditPage),
        (status = 404, description = "not_found: not an admin", body = ErrorBody)))]
pub async fn audit_log(
    State(core): State<Arc<Core>>,
    _admin: Admin,
    Query(params): Query<AuditParams>,
) -> ApiResult<Json<AuditPage>> {
    Ok(Json(
        audit::page(&core.db, params.limit, params.cursor.as_deref()).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportParams {
    /// `open` (default) or `all`.
    pub state: Option<String>,
}

/// Reported messages, newest first.
#[utoipa::path(get, path = "/api/admin/reports", tag = "admin", security(("bearer" = [])),
    params(ReportParams),
    responses((status = 200, body = ReportList),
        (status = 404, description = "not_found: not an admin", body = ErrorBody),
        (status = 422, description = "validation_failed: state is not open or all", body = ErrorBody)))]
pub async fn report_list(
    State(core): State<Arc<Core>>,
    _admin: Admin,
    Query(params): Query<ReportParams>,
) -> ApiResult<Json<ReportList>> {
    let open_only = match params.state.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(_) => {
            return Err(crate::error::Error::validation("state must be open or all").into());
        }
    };
    Ok(Json(reports::list(&core.db, open_only).await?))
}

/// Mark a report handled.
#[utoipa::path(post, path = "/api/admin/reports/{report_id}/resolve", tag = "admin",
    security(("bearer" = [])), params(("report_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "resolved"),
        (status = 404, description = "not_found: no such open report, or not an admin", body = ErrorBody)))]
pub async fn resolve_report(
    State(core): State<Arc<Core>>,
    Admin(admin): Admin,
    Path(report_id): Path<ReportId>,
) -> ApiResult<StatusCode> {
    reports::resolve(&core.db, admin, report_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
