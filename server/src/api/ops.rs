//! Routes for operators: liveness, readiness, Prometheus metrics, a stats snapshot.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use natter_protocol::ServerStats;

use crate::{api::extract::Json, core::Core, live::Live};

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "`ok`", content((String = "text/plain; charset=utf-8")))))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The server can serve requests: its database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "`ready`", content((String = "text/plain; charset=utf-8"))),
        (status = 503, description = "`database unreachable`", content((String = "text/plain; charset=utf-8")))))]
pub async fn readyz(State(core): State<Arc<Core>>) -> (StatusCode, &'static str) {
    if core.db.is_reachable().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}

/// What `prometheus-client` renders: the OpenMetrics text format, which Prometheus scrapes as is.
const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Prometheus metrics in the OpenMetrics text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "the metrics", content((String = METRICS_CONTENT_TYPE)))))]
pub async fn metrics(State(core): State<Arc<Core>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        core.metrics.render(),
    )
}

/// Users online and open connections right now.
#[utoipa::path(get, path = "/api/stats", tag = "operations",
    responses((status = 200, body = ServerStats)))]
pub async fn stats(State(core): State<Arc<Core>>) -> Json<ServerStats> {
    let (users_online, connections) = core.hub.counts();
    Json(ServerStats {
        users_online: users_online as u64,
        connections: connections as u64,
        uptime_seconds: core.started_at.elapsed().as_secs(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}
