//! The commands the webview may invoke (docs/desktop-ipc.md). Each is a thin call into
//! [`Desktop`] or the client core; every one is listed in `build.rs` and granted in
//! `capabilities/default.json`.

use natter_client::view::{ConversationView, MessagePageView, MessageView};
use natter_protocol::{
    ClientMessageId, ConversationId, LoginRequest, MessageId, Seq, SignupRequest, User, UserId,
};
use serde::Serialize;
use tauri::{AppHandle, State, ipc::Response};

use crate::{
    connection::ConnectionView,
    desktop::{AppStateView, Desktop, IpcError, Settings},
    page_events,
};

type Result<T> = std::result::Result<T, IpcError>;

const DEVICE_NAME: &str = "Natter desktop";

#[tauri::command]
pub async fn app_state(desktop: State<'_, Desktop>) -> Result<AppStateView> {
    Ok(desktop.state().await)
}

#[tauri::command]
pub async fn choose_server(
    app: AppHandle,
    desktop: State<'_, Desktop>,
    url: String,
) -> Result<AppStateView> {
    let state = desktop.choose_server(&app, &url).await?;
    crate::updates::check_soon(&app);
    Ok(state)
}

#[tauri::command]
pub async fn sign_in(
    app: AppHandle,
    desktop: State<'_, Desktop>,
    username: String,
    password: String,
    totp_code: Option<String>,
) -> Result<AppStateView> {
    let api = desktop.api_for_auth().await?;
    let auth = api
        .login(&LoginRequest {
            username,
            password,
            device_name: Some(DEVICE_NAME.into()),
            totp_code: totp_code.filter(|code| !code.trim().is_empty()),
        })
        .await;
    desktop.sign_in(&app, auth).await
}

#[tauri::command]
pub async fn sign_up(
    app: AppHandle,
    desktop: State<'_, Desktop>,
    username: String,
    display_name: String,
    password: String,
    invite_code: Option<String>,
) -> Result<AppStateView> {
    let api = desktop.api_for_auth().await?;
    let auth = api
        .signup(&SignupRequest {
            // The form's display name is optional: a blank one is the username, as in the CLI.
            display_name: natter_client::api::signup_display_name(&username, Some(&display_name)),
            username,
            password,
            device_name: Some(DEVICE_NAME.into()),
            // The form takes a code or a whole invite link; the server wants the code.
            invite_code: invite_code
                .as_deref()
                .and_then(natter_client::invites::code_from_input),
        })
        .await;
    desktop.sign_in(&app, auth).await
}

#[tauri::command]
pub async fn sign_out(app: AppHandle, desktop: State<'_, Desktop>) -> Result<AppStateView> {
    Ok(desktop.sign_out(&app, false).await)
}

#[tauri::command]
pub async fn connection(desktop: State<'_, Desktop>) -> Result<ConnectionView> {
    desktop.connection().await
}

#[tauri::command]
pub async fn conversations(desktop: State<'_, Desktop>) -> Result<Vec<ConversationView>> {
    Ok(desktop.client().await?.conversations().await?)
}

#[tauri::command]
pub async fn open_conversation(
    app: AppHandle,
    desktop: State<'_, Desktop>,
    conversation_id: ConversationId,
) -> Result<MessagePageView> {
    let client = desktop.client().await?;
    desktop.show_conversation(Some(conversation_id)).await;
    let page = client.history(conversation_id, None).await?;
    if let Err(error) = client.mark_read(conversation_id).await {
        tracing::debug!(%error, "not marked read");
    }
    crate::desktop::refresh_unread(&app).await;
    Ok(page)
}

#[tauri::command]
pub async fn close_conversation(desktop: State<'_, Desktop>) -> Result<()> {
    desktop.show_conversation(None).await;
    Ok(())
}

#[tauri::command]
pub async fn load_older(
    desktop: State<'_, Desktop>,
    conversation_id: ConversationId,
    before_seq: Seq,
) -> Result<MessagePageView> {
    Ok(desktop
        .client()
        .await?
        .history(conversation_id, Some(before_seq))
        .await?)
}

#[tauri::command]
pub async fn send_message(
    desktop: State<'_, Desktop>,
    conversation_id: ConversationId,
    body: String,
    reply_to: Option<MessageId>,
) -> Result<MessageView> {
    Ok(desktop
        .client()
        .await?
        .send(conversation_id, &body, reply_to)
        .await?)
}

/// Adds (`add`) or takes back my `emoji` reaction to a message.
#[tauri::command]
pub async fn react_to_message(
    desktop: State<'_, Desktop>,
    conversation_id: ConversationId,
    message_id: MessageId,
    emoji: String,
    add: bool,
) -> Result<MessageView> {
    Ok(desktop
        .client()
        .await?
        .react(conversation_id, message_id, &emoji, add)
        .await?)
}

/// Mutes or unmutes a conversation on all my devices.
#[tauri::command]
pub async fn mute_conversation(
    desktop: State<'_, Desktop>,
    conversation_id: ConversationId,
    muted: bool,
) -> Result<()> {
    Ok(desktop
        .client()
        .await?
        .mute_conversation(conversation_id, muted)
        .await?)
}

#[tauri::command]
pub async fn edit_message(
    desktop: State<'_, Desktop>,
    conversation_id: ConversationId,
    message_id: MessageId,
    body: String,
) -> Result<()> {
    Ok(desktop
        .client()
        .await?
        .edit(conversation_id, message_id, &body)
        .await?)
}

#[tauri::command]
pub async fn delete_message(
    desktop: State<'_, Desktop>,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<()> {
    Ok(desktop
        .client()
        .await?
        .delete(conversation_id, message_id)
        .await?)
}

#[tauri::command]
pub async fn discard_message(
    desktop: State<'_, Desktop>,
    client_id: ClientMessageId,
) -> Result<()> {
    Ok(desktop.client().await?.discard(client_id)?)
}

#[tauri::command]
pub async fn typing(desktop: State<'_, Desktop>, conversation_id: ConversationId) -> Result<()> {
    desktop.client().await?.typing(conversation_id);
    Ok(())
}

#[tauri::command]
pub async fn search_users(desktop: State<'_, Desktop>, query: String) -> Result<Vec<User>> {
    Ok(desktop.client().await?.search_users(&query).await?)
}

/// A message found by `search_messages`, with its conversation's title.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct SearchHit {
    conversation_id: ConversationId,
    conversation_title: String,
    message: MessageView,
}

#[tauri::command]
pub async fn search_messages(desktop: State<'_, Desktop>, query: String) -> Result<Vec<SearchHit>> {
    let client = desktop.client().await?;
    let conversations = client.conversations().await?;
    let mut hits = Vec::new();
    for message in client.search_messages(&query).await? {
        let Some(conversation) = conversations
            .iter()
            .find(|c| c.id == message.conversation_id)
        else {
            continue;
        };
        let sender_name = conversation
            .members
            .iter()
            .find(|member| member.id == message.sender_id)
            .map(|member| member.display_name.clone())
            .unwrap_or_default();
        hits.push(SearchHit {
            conversation_id: conversation.id,
            conversation_title: conversation.title.clone(),
            message: MessageView {
                client_id: message.client_id,
                id: Some(message.id),
                conversation_id: message.conversation_id,
                seq: Some(message.seq),
                sender_id: message.sender_id,
                sender_name,
                mine: message.sender_id == client.me().id,
                body: message.body,
                created_at: message.created_at,
                edited_at: message.edited_at,
                deleted_at: message.deleted_at,
                state: natter_client::view::MessageState::Sent,
                error: None,
                // Search matches text; a call record has none.
                call: None,
                // A hit is shown as a line of text that opens the conversation there.
                reply_to: None,
                reactions: Vec::new(),
                mentioned_usernames: Vec::new(),
                mentions_me: message.mentions.contains(&client.me().id),
                attachments: message.attachments,
                pending_files: Vec::new(),
            },
        });
    }
    Ok(hits)
}

#[tauri::command]
pub async fn start_direct(
    desktop: State<'_, Desktop>,
    user_id: UserId,
) -> Result<ConversationView> {
    Ok(desktop.client().await?.start_direct(user_id).await?)
}

#[tauri::command]
pub async fn create_group(
    desktop: State<'_, Desktop>,
    name: String,
    member_ids: Vec<UserId>,
) -> Result<ConversationView> {
    Ok(desktop
        .client()
        .await?
        .create_group(&name, member_ids)
        .await?)
}

#[tauri::command]
pub async fn update_profile(
    app: AppHandle,
    desktop: State<'_, Desktop>,
    display_name: String,
    status_text: String,
) -> Result<User> {
    let user = desktop
        .client()
        .await?
        .update_profile(Some(display_name), Some(status_text))
        .await?;
    let _ = page_events::emit(&app, &desktop.state().await);
    Ok(user)
}

#[tauri::command]
pub async fn upload_avatar(
    app: AppHandle,
    desktop: State<'_, Desktop>,
    bytes: Vec<u8>,
    content_type: String,
) -> Result<User> {
    let user = desktop
        .client()
        .await?
        .upload_avatar(bytes, &content_type)
        .await?;
    let _ = page_events::emit(&app, &desktop.state().await);
    Ok(user)
}

#[tauri::command]
pub async fn avatar(desktop: State<'_, Desktop>, url: String) -> Result<Response> {
    let bytes = desktop.client().await?.api().avatar(&url).await?;
    Ok(Response::new(bytes))
}

#[tauri::command]
pub async fn set_settings(
    app: AppHandle,
    desktop: State<'_, Desktop>,
    settings: Settings,
) -> Result<AppStateView> {
    let settings = crate::autostart::apply(&app, settings).await?;
    Ok(desktop.set_settings(&app, settings).await)
}
