//! The facade's conversations and messages: lists, history pages (cache first, then the
//! server), sending through the outbox, edits, deletions, read marks, typing and search.

use std::time::{SystemTime, UNIX_EPOCH};

use natter_protocol::{
    ClientMessageId, Conversation, ConversationId, CreateConversationRequest, Message, MessageId,
    Seq, Timestamp, User, UserId, limits,
};

use super::{Client, ClientError, ClientEvent, PAGE_SIZE};
use crate::cache::CacheError;
use crate::{
    api::HistoryPage,
    session::OutgoingMessage,
    session_shell::Command,
    view::{self, ConversationView, MessagePageView, MessageView},
};

fn now_ms() -> Timestamp {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as Timestamp)
        .unwrap_or(0)
}

impl Client {
    pub async fn conversations(&self) -> Result<Vec<ConversationView>, ClientError> {
        let conversations = self.shared.cache.conversations().await?;
        let mut views = Vec::with_capacity(conversations.len());
        for conversation in &conversations {
            views.push(self.shared.conversation_view(conversation).await?);
        }
        Ok(views)
    }

    pub async fn conversation(&self, id: ConversationId) -> Result<ConversationView, ClientError> {
        let conversation = self
            .shared
            .cache
            .conversation(id)
            .await?
            .ok_or(CacheError::UnknownConversation(id))?;
        Ok(self.shared.conversation_view(&conversation).await?)
    }

    /// A page of history, oldest first: the newest when `before` is `None`, else the messages
    /// before that seq. Served from the cache, fetched from the server when the cache does
    /// not hold it. The newest page ends with the messages still in the outbox.
    pub async fn history(
        &self,
        id: ConversationId,
        before: Option<Seq>,
    ) -> Result<MessagePageView, ClientError> {
        let cache = &self.shared.cache;
        let conversation = cache
            .conversation(id)
            .await?
            .ok_or(CacheError::UnknownConversation(id))?;
        let mut from = cache.history_from(id).await?;
        let cached = cache.messages_before(id, before, PAGE_SIZE).await?;
        let needs_fetch = match from {
            None => true,
            Some(0) => false,
            Some(from) => {
                (cached.len() as u32) < PAGE_SIZE && before.is_none_or(|b| b > 1) && from > 1
            }
        };
        if needs_fetch {
            let page = match (from, before) {
                (None, None) => HistoryPage::Newest,
                (None, Some(before)) => HistoryPage::Before(before),
                (Some(from), before) => HistoryPage::Before(before.map_or(from, |b| b.min(from))),
            };
            match self.shared.api.messages(id, page, PAGE_SIZE).await {
                Ok(fetched) => {
                    let complete_from = if fetched.has_more {
                        fetched.messages.first().map_or(0, |m| m.seq)
                    } else {
                        0
                    };
                    cache
                        .store_history(id, &fetched.messages, complete_from)
                        .await?;
                    from = Some(complete_from);
                }
                Err(error) if error.is_retryable() => {
                    tracing::debug!(%error, "history not fetched; showing the cache");
                }
                Err(error) => return Err(error.into()),
            }
        }
        let messages = cache.messages_before(id, before, PAGE_SIZE).await?;
        let receipts = cache.receipts(id).await?;
        let me = self.me();
        let online = self.shared.online_snapshot();
        let originals = self.shared.originals(&messages).await?;
        let context = view::Context {
            me: &me,
            online: &online,
            receipts: &receipts,
            originals: &originals,
        };
        let read_up_to = view::read_by_all_up_to(&conversation, &context);
        let has_more = match from {
            Some(0) => messages.first().is_some_and(|first| {
                // Everything is cached: more exist only if the page was full.
                messages.len() as u32 == PAGE_SIZE && first.seq > 1
            }),
            _ => true,
        };
        let mut views: Vec<MessageView> = messages
            .iter()
            .map(|message| view::message_view(message, &conversation, &context, read_up_to))
            .collect();
        if before.is_none() {
            for entry in cache.outbox(Some(id)).await? {
                if views
                    .iter()
                    .all(|view| view.client_id != entry.message.client_id)
                {
                    views.push(view::pending_view(&entry, &me));
                }
            }
        }
        Ok(MessagePageView {
            messages: views,
            has_more,
        })
    }

    /// Writes a message to the outbox (on disk) and hands it to the session, which sends it
    /// as soon as the server is reachable. `reply_to`: the message it answers.
    pub async fn send(
        &self,
        id: ConversationId,
        body: &str,
        reply_to: Option<MessageId>,
    ) -> Result<MessageView, ClientError> {
        self.send_files(id, body, reply_to, Vec::new()).await
    }

    /// [`send`](Self::send) with files: they are uploaded before the message (resuming after
    /// a cut or a restart), in the outbox's order. The text may be empty when there are files.
    pub async fn send_files(
        &self,
        id: ConversationId,
        body: &str,
        reply_to: Option<MessageId>,
        files_to_send: Vec<crate::files::FileToSend>,
    ) -> Result<MessageView, ClientError> {
        if files_to_send.len() > limits::ATTACHMENTS_MAX_PER_MESSAGE {
            return Err(ClientError::Invalid(format!(
                "a message can carry at most {} files",
                limits::ATTACHMENTS_MAX_PER_MESSAGE
            )));
        }
        let body = if files_to_send.is_empty() || !body.trim().is_empty() {
            validate_body(body)?
        } else {
            String::new()
        };
        if self.shared.cache.conversation(id).await?.is_none() {
            return Err(CacheError::UnknownConversation(id).into());
        }
        let mut files = Vec::with_capacity(files_to_send.len());
        for file in files_to_send {
            let path = &file.path;
            let metadata = std::fs::metadata(path)
                .map_err(|error| ClientError::Invalid(format!("{}: {error}", path.display())))?;
            if !metadata.is_file() {
                return Err(ClientError::Invalid(format!(
                    "{} is not a file",
                    path.display()
                )));
            }
            // The outbox keeps the path: it must still lead to the file after a restart.
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            files.push(crate::session::OutgoingFile {
                name: file
                    .name
                    .filter(|name| !name.trim().is_empty())
                    .unwrap_or_else(|| crate::files::file_name(&path)),
                size: metadata.len(),
                path,
                upload: None,
                attachment: None,
                owned: file.owned,
            });
        }
        let message = OutgoingMessage {
            client_id: uuid::Uuid::now_v7(),
            conversation_id: id,
            body,
            reply_to,
            files,
        };
        let created_at = now_ms();
        self.shared.cache.outbox_push(&message, created_at).await?;
        let entry = crate::cache::OutboxEntry {
            message: message.clone(),
            created_at,
            failed: None,
        };
        let view = view::pending_view(&entry, &self.me());
        self.shared.emit(ClientEvent::Message {
            message: view.clone(),
            incoming: false,
            alert: false,
        });
        self.commands
            .send(Command::Queue(message))
            .map_err(|_| ClientError::Stopped)?;
        Ok(view)
    }

    pub async fn edit(
        &self,
        id: ConversationId,
        message_id: MessageId,
        body: &str,
    ) -> Result<(), ClientError> {
        let body = validate_body(body)?;
        self.shared.api.edit_message(id, message_id, &body).await?;
        Ok(())
    }

    pub async fn delete(
        &self,
        id: ConversationId,
        message_id: MessageId,
    ) -> Result<(), ClientError> {
        self.shared.api.delete_message(id, message_id).await?;
        Ok(())
    }

    /// Adds (`add`) or takes back my `emoji` reaction to a message; answers with the message as
    /// the server had it then. The cache and the app change with the event that follows (in
    /// order with every other change of the message; storing this answer could undo a later
    /// edit or delete that overtook it).
    pub async fn react(
        &self,
        id: ConversationId,
        message_id: MessageId,
        emoji: &str,
        add: bool,
    ) -> Result<MessageView, ClientError> {
        let message = self
            .shared
            .api
            .set_reaction(id, message_id, emoji, add)
            .await?;
        Ok(self
            .shared
            .message_view(&message)
            .await?
            .ok_or(CacheError::UnknownConversation(id))?)
    }

    /// Mutes (no notifications unless I am mentioned) or unmutes a conversation, on all my
    /// devices.
    pub async fn mute_conversation(
        &self,
        id: ConversationId,
        muted: bool,
    ) -> Result<(), ClientError> {
        self.shared.api.set_muted(id, muted).await?;
        self.shared.cache.set_muted(id, muted).await?;
        self.shared.emit_conversation(id).await?;
        Ok(())
    }

    /// One message of a conversation (the original of a reply), from the cache or the server.
    pub async fn message(
        &self,
        id: ConversationId,
        message_id: MessageId,
    ) -> Result<MessageView, ClientError> {
        let message = match self.shared.cache.message(message_id).await? {
            Some(message) if message.conversation_id == id => message,
            _ => self.shared.api.message(id, message_id).await?,
        };
        Ok(self
            .shared
            .message_view(&message)
            .await?
            .ok_or(CacheError::UnknownConversation(id))?)
    }

    /// A message by id: from the cache, else from the server, looking in my conversations.
    pub async fn find_message(&self, message_id: MessageId) -> Result<Message, ClientError> {
        if let Some(message) = self.shared.cache.message(message_id).await? {
            return Ok(message);
        }
        for conversation in self.shared.cache.conversations().await? {
            match self.shared.api.message(conversation.id, message_id).await {
                Ok(message) => return Ok(message),
                Err(error) if error.is_not_found() => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ClientError::Invalid(format!(
            "no message {message_id} in my conversations"
        )))
    }

    /// Downloads an attachment to `destination` (resuming a part left by an earlier try);
    /// answers where it is (another free name if one took `destination` meanwhile).
    pub async fn download(
        &self,
        attachment: &natter_protocol::Attachment,
        destination: &std::path::Path,
        progress: impl Fn(u64, u64),
    ) -> Result<std::path::PathBuf, crate::files::FileError> {
        crate::files::download(&self.shared.api, attachment, destination, progress).await
    }

    /// Where the files of my queued messages are on this device (to keep the app's copies of
    /// them while they wait).
    pub async fn queued_files(&self) -> Result<Vec<std::path::PathBuf>, ClientError> {
        Ok(self
            .shared
            .cache
            .outbox(None)
            .await?
            .into_iter()
            .flat_map(|entry| entry.message.files)
            .map(|file| file.path)
            .collect())
    }

    /// Gives up on a message of mine not sent yet, whatever its state (waiting, uploading its
    /// files, refused): it leaves the outbox, its uploads are cancelled, and a
    /// `MessageDiscarded` event follows. One the server stored meanwhile shows as sent.
    pub fn discard(&self, client_id: ClientMessageId) -> Result<(), ClientError> {
        self.commands
            .send(Command::Discard(client_id))
            .map_err(|_| ClientError::Stopped)
    }

    /// Marks the conversation read up to its newest message.
    pub async fn mark_read(&self, id: ConversationId) -> Result<(), ClientError> {
        let Some(conversation) = self.shared.cache.conversation(id).await? else {
            return Ok(());
        };
        let Some(last) = conversation.last_message.as_ref() else {
            return Ok(());
        };
        if conversation.unread_count == 0 && conversation.read_seq >= last.seq {
            return Ok(());
        }
        let state = self.shared.api.mark_read(id, last.id).await?;
        if let Some(updated) = self
            .shared
            .cache
            .set_read(id, state.read_seq, state.unread_count)
            .await?
        {
            let conversation = self.shared.conversation_view(&updated).await?;
            self.shared.emit(ClientEvent::Conversation { conversation });
        }
        Ok(())
    }

    /// "I am typing": sent over the WebSocket at most once a second per conversation.
    pub fn typing(&self, id: ConversationId) {
        let _ = self.commands.send(Command::Typing(id));
    }

    pub async fn search_users(&self, query: &str) -> Result<Vec<User>, ClientError> {
        Ok(self.shared.api.search_users(query, 20).await?.users)
    }

    pub async fn search_messages(&self, query: &str) -> Result<Vec<Message>, ClientError> {
        Ok(self.shared.api.search_messages(query, 50).await?.messages)
    }

    pub async fn start_direct(&self, user_id: UserId) -> Result<ConversationView, ClientError> {
        let conversation = self
            .shared
            .api
            .create_conversation(&CreateConversationRequest::Direct { user_id })
            .await?;
        self.adopt(conversation).await
    }

    pub async fn create_group(
        &self,
        name: &str,
        member_ids: Vec<UserId>,
    ) -> Result<ConversationView, ClientError> {
        let conversation = self
            .shared
            .api
            .create_conversation(&CreateConversationRequest::Group {
                name: name.trim().to_owned(),
                member_ids,
            })
            .await?;
        self.adopt(conversation).await
    }

    /// Caches a conversation the server just returned, so it can be shown before its first
    /// event arrives.
    async fn adopt(&self, conversation: Conversation) -> Result<ConversationView, ClientError> {
        self.shared
            .cache
            .store_conversation(&conversation, None)
            .await?;
        let view = self.shared.conversation_view(&conversation).await?;
        self.shared.emit(ClientEvent::Conversation {
            conversation: view.clone(),
        });
        Ok(view)
    }
}

fn validate_body(body: &str) -> Result<String, ClientError> {
    if body.trim().is_empty() {
        return Err(ClientError::Invalid("a message cannot be empty".into()));
    }
    if body.chars().count() > limits::MESSAGE_MAX_CHARS || body.len() > limits::MESSAGE_MAX_BYTES {
        return Err(ClientError::Invalid(format!(
            "a message can have at most {} characters",
            limits::MESSAGE_MAX_CHARS
        )));
    }
    Ok(body.to_owned())
}
