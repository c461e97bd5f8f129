//! What the client's facade and its session task share of a signed-in account (the REST
//! client, the cache, my profile, who is online, the event and status channels), and the
//! shaping of views from them.

use std::{
    collections::{HashMap, HashSet},
    sync::{Mutex, RwLock},
};

use natter_protocol::{Conversation, ConversationId, Message, MessageId, User, UserId};
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
    /// Originals of replies fetched from the server because the cache had not got them
    /// (older than the history loaded), `None` for those the server would not give (from
    /// before I joined); the cache, kept current by events, is asked first. An edit or delete
    /// of one, and a reload, forget it.
    pub fetched_originals: Mutex<HashMap<MessageId, Option<Message>>>,
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

    /// The originals of the replies among `messages`, as far as they can be loaded: from the
    /// cache, else from what was fetched before, else from the server.
    pub async fn originals(
        &self,
        messages: &[Message],
    ) -> Result<HashMap<MessageId, Message>, CacheError> {
        /// Fetched originals kept in memory at most; past it the memory starts over.
        const FETCHED_MAX: usize = 1_000;
        let mut originals = HashMap::new();
        // Once the server is unreachable, this view does without the originals it lacks.
        let mut reachable = true;
        for message in messages {
            let Some(id) = message.reply_to else { continue };
            if originals.contains_key(&id) {
                continue;
            }
            if let Some(original) = self.cache.message(id).await? {
                originals.insert(id, original);
                continue;
            }
            let remembered = self
                .fetched_originals
                .lock()
                .ok()
                .and_then(|fetched| fetched.get(&id).cloned());
            match remembered {
                Some(Some(original)) => {
                    originals.insert(id, original);
                    continue;
                }
                Some(None) => continue,
                None if !reachable => continue,
                None => {}
            }
            let fetched = match self.api.message(message.conversation_id, id).await {
                Ok(original) => Some(original),
                Err(error) if error.is_retryable() => {
                    tracing::debug!(%error, "the original of a reply was not loaded");
                    reachable = false;
                    continue;
                }
                Err(error) => {
                    tracing::debug!(%error, "the original of a reply is not to be had");
                    None
                }
            };
            if let Ok(mut memory) = self.fetched_originals.lock() {
                if memory.len() >= FETCHED_MAX {
                    memory.clear();
                }
                memory.insert(id, fetched.clone());
            }
            if let Some(original) = fetched {
                originals.insert(id, original);
            }
        }
        Ok(originals)
    }

    /// Forgets fetched originals: one that changed (`Some`), or all (a reload).
    pub fn forget_originals(&self, changed: Option<MessageId>) {
        if let Ok(mut memory) = self.fetched_originals.lock() {
            match changed {
                Some(id) => {
                    memory.remove(&id);
                }
                None => memory.clear(),
            }
        }
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
                originals: &HashMap::new(),
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
        let originals = self.originals(std::slice::from_ref(message)).await?;
        let context = view::Context {
            me: &me,
            online: &online,
            receipts: &receipts,
            originals: &originals,
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
