//! Routes for conversations and their members.

use std::sync::Arc;

use axum::{extract::State, http::StatusCode};
use natter_protocol::{
    AddMembersRequest, Conversation, ConversationId, ConversationList, CreateConversationRequest,
    ErrorBody, RenameConversationRequest, UserId,
};

use crate::{
    api::{
        error::ApiResult,
        extract::{Json, Path},
    },
    auth::AuthSession,
    conversations,
    core::Core,
};

/// My conversations, most recent activity first, with members, last message and unread count.
#[utoipa::path(get, path = "/api/conversations", tag = "conversations", security(("bearer" = [])),
    responses((status = 200, body = ConversationList)))]
pub async fn list(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
) -> ApiResult<Json<ConversationList>> {
    Ok(Json(conversations::list(&core.db, &core.hub, auth).await?))
}

/// Start a direct conversation (or get the existing one: 200) or create a group (201).
#[utoipa::path(post, path = "/api/conversations", tag = "conversations", security(("bearer" = [])),
    request_body = CreateConversationRequest,
    responses((status = 201, body = Conversation), (status = 200, description = "the existing direct conversation", body = Conversation),
        (status = 422, description = "validation_failed: a direct conversation with myself, an unknown user id, a \
            group name rule, more than 256 members", body = ErrorBody)))]
pub async fn create(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Json(request): Json<CreateConversationRequest>,
) -> ApiResult<(StatusCode, Json<Conversation>)> {
    let (conversation, created) = match request {
        CreateConversationRequest::Direct { user_id } => {
            conversations::open_direct(&core.db, &core.hub, auth, user_id).await?
        }
        CreateConversationRequest::Group { name, member_ids } => (
            conversations::create_group(&core.db, &core.hub, auth, &name, &member_ids).await?,
            true,
        ),
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(conversation)))
}

/// One of my conversations.
#[utoipa::path(get, path = "/api/conversations/{conversation_id}", tag = "conversations", security(("bearer" = [])),
    params(("conversation_id" = uuid::Uuid, Path)),
    responses((status = 200, body = Conversation), (status = 404, description = "not_found: not a member", body = ErrorBody)))]
pub async fn get(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(conversation_id): Path<ConversationId>,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(
        conversations::get(&core.db, &core.hub, auth, conversation_id).await?,
    ))
}

/// Rename a group (owner only).
#[utoipa::path(patch, path = "/api/conversations/{conversation_id}", tag = "conversations", security(("bearer" = [])),
    params(("conversation_id" = uuid::Uuid, Path)), request_body = RenameConversationRequest,
    responses((status = 200, body = Conversation),
        (status = 403, description = "forbidden: not the owner, or a direct conversation", body = ErrorBody),
        (status = 404, description = "not_found: not a member", body = ErrorBody),
        (status = 422, description = "validation_failed: the group name rule", body = ErrorBody)))]
pub async fn rename(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(conversation_id): Path<ConversationId>,
    Json(request): Json<RenameConversationRequest>,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(
        conversations::rename(&core.db, &core.hub, auth, conversation_id, &request.name).await?,
    ))
}

/// Add members to a group (owner only). Users already in it are left as they are.
#[utoipa::path(post, path = "/api/conversations/{conversation_id}/members", tag = "conversations", security(("bearer" = [])),
    params(("conversation_id" = uuid::Uuid, Path)), request_body = AddMembersRequest,
    responses((status = 200, body = Conversation),
        (status = 403, description = "forbidden: not the owner, or a direct conversation", body = ErrorBody),
        (status = 404, description = "not_found: not a member", body = ErrorBody),
        (status = 422, description = "validation_failed: no user, an unknown user id, more than 256 members", body = ErrorBody)))]
pub async fn add_members(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(conversation_id): Path<ConversationId>,
    Json(request): Json<AddMembersRequest>,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(
        conversations::add_members(
            &core.db,
            &core.hub,
            auth,
            conversation_id,
            &request.user_ids,
        )
        .await?,
    ))
}

/// Remove a member from a group (owner only), or leave it (the member removing themselves).
#[utoipa::path(delete, path = "/api/conversations/{conversation_id}/members/{user_id}", tag = "conversations",
    security(("bearer" = [])),
    params(("conversation_id" = uuid::Uuid, Path), ("user_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "removed"),
        (status = 403, description = "forbidden: removing someone else without being the owner, or a direct \
            conversation", body = ErrorBody),
        (status = 404, description = "not_found: I or the user am not a member", body = ErrorBody)))]
pub async fn remove_member(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path((conversation_id, user_id)): Path<(ConversationId, UserId)>,
) -> ApiResult<StatusCode> {
    conversations::remove_member(&core.db, &core.hub, auth, conversation_id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mute a conversation for me: my devices do not notify of its messages unless they mention me.
#[utoipa::path(put, path = "/api/conversations/{conversation_id}/mute", tag = "conversations",
    security(("bearer" = [])), params(("conversation_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "muted"),
        (status = 404, description = "not_found: not a member", body = ErrorBody)))]
pub async fn mute(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(conversation_id): Path<ConversationId>,
) -> ApiResult<StatusCode> {
    conversations::set_muted(&core.db, &core.hub, auth, conversation_id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unmute a conversation for me.
#[utoipa::path(delete, path = "/api/conversations/{conversation_id}/mute", tag = "conversations",
    security(("bearer" = [])), params(("conversation_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "not muted"),
        (status = 404, description = "not_found: not a member", body = ErrorBody)))]
pub async fn unmute(
    State(core): State<Arc<Core>>,
    auth: AuthSession,
    Path(conversation_id): Path<ConversationId>,
) -> ApiResult<StatusCode> {
    conversations::set_muted(&core.db, &core.hub, auth, conversation_id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
