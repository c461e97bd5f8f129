//! Forwards what the client core reports to the webview as `natter://…` events
//! (docs/desktop-ipc.md), raises notifications for new messages, keeps the tray current, and
//! hands call changes to the [`CallDesk`].

use natter_client::ClientEvent;
use tauri::{AppHandle, Manager};
use tokio::sync::broadcast;

use crate::{
    call_view::{CallStatsScreenView, quality},
    calls::CallDesk,
    desktop::Desktop,
    file_desk::UploadProgress,
    page_events::{
        ConversationRemoved, MessageDiscarded, OpenConversation, PresenceChange, Typing, emit,
    },
};

pub async fn forward(
    app: AppHandle,
    desktop: Desktop,
    mut events: broadcast::Receiver<ClientEvent>,
) {
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "the UI fell behind; reloading its state");
                let _ = emit(&app, &desktop.state().await);
                // A lost connection change would leave the banner wrong.
                if let Ok(connection) = desktop.connection().await {
                    let _ = emit(&app, &connection);
                }
                // A lost call change could leave a ringtone playing: show the call as it is.
                if let Ok(client) = desktop.client().await
                    && let Some(call) = client.call()
                {
                    let desk = app.state::<CallDesk>().inner().clone();
                    desk.changed(&app, &client, call, desktop.settings().await.notifications)
                        .await;
                }
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let emitted = match &event {
            ClientEvent::Connection {
                status,
                retry_in_ms,
            } => emit(&app, &desktop.connection_changed(*status, *retry_in_ms)),
            ClientEvent::Conversation { conversation } => {
                crate::desktop::refresh_unread(&app).await;
                emit(&app, conversation)
            }
            ClientEvent::ConversationRemoved { conversation_id } => emit(
                &app,
                &ConversationRemoved {
                    conversation_id: *conversation_id,
                },
            ),
            ClientEvent::Message {
                message,
                incoming,
                alert,
            } => {
                if *alert {
                    notify(&app, &desktop, message).await;
                }
                if *incoming {
                    read_if_shown(&app, &desktop, message.conversation_id).await;
                }
                emit(&app, message)
            }
            ClientEvent::FileProgress {
                conversation_id,
                client_id,
                file,
                sent,
                total,
            } => emit(
                &app,
                &UploadProgress {
                    conversation_id: *conversation_id,
                    client_id: *client_id,
                    file: u32::try_from(*file).unwrap_or(u32::MAX),
                    sent: *sent,
                    total: *total,
                },
            ),
            ClientEvent::MessageDiscarded {
                conversation_id,
                client_id,
            } => emit(
                &app,
                &MessageDiscarded {
                    conversation_id: *conversation_id,
                    client_id: *client_id,
                },
            ),
            ClientEvent::HistoryReloaded { conversation_id } => emit(
                &app,
                &OpenConversation {
                    conversation_id: *conversation_id,
                    reload: true,
                },
            ),
            ClientEvent::Typing {
                conversation_id,
                user_id,
                display_name,
                expires_in_ms,
            } => emit(
                &app,
                &Typing {
                    conversation_id: *conversation_id,
                    user_id: *user_id,
                    display_name: display_name.clone(),
                    expires_in_ms: *expires_in_ms,
                },
            ),
            ClientEvent::Call { call } => {
                let desk = app.state::<CallDesk>().inner().clone();
                if let Ok(client) = desktop.client().await {
                    desk.changed(
                        &app,
                        &client,
                        call.clone(),
                        desktop.settings().await.notifications,
                    )
                    .await;
                }
                Ok(())
            }
            ClientEvent::CallStats { stats } => emit(
                &app,
                &CallStatsScreenView {
                    stats: *stats,
                    quality: quality(stats),
                },
            ),
            ClientEvent::Presence {
                user_id,
                online,
                last_seen_at,
            } => emit(
                &app,
                &PresenceChange {
                    user_id: *user_id,
                    online: *online,
                    last_seen_at: *last_seen_at,
                },
            ),
            ClientEvent::SignedOut => {
                desktop.sign_out(&app, true).await;
                return;
            }
        };
        if let Err(error) = emitted {
            tracing::warn!(%error, "event not delivered to the webview");
        }
    }
}

fn main_window_focused(app: &AppHandle) -> bool {
    app.get_webview_window("main")
        .and_then(|window| Some(window.is_focused().ok()? && window.is_visible().ok()?))
        .unwrap_or(false)
}

/// The conversation on screen in a focused window is read as messages arrive.
async fn read_if_shown(
    app: &AppHandle,
    desktop: &Desktop,
    conversation_id: natter_protocol::ConversationId,
) {
    if desktop.shown_conversation().await == Some(conversation_id)
        && main_window_focused(app)
        && let Ok(client) = desktop.client().await
        && let Err(error) = client.mark_read(conversation_id).await
    {
        tracing::debug!(%error, "not marked read");
    }
}

/// A new message raises a notification unless the user is looking at the window.
async fn notify(app: &AppHandle, desktop: &Desktop, message: &natter_client::view::MessageView) {
    if desktop.settings().await.notifications && !main_window_focused(app) {
        crate::notifications::show(app, message);
    }
}
