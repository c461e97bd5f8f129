//! The events this app sends the page (`natter://…`, docs/desktop-ipc.md) go through [`emit`],
//! which takes only a [`PageEvent`]: a payload type bound to its event's name in
//! `page_event_names.rs`. The page's TypeScript (`ui/src/generated/ipc.ts`, see
//! `ipc_contract.rs`) is generated from that same list, so what the app sends and the type the
//! page expects cannot drift apart. The payloads that are not views of their own are here.

use natter_protocol::{ClientMessageId, ConversationId, Timestamp, UserId};
use serde::Serialize;
use tauri::{AppHandle, Emitter};

/// A payload the page receives as the event [`PageEvent::NAME`]. Implemented only by the list
/// in `page_event_names.rs`.
pub trait PageEvent: Serialize + ts_rs::TS + 'static {
    const NAME: &'static str;
}

/// Is shown every event's payload type (the generated TypeScript lists them).
#[cfg(test)]
pub trait EventVisitor {
    fn event<E: PageEvent>(&mut self);
}

/// Sends the page one event.
pub fn emit<E: PageEvent>(app: &AppHandle, payload: &E) -> tauri::Result<()> {
    app.emit(E::NAME, payload)
}

/// A conversation I left or was removed from.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ConversationRemoved {
    pub conversation_id: ConversationId,
}

/// A message not sent yet that the user discarded (waiting, uploading or refused).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct MessageDiscarded {
    pub conversation_id: ConversationId,
    pub client_id: ClientMessageId,
}

/// Show this conversation: a notification or a link was followed. With `reload`, the
/// conversation's history was reloaded instead (not a request to navigate): the page reloads
/// it if it is the one shown.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct OpenConversation {
    pub conversation_id: ConversationId,
    pub reload: bool,
}

impl OpenConversation {
    pub fn show(conversation_id: ConversationId) -> Self {
        Self {
            conversation_id,
            reload: false,
        }
    }
}

/// Someone is typing; the indicator goes away after `expires_in_ms` unless renewed.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Typing {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub display_name: String,
    pub expires_in_ms: i64,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct PresenceChange {
    pub user_id: UserId,
    pub online: bool,
    pub last_seen_at: Option<Timestamp>,
}

/// The device test's microphone: 0…1, the peak of the last 60 ms (three 20 ms frames).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct MicLevel {
    pub level: f64,
}
