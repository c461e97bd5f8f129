//! OS notifications for new messages, incoming calls and missed calls. Activating a message's
//! brings the window back and opens that conversation (`natter://open-conversation` without
//! `reload`, docs/desktop-ipc.md); an incoming call's has Accept and Decline, and becomes the
//! missed call's when nobody answers (or goes away when somebody does).
//!
//! On Linux and the BSDs the notification goes straight to the freedesktop notification server
//! through notify-rust, because that is the only way to hear which notification was activated
//! (tauri-plugin-notification has no activation callback there). On Windows notify-rust shows
//! a toast under the app's own identity (`org.natter.desktop`, registered by the installer or,
//! for a copy run without it, at start), with Accept and Decline on an incoming call; a toast
//! cannot be withdrawn, so an answered call's stays until it times out. On macOS messages go
//! through the notification plugin and an incoming call is an alert with Accept and Decline
//! (mac-notification-sys), which cannot be withdrawn either. A late press on either answers
//! nothing: buttons act only on the call they announced, while it is still the current one.

use natter_client::view::MessageView;
use natter_protocol::{CallKind, ConversationId};
use tauri::AppHandle;

use crate::{call_alerts::Answer, call_view::CallScreenView};

/// Longest message preview shown in a notification, in characters.
const PREVIEW_CHARS: usize = 120;

/// What a notification says: the sender as title, the start of the message as body (what it
/// carries, for files sent without a text).
fn content(message: &MessageView) -> (String, String) {
    let files = &message.attachments;
    let body = if !message.body.trim().is_empty() || files.is_empty() {
        preview(&message.body)
    } else if let [file] = files.as_slice() {
        if file.image.is_some() {
            "Sent a picture".to_owned()
        } else {
            preview(&format!("Sent a file: {}", file.name))
        }
    } else if files.iter().all(|file| file.image.is_some()) {
        format!("Sent {} pictures", files.len())
    } else {
        format!("Sent {} files", files.len())
    };
    (message.sender_name.clone(), body)
}

/// The start of a message, cut at a character boundary and marked when cut.
fn preview(body: &str) -> String {
    let mut preview: String = body.chars().take(PREVIEW_CHARS).collect();
    if body.chars().nth(PREVIEW_CHARS).is_some() {
        preview.push('…');
    }
    preview
}

/// Shows a new message's notification.
pub fn show(app: &AppHandle, message: &MessageView) {
    let (title, body) = content(message);
    show_text(
        app,
        title,
        body,
        Some(message.conversation_id),
        "im.received",
    );
}

fn call_kind(kind: CallKind) -> &'static str {
    match kind {
        CallKind::Voice => "voice call",
        CallKind::Video => "video call",
    }
}

/// Runs `wait` on a thread of its own. Waiting for the user's answer to a notification blocks
/// until it is activated or closed, which may be never (a notification server that keeps them):
/// on Tokio's blocking pool, enough unanswered notifications would leave no thread to open a
/// sound card or a camera.
#[cfg(any(windows, all(unix, not(target_os = "macos"))))]
fn waiting_thread(wait: impl FnOnce() + Send + 'static) {
    let spawned = std::thread::Builder::new()
        .name("notification".to_owned())
        .spawn(wait);
    if let Err(error) = spawned {
        tracing::warn!(%error, "notification not shown: no thread for it");
    }
}

/// A notification with what every system's notify-rust takes: the app's name (Linux) or identity
/// (Windows), a title and a text.
#[cfg(any(windows, all(unix, not(target_os = "macos"))))]
fn notification(title: &str, body: &str) -> notify_rust::Notification {
    let mut notification = notify_rust::Notification::new();
    notification.appname("Natter").summary(title).body(body);
    #[cfg(windows)]
    notification.app_id(crate::identity::APP_IDENTIFIER);
    notification
}

/// Whether the user clicked the notification itself (not one of its buttons): "default" on
/// Linux, where Open is the default action; the body on Windows.
#[cfg(any(windows, all(unix, not(target_os = "macos"))))]
fn is_click(response: &notify_rust::NotificationResponse) -> bool {
    match response {
        notify_rust::NotificationResponse::Default => true,
        notify_rust::NotificationResponse::Action(action) => action == "default",
        _ => false,
    }
}

#[cfg(any(windows, all(unix, not(target_os = "macos"))))]
fn show_text(
    app: &AppHandle,
    title: String,
    body: String,
    conversation_id: Option<ConversationId>,
    _category: &'static str,
) {
    let app = app.clone();
    waiting_thread(move || {
        #[cfg_attr(windows, expect(unused_mut, reason = "only Linux adds to it"))]
        let mut notification = notification(&title, &body);
        // The freedesktop server shows the default action as a click on the notification.
        #[cfg(unix)]
        notification
            .action("default", "Open")
            .hint(notify_rust::Hint::Category(_category.to_owned()));
        let handle = match notification.show() {
            Ok(handle) => handle,
            Err(error) => {
                tracing::warn!(%error, "notification not shown");
                return;
            }
        };
        let waited = handle.wait_for_response(|response: &notify_rust::NotificationResponse| {
            if is_click(response) {
                crate::tray::show_main_window(&app);
                let Some(conversation_id) = conversation_id else {
                    return;
                };
                let opened = crate::page_events::emit(
                    &app,
                    &crate::page_events::OpenConversation::show(conversation_id),
                );
                if let Err(error) = opened {
                    tracing::warn!(%error, "conversation not opened from the notification");
                }
            }
        });
        if let Err(error) = waited {
            tracing::debug!(%error, "no answer to the notification");
        }
    });
}

#[cfg(target_os = "macos")]
fn show_text(
    app: &AppHandle,
    title: String,
    body: String,
    _conversation_id: Option<ConversationId>,
    _category: &'static str,
) {
    use tauri_plugin_notification::NotificationExt;

    let shown = app.notification().builder().title(title).body(body).show();
    if let Err(error) = shown {
        tracing::warn!(%error, "notification not shown");
    }
}

/// Where an incoming call's buttons go: intents for the call desk, which answers only a call
/// that still rings.
pub type Answers = Box<dyn Fn(Answer) + Send + 'static>;

/// An incoming call's notification, while it is shown.
pub struct Shown {
    /// The freedesktop server's id, to replace or withdraw it.
    #[cfg(all(unix, not(target_os = "macos")))]
    id: u32,
}

/// The title and text of a missed call's notification.
fn missed_text(call: &CallScreenView) -> (String, String) {
    (
        format!("Missed {}", call_kind(call.call.kind)),
        format!("from {}", call.peer_name),
    )
}

/// Shows the incoming call, with Accept and Decline where the platform has actions.
#[cfg(any(windows, all(unix, not(target_os = "macos"))))]
pub async fn incoming_call(
    app: &AppHandle,
    call: &CallScreenView,
    answers: Answers,
) -> Option<Shown> {
    let title = format!("Incoming {}", call_kind(call.call.kind));
    let body = format!("{} is calling", call.peer_name);
    let video = call.call.kind == CallKind::Video;
    let app = app.clone();
    let (shown, shown_rx) = tokio::sync::oneshot::channel();
    waiting_thread(move || {
        let mut notification = notification(&title, &body);
        // On Linux: stays until answered, replaced when ringing stops. On Windows the longest
        // toast (25 s; the call window stays for as long as it rings): Critical would make it
        // a reminder that outlives the call, and `.hint` does not exist there.
        #[cfg(unix)]
        notification
            .action("default", "Open")
            .urgency(notify_rust::Urgency::Critical)
            .hint(notify_rust::Hint::Category("call.incoming".to_owned()));
        notification
            .action("accept", "Accept")
            .action("decline", "Decline")
            .timeout(notify_rust::Timeout::Never);
        let handle = match notification.show() {
            Ok(handle) => handle,
            Err(error) => {
                tracing::warn!(%error, "incoming call notification not shown");
                let _ = shown.send(None);
                return;
            }
        };
        let _ = shown.send(Some(Shown {
            #[cfg(unix)]
            id: handle.id(),
        }));
        let waited = handle.wait_for_response(|response: &notify_rust::NotificationResponse| {
            let action = match response {
                notify_rust::NotificationResponse::Action(action) => action.as_str(),
                _ if is_click(response) => "default",
                _ => "",
            };
            match action {
                "accept" => answers(Answer::Accept { video }),
                "decline" => answers(Answer::Decline),
                "default" => crate::tray::show_main_window(&app),
                _ => {}
            }
        });
        if let Err(error) = waited {
            tracing::debug!(%error, "no answer to the incoming call's notification");
        }
    });
    shown_rx.await.ok().flatten()
}

#[cfg(target_os = "macos")]
pub async fn incoming_call(
    app: &AppHandle,
    call: &CallScreenView,
    answers: Answers,
) -> Option<Shown> {
    use mac_notification_sys::{MainButton, Notification, NotificationResponse};

    let title = format!("Incoming {}", call_kind(call.call.kind));
    let body = format!("{} is calling", call.peer_name);
    let video = call.call.kind == CallKind::Video;
    let app = app.clone();
    // The notification is an alert (NSUserNotificationAlertStyle in Info.plist), so its
    // buttons stay until pressed; sending it waits for that, hence its own thread.
    let spawned = std::thread::Builder::new()
        .name("call-notification".into())
        .spawn(move || {
            // Under the app's own name; tauri-plugin-notification may have set it already.
            let _ = mac_notification_sys::set_application(crate::identity::APP_IDENTIFIER);
            let response = Notification::new()
                .title(&title)
                .message(&body)
                .main_button(MainButton::SingleAction("Accept"))
                .close_button("Decline")
                .send();
            match response {
                Ok(NotificationResponse::ActionButton(_)) => {
                    answers(Answer::Accept { video });
                }
                Ok(NotificationResponse::CloseButton(_)) => {
                    answers(Answer::Decline);
                }
                Ok(NotificationResponse::Click) => crate::tray::show_main_window(&app),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "incoming call notification not shown"),
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "incoming call notification not shown");
    }
    // macOS cannot withdraw it when ringing stops (a late press answers nothing).
    None
}

/// Ringing stopped: the incoming call's notification becomes the missed call's (when `missed`
/// is given), or goes away (answered here or elsewhere).
#[cfg(all(unix, not(target_os = "macos")))]
pub fn ringing_over(app: &AppHandle, shown: Option<Shown>, missed: Option<&CallScreenView>) {
    match (shown, missed) {
        (Some(shown), Some(call)) => {
            let (title, body) = missed_text(call);
            replace(shown.id, title, body, None);
        }
        (Some(shown), None) => {
            // Replaced by one that expires at once: the notification server takes it away.
            replace(shown.id, "Call answered".to_owned(), String::new(), Some(1));
        }
        (None, Some(call)) => {
            let (title, body) = missed_text(call);
            show_text(app, title, body, call.conversation_id, "call.unanswered");
        }
        (None, None) => {}
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
fn replace(id: u32, title: String, body: String, timeout_ms: Option<u32>) {
    tauri::async_runtime::spawn_blocking(move || {
        let mut notification = notify_rust::Notification::new();
        notification
            .id(id)
            .appname("Natter")
            .summary(&title)
            .body(&body)
            .hint(notify_rust::Hint::Category("call.unanswered".to_owned()));
        if let Some(ms) = timeout_ms {
            notification.timeout(notify_rust::Timeout::Milliseconds(ms));
        }
        if let Err(error) = notification.show() {
            tracing::warn!(%error, "call notification not updated");
        }
    });
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
pub fn ringing_over(app: &AppHandle, _shown: Option<Shown>, missed: Option<&CallScreenView>) {
    if let Some(call) = missed {
        let (title, body) = missed_text(call);
        show_text(app, title, body, call.conversation_id, "call.unanswered");
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

    fn with_files(body: &str, names: &[(&str, bool)]) -> MessageView {
        let id = uuid::Uuid::now_v7();
        MessageView {
            client_id: id,
            id: Some(id),
            conversation_id: id,
            seq: Some(1),
            sender_id: id,
            sender_name: "Bob".into(),
            mine: false,
            body: body.into(),
            created_at: 0,
            edited_at: None,
            deleted_at: None,
            state: natter_client::view::MessageState::Sent,
            error: None,
            call: None,
            reply_to: None,
            reactions: Vec::new(),
            mentioned_usernames: Vec::new(),
            mentions_me: false,
            attachments: names
                .iter()
                .map(|(name, picture)| natter_protocol::Attachment {
                    id,
                    name: (*name).into(),
                    content_type: "application/octet-stream".into(),
                    size: 1,
                    image: picture.then(|| natter_protocol::ImageInfo {
                        width: 1,
                        height: 1,
                        animated: false,
                        thumbnail_url: String::new(),
                    }),
                    url: String::new(),
                })
                .collect(),
            pending_files: Vec::new(),
        }
    }

    #[test]
    fn files_without_a_text_are_announced_by_what_they_are() {
        let body = |message: MessageView| content(&message).1;
        assert_eq!(body(with_files("look", &[("a.jpg", true)])), "look");
        assert_eq!(body(with_files("", &[("a.jpg", true)])), "Sent a picture");
        assert_eq!(
            body(with_files("", &[("plan.pdf", false)])),
            "Sent a file: plan.pdf"
        );
        assert_eq!(
            body(with_files("", &[("a.jpg", true), ("b.jpg", true)])),
            "Sent 2 pictures"
        );
        assert_eq!(
            body(with_files("", &[("a.jpg", true), ("plan.pdf", false)])),
            "Sent 2 files"
        );
    }
}
