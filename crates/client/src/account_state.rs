//! What the client's facade and its session task share of a signed-in account (the REST
//! client, the cache, my profile, who is online, the event and status channels), and the
//! shaping of views from them.

use std::{collections::HashSet, sync::RwLock};

use natter_protocol::{Conversation, ConversationId, Message, User, UserId};
use tokio::sync::{broadcast, watch};

use crate::{
    api::Api,
    cache::{Cache, CacheError},
    client::ClientEvent,
    session::ConnectionStatus,
    view::{self, ConversationView, MessageView},
};

pub(crate) struct AccountState {
    pub api: Api,
    pub cache: Cache,
    pub me: RwLock<User>,
    pub online: RwLock<HashSet<UserId>>,
    pub events: broadcast::Sender<ClientEvent>,
    pub status: watch::Sender<ConnectionStatus>,
}

impl AccountState {
    pub fn emit(&self, event: ClientEvent) {
        // No subscriber is fine: the cache has the state.
        let _ = self.events.send(event);
    }

    pub fn online_snapshot(&self) -> HashSet<UserId> {
        self.online
            .read()
            .map(|online| online.clone())
            .unwrap_or_default()
    }

    pub fn me(&self) -> User {
        self.me
            .read()
            .map(|me| me.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    pub async fn set_me(&self, user: &User) -> Result<(), CacheError> {
        if let Ok(mut me) = self.me.write() {
            *me = user.clone();
        }
        self.cache.set_me(user).await
    }

    pub async fn conversation_view(
        &self,
        conversation: &Conversation,
    ) -> Result<ConversationView, CacheError> {
        let receipts = self.cache.receipts(conversation.id).await?;
        let me = self.me();
        let online = self.online_snapshot();
        Ok(view::conversation_view(
            conversation,
            &view::Context {
                me: &me,
                online: &online,
                receipts: &receipts,
            },
        ))
    }

    pub async fn message_view(&self, message: &Message) -> Result<Option<MessageView>, CacheError> {
        let Some(conversation) = self.cache.conversation(message.conversation_id).await? else {
            return Ok(None);
        };
        let receipts = self.cache.receipts(conversation.id).await?;
        let me = self.me();
        let online = self.online_snapshot();
        let context = view::Context {
            me: &me,
            online: &online,
            receipts: &receipts,
        };
        let read_up_to = view::read_by_all_up_to(&conversation, &context);
        Ok(Some(view::message_view(
            message,
            &conversation,
            &context,
            read_up_to,
        )))
    }

    pub async fn emit_conversation(&self, id: ConversationId) -> Result<(), CacheError> {
        if let Some(conversation) = self.cache.conversation(id).await? {
            let conversation = self.conversation_view(&conversation).await?;
            self.emit(ClientEvent::Conversation { conversation });
        }
        Ok(())
    }
}
