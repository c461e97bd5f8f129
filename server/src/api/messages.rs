//! Routes for messages, history, receipts, typing and search.

use std::sync::Arc;

use axum::{extract::State, http::StatusCode};
use natter_protocol::{
    ConversationId, EditMessageRequest, ErrorBody, MarkReadRequest, Message, MessageId,
    MessagePage, ReadState, ReportRequest, SearchResults, SendMessageRequest,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    api::{
        error::ApiResult,
        extract::{Json, Path, Query},
    },
    auth::AuthSession,
    core::Core,
    messages, reports,
};

/// Report a message I can see to the server's admins, with a reason.
#[utoipa::path(post, path = "/api/conversations/{conversation_id}/messages/{message_id}/report", tag = "messages",
    security(("bearer" = [])),
    params(("conversation_id" = uuid::Uuid, Path), ("message_id" = uuid::Uuid, Path)),
    request_body = ReportRequest,
    responses((status = 204, description = "reported"),
        (status = 403, description = "forbidden: my own message", body = ErrorBody),
        (status = 404, description = "not_found: not a message I can see", body = ErrorBody),
        (status = 409, description = "conflict: already reported by me, or deleted", body = ErrorBody),
        (status = 422, description = "validation_failed: the reason's length", body = ErrorBody)))]
pub async fn report(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path((conversation_id, message_id)): Path<(ConversationId, MessageId)>,
    Json(request): Json<ReportRequest>,
) -> ApiResult<StatusCode> {
    reports::report(&core.db, auth, conversation_id, message_id, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a message. Resending the same `client_id` returns the stored message with 200.
#[utoipa::path(post, path = "/api/conversations/{conversation_id}/messages", tag = "messages", security(("bearer" = [])),
    params(("conversation_id" = uuid::Uuid, Path)), request_body = SendMessageRequest,
    responses((status = 201, body = Message), (status = 200, description = "already sent", body = Message),
        (status = 404, description = "not_found: not a member", body = ErrorBody),
        (status = 403, description = "forbidden: a direct conversation whose other person blocked me or deleted \
            their account (the message does not say which)", body = ErrorBody),
        (status = 409, description = "idempotency_conflict", body = ErrorBody),
        (status = 429, description = "rate_limited: more messages than the server allows a user per minute; \
            resend after Retry-After", body = ErrorBody),
        (status = 413, description = "payload_too_large: the body is over 64 KiB, or the message over 4000 \
            characters or 16 KiB", body = ErrorBody),
        (status = 422, description = "validation_failed: a blank message, control characters", body = ErrorBody)))]
pub async fn send(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(conversation_id): Path<ConversationId>,
    Json(request): Json<SendMessageRequest>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    let (message, created) = messages::send(
        &core.db,
        &core.hub,
        &core.user_limits,
        auth,
        conversation_id,
        request,
    )
    .await?;
    let status = if created {
        core.metrics.messages_sent.inc();
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(message)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct HistoryParams {
    /// Messages with a smaller `seq` (older), newest of them last.
    pub before: Option<i64>,
    /// Messages with a larger `seq` (newer).
    pub after: Option<i64>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// A page of history, oldest first. Without `before` or `after`: the newest page.
#[utoipa::path(get, path = "/api/conversations/{conversation_id}/messages", tag = "messages", security(("bearer" = [])),
    params(("conversation_id" = uuid::Uuid, Path), HistoryParams),
    responses((status = 200, body = MessagePage), (status = 404, description = "not_found: not a member", body = ErrorBody),
        (status = 422, description = "validation_failed: both `before` and `after`, `limit` out of range", body = ErrorBody)))]
pub async fn history(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(conversation_id): Path<ConversationId>,
    Query(params): Query<HistoryParams>,
) -> ApiResult<Json<MessagePage>> {
    Ok(Json(
        messages::history(
            &core.db,
            auth,
            conversation_id,
            params.before,
            params.after,
            params.limit,
        )
        .await?,
    ))
}

/// Edit my message.
#[utoipa::path(patch, path = "/api/conversations/{conversation_id}/messages/{message_id}", tag = "messages",
    security(("bearer" = [])),
    params(("conversation_id" = uuid::Uuid, Path), ("message_id" = uuid::Uuid, Path)),
    request_body = EditMessageRequest,
    responses((status = 200, body = Message), (status = 403, description = "forbidden: not my message", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "conflict: the message is deleted, or records a call", body = ErrorBody),
        (status = 413, description = "payload_too_large: the body is over 64 KiB, or the message over 4000 \
            characters or 16 KiB", body = ErrorBody),
        (status = 422, description = "validation_failed: a blank message, control characters", body = ErrorBody)))]
pub async fn edit(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path((conversation_id, message_id)): Path<(ConversationId, MessageId)>,
    Json(request): Json<EditMessageRequest>,
) -> ApiResult<Json<Message>> {
    Ok(Json(
        messages::edit(
            &core.db,
            &core.hub,
            auth,
            conversation_id,
            message_id,
            &request.body,
        )
        .await?,
    ))
}

/// One message I can see (a tombstone if it was deleted): the original of a reply.
#[utoipa::path(get, path = "/api/conversations/{conversation_id}/messages/{message_id}", tag = "messages",
    security(("bearer" = [])),
    params(("conversation_id" = uuid::Uuid, Path), ("message_id" = uuid::Uuid, Path)),
    responses((status = 200, body = Message),
        (status = 404, description = "not_found: not a message of this conversation that I can see", body = ErrorBody)))]
pub async fn get_one(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path((conversation_id, message_id)): Path<(ConversationId, MessageId)>,
) -> ApiResult<Json<Message>> {
    Ok(Json(
        messages::get(&core.db, auth, conversation_id, message_id).await?,
    ))
}

/// React to a message with one emoji (percent-encoded in the path); once per user and emoji.
#[utoipa::path(put, path = "/api/conversations/{conversation_id}/messages/{message_id}/reactions/{emoji}",
    tag = "messages", security(("bearer" = [])),
    params(("conversation_id" = uuid::Uuid, Path), ("message_id" = uuid::Uuid, Path),
        ("emoji" = String, Path, description = "one emoji, e.g. %F0%9F%91%8D")),
    responses((status = 200, description = "the message with its reactions", body = Message),
        (status = 403, description = "forbidden: a direct conversation I may not write in", body = ErrorBody),
        (status = 404, description = "not_found: not a message I can see", body = ErrorBody),
        (status = 409, description = "conflict: the message is deleted, or has 20 different emoji", body = ErrorBody),
        (status = 422, description = "validation_failed: not one emoji", body = ErrorBody),
        (status = 429, description = "rate_limited: counted with messages", body = ErrorBody)))]
pub async fn react(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path((conversation_id, message_id, emoji)): Path<(ConversationId, MessageId, String)>,
) -> ApiResult<Json<Message>> {
    reaction(core, auth, conversation_id, message_id, &emoji, true).await
}

/// Take back my reaction with this emoji.
#[utoipa::path(delete, path = "/api/conversations/{conversation_id}/messages/{message_id}/reactions/{emoji}",
    tag = "messages", security(("bearer" = [])),
    params(("conversation_id" = uuid::Uuid, Path), ("message_id" = uuid::Uuid, Path),
        ("emoji" = String, Path, description = "one emoji, e.g. %F0%9F%91%8D")),
    responses((status = 200, description = "the message with its reactions", body = Message),
        (status = 404, description = "not_found: not a message I can see", body = ErrorBody),
        (status = 422, description = "validation_failed: not one emoji", body = ErrorBody),
        (status = 429, description = "rate_limited: counted with messages", body = ErrorBody)))]
pub async fn unreact(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path((conversation_id, message_id, emoji)): Path<(ConversationId, MessageId, String)>,
) -> ApiResult<Json<Message>> {
    reaction(core, auth, conversation_id, message_id, &emoji, false).await
}

async fn reaction(
    core: Arc<Core>,
    auth: AuthSession,
    conversation_id: ConversationId,
    message_id: MessageId,
    emoji: &str,
    add: bool,
) -> ApiResult<Json<Message>> {
    Ok(Json(
        messages::set_reaction(
            &core.db,
            &core.hub,
            &core.user_limits,
            auth,
            conversation_id,
            message_id,
            emoji,
            add,
        )
        .await?,
    ))
}

/// Delete my message; it stays as a tombstone.
#[utoipa::path(delete, path = "/api/conversations/{conversation_id}/messages/{message_id}", tag = "messages",
    security(("bearer" = [])),
    params(("conversation_id" = uuid::Uuid, Path), ("message_id" = uuid::Uuid, Path)),
    responses((status = 200, body = Message), (status = 403, description = "forbidden: not my message", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody)))]
pub async fn delete(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path((conversation_id, message_id)): Path<(ConversationId, MessageId)>,
) -> ApiResult<Json<Message>> {
    Ok(Json(
        messages::delete(
            &core.db,
            &core.hub,
            &core.files.store,
            auth,
            conversation_id,
            message_id,
        )
        .await?,
    ))
}

/// I have read up to and including this message.
#[utoipa::path(post, path = "/api/conversations/{conversation_id}/read", tag = "messages", security(("bearer" = [])),
    params(("conversation_id" = uuid::Uuid, Path)), request_body = MarkReadRequest,
    responses((status = 200, body = ReadState),
        (status = 404, description = "not_found: not a member, or the message is not in this conversation or from \
            before I joined", body = ErrorBody)))]
pub async fn mark_read(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(conversation_id): Path<ConversationId>,
    Json(request): Json<MarkReadRequest>,
) -> ApiResult<Json<ReadState>> {
    Ok(Json(
        messages::mark_read(
            &core.db,
            &core.hub,
            auth,
            conversation_id,
            request.message_id,
        )
        .await?,
    ))
}

/// I am typing (for clients without a WebSocket; the WebSocket `typing` frame does the same).
#[utoipa::path(post, path = "/api/conversations/{conversation_id}/typing", tag = "messages", security(("bearer" = [])),
    params(("conversation_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "passed on"), (status = 404, description = "not_found: not a member", body = ErrorBody)))]
pub async fn typing(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(conversation_id): Path<ConversationId>,
) -> ApiResult<StatusCode> {
    messages::typing(
        &core.db,
        &core.hub,
        &core.user_limits,
        auth,
        conversation_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchParams {
    /// Words to find; each matches words starting with it. Punctuation is ignored.
    #[param(min_length = 1, max_length = 200)]
    pub query: String,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<uuid::Uuid>,
}

/// Full-text search over the conversations I am in, newest first.
#[utoipa::path(get, path = "/api/search/messages", tag = "messages", security(("bearer" = [])),
    params(SearchParams),
    responses((status = 200, body = SearchResults),
        (status = 422, description = "validation_failed: no letter or digit in `query`, over 200 characters, `limit` \
            out of range", body = ErrorBody)))]
pub async fn search(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Query(params): Query<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    Ok(Json(
        messages::search(&core.db, auth, &params.query, params.limit, params.cursor).await?,
    ))
}
