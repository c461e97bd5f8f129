//! The WebSocket upgrade at `/api/ws`; the session itself is `realtime::socket`.

use std::sync::Arc;

use axum::{
    extract::{State, WebSocketUpgrade, ws::rejection::WebSocketUpgradeRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use natter_protocol::{ErrorCode, limits::WS_FRAME_MAX_BYTES};

use crate::{
    accounts,
    api::{error::ApiError, extract::bearer_token},
    core::Core,
    realtime::socket,
};

/// Open the realtime WebSocket. Send `hello` first (see docs/protocol.md). A bearer token in
/// the upgrade request is checked before upgrading.
#[utoipa::path(get, path = "/api/ws", tag = "realtime",
    responses((status = 101, description = "switching to the WebSocket protocol"),
        (status = 401, body = natter_protocol::ErrorBody)))]
pub async fn upgrade(
    State(core): State<Arc<Core>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidParameter,
                rejection.body_text(),
            )
            .into_response();
        }
    };
    let pre_auth = match bearer_token(&headers) {
        Some(token) => match accounts::authenticate(&core, token).await {
            Ok(auth) => Some(auth),
            Err(error) => return ApiError::from(error).into_response(),
        },
        None => None,
    };
    let tracked = core.connections.token();
    upgrade
        .max_message_size(WS_FRAME_MAX_BYTES)
        .max_frame_size(WS_FRAME_MAX_BYTES)
        // tungstenite's default 128 KiB read buffer per socket dominated the memory of an idle
        // connection; client frames are small (hello, typing) and the buffer grows if needed.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
        .on_upgrade(move |websocket| async move {
            socket::run(websocket, core, pre_auth).await;
            drop(tracked);
        })
}
