//! Routes for calls: the ICE servers (STUN, and TURN with fresh credentials) a device uses to
//! reach the other side of a call.

use std::sync::Arc;

use axum::extract::State;
use natter_protocol::{ErrorBody, IceServers};

use crate::{accounts::AuthSession, api::extract::Json, calls::turn, core::Core, util::now_ms};

/// The ICE servers for my next call, with TURN credentials valid until `expires_at`.
#[utoipa::path(get, path = "/api/calls/ice-servers", tag = "calls", security(("bearer" = [])),
    responses((status = 200, body = IceServers), (status = 401, body = ErrorBody)))]
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
