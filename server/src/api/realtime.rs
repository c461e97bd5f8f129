//! The WebSocket upgrade at `/api/ws`; the session itself is `realtime::socket`.

use std::sync::Arc;

use axum::{
    extract::{State, WebSocketUpgrade, ws::rejection::WebSocketUpgradeRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use natter_protocol::{ErrorCode, limits::WS_FRAME_MAX_BYTES};

use crate::{
    accounts,
    api::{error::ApiError, extract::bearer_token},
    core::Core,
    realtime::socket,
};

/// Room for a few of the largest frames the server sends; a reading client never comes near.
const WRITE_BUFFER_MAX_BYTES: usize = 4 * WS_FRAME_MAX_BYTES;

/// Open the realtime WebSocket. Send `hello` first (see docs/protocol.md). A bearer token in
/// the upgrade request is checked before upgrading.
#[utoipa::path(get, path = "/api/ws", tag = "realtime",
    responses((status = 101, description = "switching to the WebSocket protocol"),
        (status = 400, description = "invalid_parameter: not a WebSocket upgrade request", body = natter_protocol::ErrorBody),
        (status = 401, description = "unauthorized: the `Authorization` header's token is unknown or revoked",
            body = natter_protocol::ErrorBody),
        (status = 403, description = "forbidden: a browser page from an origin the server does not allow",
            body = natter_protocol::ErrorBody),
        (status = 503, description = "unavailable: the database cannot be reached to check the token",
            body = natter_protocol::ErrorBody)))]
pub async fn upgrade(
    State(core): State<Arc<Core>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Err(refusal) = check_origin(&core.config.allowed_origins, &headers) {
        return refusal.into_response();
    }
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
        Some(token) => match accounts::authenticate(&core.db, token).await {
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
        // What waits to be written when the client does not read, pongs to its pings included:
        // without a cap, a client that pings without reading grew it by ~100 MiB a second.
        // Past it, the next write fails and the session ends like any too-slow client's.
        .max_write_buffer_size(WRITE_BUFFER_MAX_BYTES)
        .on_upgrade(move |websocket| async move {
            socket::run(websocket, core, pre_auth).await;
            drop(tracked);
        })
}

/// The desktop app's web views (Linux and macOS, Windows): allowed wherever the server runs.
const APP_ORIGINS: [&str; 3] = [
    "tauri://localhost",
    "http://tauri.localhost",
    "https://tauri.localhost",
];

/// Browsers send `Origin` with every WebSocket upgrade and let any page open one. Sessions are
/// bearer tokens, never cookies, so a foreign page cannot use one today; refusing foreign
/// origins keeps that true if that ever changes. Native clients send no `Origin` and pass.
fn check_origin(allowed: &[String], headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let same_origin = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .is_some_and(|host| {
            let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
            !authority.is_empty() && authority.eq_ignore_ascii_case(host)
        });
    let listed = APP_ORIGINS.contains(&origin.as_str())
        || allowed.iter().any(|allowed| {
            allowed
                .trim()
                .trim_end_matches('/')
                .eq_ignore_ascii_case(&origin)
        });
    if same_origin || listed {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "this web origin may not open the realtime socket (an operator can allow it with \
             --allowed-origins)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(origin: Option<&'static str>, host: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static(host));
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_static(origin));
        }
        headers
    }

    #[test]
    fn foreign_browser_origins_are_refused_and_the_rest_allowed() {
        let operator = vec!["https://web.example.org/".to_owned()];
        let host = "chat.example.org";
        for allowed in [
            None,
            Some("tauri://localhost"),
            Some("https://tauri.localhost"),
            Some("https://chat.example.org"),
            Some("HTTPS://Web.Example.org"),
        ] {
            assert!(
                check_origin(&operator, &headers(allowed, host)).is_ok(),
                "{allowed:?}"
            );
        }
        for refused in [
            "https://evil.example",
            "null",
            "https://chat.example.org.evil.example",
            "https://tauri.localhost.evil.example",
            "file://",
        ] {
            assert!(
                check_origin(&operator, &headers(Some(refused), host)).is_err(),
                "{refused}"
            );
        }
    }
}
