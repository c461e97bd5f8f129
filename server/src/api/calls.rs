//! Routes for calls: the call history, and the ICE servers (STUN, and TURN with fresh
//! credentials) a device uses to reach the other side of a call. Calls themselves are placed
//! and answered over the WebSocket.

use std::sync::Arc;

use axum::extract::State;
use natter_protocol::{CallHistory, ErrorBody, IceServers};
use serde::Deserialize;

use crate::{
    api::{
        error::ApiResult,
        extract::{Json, Query},
    },
    auth::AuthSession,
    calls::{history, turn},
    core::Core,
    util::now_ms,
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallHistoryParams {
    /// Calls started before this time (the `started_at` of the last call of the previous page).
    pub before: Option<i64>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// My calls, made and received, newest first, with how each ended and how long it lasted.
#[utoipa::path(get, path = "/api/calls", tag = "calls", security(("bearer" = [])),
    params(CallHistoryParams),
    responses((status = 200, body = CallHistory),
        (status = 422, description = "validation_failed: `limit` out of range", body = ErrorBody)))]
pub async fn list(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Query(params): Query<CallHistoryParams>,
) -> ApiResult<Json<CallHistory>> {
    Ok(Json(
        history::list(&core.db, auth, params.before, params.limit).await?,
    ))
}

/// The ICE servers for my next call, with TURN credentials valid until `expires_at`.
#[utoipa::path(get, path = "/api/calls/ice-servers", tag = "calls", security(("bearer" = [])),
    responses((status = 200, body = IceServers)))]
pub async fn ice_servers(State(core): State<Arc<Core>>, auth: AuthSession) -> Json<IceServers> {
    let config = &core.config;
    Json(turn::ice_servers(
        &config.stun_urls,
        &config.turn_urls,
        config.turn_secret.as_ref().map(|secret| secret.expose()),
        config.turn_credential_ttl_seconds,
        auth.user_id,
        now_ms(),
    ))
}
