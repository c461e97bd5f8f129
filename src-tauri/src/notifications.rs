//! OS notifications for new messages. Activating one brings the window back and opens that
//! conversation (`natter://open-conversation` without `reload`, docs/desktop-ipc.md).
//!
//! On Linux and the BSDs the notification goes straight to the freedesktop notification server
//! through notify-rust, because that is the only way to hear which notification was activated
//! (tauri-plugin-notification has no activation callback there). Elsewhere the notification
//! plugin shows it and activation just brings the app to the front.

use natter_client::view::MessageView;
use tauri::AppHandle;

/// Longest message preview shown in a notification, in characters.
const PREVIEW_CHARS: usize = 120;

/// What a notification says: the sender as title, the start of the message as body.
fn content(message: &MessageView) -> (String, String) {
    (message.sender_name.clone(), preview(&message.body))
}

/// The start of a message, cut at a character boundary and marked when cut.
fn preview(body: &str) -> String {
    let mut preview: String = body.chars().take(PREVIEW_CHARS).collect();
    if body.chars().nth(PREVIEW_CHARS).is_some() {
        preview.push('…');
    }
    preview
}

#[cfg(all(unix, not(target_os = "macos")))]
pub fn show(app: &AppHandle, message: &MessageView) {
    use tauri::Emitter;

    let (title, body) = content(message);
    let conversation_id = message.conversation_id;
    let app = app.clone();
    // Waiting for the user's answer blocks a thread until the notification is activated or
    // closed (the notification server closes it when it expires).
    tauri::async_runtime::spawn_blocking(move || {
        let shown = notify_rust::Notification::new()
            .appname("Natter")
            .summary(&title)
            .body(&body)
            .action("default", "Open")
            .hint(notify_rust::Hint::Category("im.received".to_owned()))
            .show();
        let handle = match shown {
            Ok(handle) => handle,
            Err(error) => {
                tracing::warn!(%error, "notification not shown");
                return;
            }
        };
        handle.wait_for_action(|action| {
            if action == "default" {
                crate::tray::show_main_window(&app);
                let opened = app.emit(
                    "natter://open-conversation",
                    serde_json::json!({ "conversation_id": conversation_id }),
                );
                if let Err(error) = opened {
                    tracing::warn!(%error, "conversation not opened from the notification");
                }
            }
        });
    });
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
pub fn show(app: &AppHandle, message: &MessageView) {
    use tauri_plugin_notification::NotificationExt;

    let (title, body) = content(message);
    let shown = app.notification().builder().title(title).body(body).show();
    if let Err(error) = shown {
        tracing::warn!(%error, "notification not shown");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_bodies_are_cut_at_a_character() {
        assert_eq!(preview("hello"), "hello");
        let long = "é".repeat(PREVIEW_CHARS + 5);
        let cut = preview(&long);
        assert_eq!(cut.chars().count(), PREVIEW_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(
            preview(&"a".repeat(PREVIEW_CHARS)).chars().count(),
            PREVIEW_CHARS
        );
    }
}
