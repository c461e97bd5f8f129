//! Binds each `natter://…` event's name to its payload type, in one list that the app's
//! [`emit`](crate::page_events::emit) and the generated TypeScript (`ipc_contract.rs`) both use.
//! Nothing imports this module: it only implements [`PageEvent`], so it may name every view
//! without making the modules that emit events depend on each other.

use natter_client::view::{ConversationView, MessageView};

use crate::{
    call_view::{CallScreenView, CallStatsScreenView},
    connection::ConnectionView,
    desktop::AppStateView,
    file_desk::{DownloadView, FileDrag, FilesStaged, UploadProgress},
    links::{CallOffer, InviteOffer},
    page_events::{
        ConversationRemoved, MessageDiscarded, MicLevel, OpenConversation, PageEvent,
        PresenceChange, Typing,
    },
    updates::UpdateView,
};

macro_rules! page_events {
    ($($name:literal => $payload:ty,)*) => {
        $(impl PageEvent for $payload {
            const NAME: &'static str = $name;
        })*

        /// Every event, for the generated TypeScript: `(name, payload type)`.
        #[cfg(test)]
        pub fn visit_all(visitor: &mut impl crate::page_events::EventVisitor) {
            $(visitor.event::<$payload>();)*
        }
    };
}

page_events! {
    "natter://state" => AppStateView,
    "natter://connection" => ConnectionView,
    "natter://conversation" => ConversationView,
    "natter://conversation-removed" => ConversationRemoved,
    "natter://message" => MessageView,
    "natter://message-discarded" => MessageDiscarded,
    "natter://typing" => Typing,
    "natter://presence" => PresenceChange,
    "natter://open-conversation" => OpenConversation,
    "natter://offer-call" => CallOffer,
    "natter://invite" => InviteOffer,
    "natter://update" => UpdateView,
    "natter://call" => CallScreenView,
    "natter://call-stats" => CallStatsScreenView,
    "natter://mic-level" => MicLevel,
    "natter://upload-progress" => UploadProgress,
    "natter://download" => DownloadView,
    "natter://file-drag" => FileDrag,
    "natter://files-staged" => FilesStaged,
}
