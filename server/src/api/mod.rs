//! The HTTP surface: routes, and the layers every request passes (body limits, metrics,
//! panics as JSON errors, tracing). Handlers are thin: extract, call one domain function, map.

pub mod account;
pub mod accounts;
pub mod admin;
pub mod calls;
pub mod conversations;
pub mod error;
pub mod extract;
pub mod invites;
pub mod messages;
pub mod openapi;
pub mod ops;
pub mod realtime;
pub mod updates;
pub mod uploads;
pub mod users;

use std::{sync::Arc, time::Instant};

use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, post, put},
};
use natter_protocol::{
    ErrorCode,
    limits::{AVATAR_UPLOAD_MAX_BYTES, JSON_BODY_MAX_BYTES},
};
use tower_http::{
    catch_panic::CatchPanicLayer, set_header::SetResponseHeaderLayer,
    timeout::RequestBodyTimeoutLayer, trace::TraceLayer,
};

use crate::{api::error::ApiError, core::Core, metrics::RequestLabels};

pub fn router(core: Arc<Core>) -> Router {
    Router::new()
        .route("/api/auth/signup", post(accounts::signup))
        .route("/api/auth/login", post(accounts::login))
        .route("/api/auth/logout", post(accounts::logout))
        .route("/api/auth/reset-password", post(accounts::reset_password))
        .route("/api/server", get(accounts::server_info))
        .route(
            "/api/sessions",
            get(accounts::list_sessions).delete(accounts::revoke_all_sessions),
        )
        .route(
            "/api/sessions/{session_id}",
            delete(accounts::revoke_session),
        )
        .route("/api/me", get(users::me).patch(users::update_me))
        .route("/api/me/account", get(account::account))
        .route("/api/me/password", post(account::change_password))
        .route("/api/me/totp/setup", post(account::totp_setup))
        .route("/api/me/totp/confirm", post(account::totp_confirm))
        .route("/api/me/totp/disable", post(account::totp_disable))
        .route("/api/me/delete", post(account::delete_account))
        .route("/api/me/export", get(account::export))
        .route("/api/blocks", get(account::blocked))
        .route(
            "/api/blocks/{user_id}",
            axum::routing::put(account::block).delete(account::unblock),
        )
        .route("/api/invites", get(invites::mine).post(invites::create))
        .route("/api/invites/{invite_id}", delete(invites::revoke))
        .route("/invite/{code}", get(invites::link_page))
        .route(
            "/api/me/avatar",
            axum::routing::put(users::put_avatar)
                .delete(users::delete_avatar)
                .layer(DefaultBodyLimit::max(AVATAR_UPLOAD_MAX_BYTES)),
        )
        .route("/api/users", get(users::directory))
        .route("/api/users/{user_id}", get(users::get_user))
        .route("/api/users/{user_id}/avatar", get(users::get_avatar))
        .route(
            "/api/conversations",
            get(conversations::list).post(conversations::create),
        )
        .route(
            "/api/conversations/{conversation_id}",
            get(conversations::get).patch(conversations::rename),
        )
        .route(
            "/api/conversations/{conversation_id}/members",
            post(conversations::add_members),
        )
        .route(
            "/api/conversations/{conversation_id}/members/{user_id}",
            delete(conversations::remove_member),
        )
        .route(
            "/api/conversations/{conversation_id}/messages",
            get(messages::history).post(messages::send),
        )
        .route(
            "/api/conversations/{conversation_id}/messages/{message_id}",
            get(messages::get_one)
                .patch(messages::edit)
                .delete(messages::delete),
        )
        .route(
            "/api/conversations/{conversation_id}/messages/{message_id}/reactions/{emoji}",
            put(messages::react).delete(messages::unreact),
        )
        .route(
            "/api/conversations/{conversation_id}/mute",
            put(conversations::mute).delete(conversations::unmute),
        )
        .route(
            "/api/conversations/{conversation_id}/messages/{message_id}/report",
            post(messages::report),
        )
        .route(
            "/api/conversations/{conversation_id}/read",
            post(messages::mark_read),
        )
        .route(
            "/api/conversations/{conversation_id}/typing",
            post(messages::typing),
        )
        .route(
            "/api/uploads",
            post(uploads::create).options(uploads::options),
        )
        .route(
            "/api/uploads/{id}",
            axum::routing::head(uploads::head)
                // The bytes stream to disk with the upload's own length as their limit.
                .patch(uploads::patch)
                .layer(DefaultBodyLimit::disable())
                .delete(uploads::terminate),
        )
        .route("/api/attachments/{id}", get(uploads::download))
        .route("/api/attachments/{id}/thumbnail", get(uploads::thumbnail))
        .route("/api/search/messages", get(messages::search))
        .route("/api/calls", get(calls::list))
        .route("/api/calls/ice-servers", get(calls::ice_servers))
        .route("/api/ws", get(realtime::upgrade))
        .route(
            "/api/updates/{target}/{arch}/{bundle_type}/{current_version}",
            get(updates::check),
        )
        .route("/api/updates/files/{name}", get(updates::file))
        .nest("/api/admin", admin::router(core.clone()))
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/stats", get(ops::stats))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(JSON_BODY_MAX_BYTES))
        // A client that stops sending a body it announced is cut off like one that stops
        // sending its headers (the connection layer's deadline).
        .layer(RequestBodyTimeoutLayer::new(core.config.client_timeout()))
        .layer(middleware::from_fn_with_state(core.clone(), record_request))
        .layer(middleware::from_fn(run_to_completion))
        .layer(CatchPanicLayer::custom(panic_response))
        // Headers on every answer, errors included. The API serves data, never pages: nothing
        // may be sniffed into HTML, framed, or leak the URL as a referrer. Answers carry tokens
        // and personal data, so no cache keeps them, except where a handler says otherwise
        // (avatars, revalidated by `ETag`).
        .layer(default_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(default_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(default_header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .layer(default_header(header::REFERRER_POLICY, "no-referrer"))
        .layer(default_header(header::CACHE_CONTROL, "no-store"))
        .layer(TraceLayer::new_for_http())
        .with_state(core)
}

/// Sets a response header unless the handler set it.
fn default_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such endpoint",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "this endpoint does not take that method",
    )
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Internal,
        "the server could not complete the request; try again",
    )
    .into_response()
}

/// Runs each request in its own task, so that a client hanging up cannot cancel a handler
/// between committing a change and publishing its event to the other clients.
async fn run_to_completion(request: Request, next: Next) -> Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(_) => panic_response(Box::new("request task failed")),
    }
}

async fn record_request(State(core): State<Arc<Core>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Any token is a valid HTTP method: label only the ones we serve, or the label set (and
    // memory) would grow with whatever clients send.
    let method = match request.method().as_str() {
        known @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => known,
        _ => "other",
    }
    .to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let labels = RequestLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    core.metrics.http_requests.get_or_create(&labels).inc();
    core.metrics
        .http_request_seconds
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}
