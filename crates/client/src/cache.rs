//! The local cache: a SQLite file per signed-in account holding conversations, recent
//! history, read positions, realtime cursors and the outbox.
//!
//! Applying an event and moving its conversation's cursor happen in one transaction, so after a
//! crash the cursor never claims an event that was not stored. The outbox row is written before
//! the session hears of the message, so a message the user wrote survives any exit.

use std::{collections::BTreeMap, path::Path, str::FromStr};

use natter_protocol::{
    ClientMessageId, Conversation, ConversationId, Event, Message, MessageId, Seq, Timestamp, User,
    UserId,
};
use sqlx::{
    Row, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use uuid::Uuid;

use crate::{session::OutgoingMessage, sync};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("local cache: {0}")]
    Database(#[from] sqlx::Error),
    #[error("local cache migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("local cache holds unreadable data: {0}")]
    Corrupt(String),
    #[error("conversation {0} is not in the local cache")]
    UnknownConversation(ConversationId),
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub message: OutgoingMessage,
    pub created_at: Timestamp,
    /// The server's reason, when it refused the message for good.
    pub failed: Option<String>,
}

/// What [`Cache::apply`] did.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub message: Option<Message>,
    pub left: bool,
    pub refetch: bool,
    pub receipt: Option<(UserId, Seq)>,
}

#[derive(Debug, Clone)]
pub struct Cache {
    pool: SqlitePool,
}

fn corrupt(error: impl std::fmt::Display) -> CacheError {
    CacheError::Corrupt(error.to_string())
}

fn uuid(text: &str) -> Result<Uuid, CacheError> {
    Uuid::from_str(text).map_err(corrupt)
}

fn json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, CacheError> {
    serde_json::from_str(text).map_err(corrupt)
}

fn to_json(value: &impl serde::Serialize) -> Result<String, CacheError> {
    serde_json::to_string(value).map_err(corrupt)
}

impl Cache {
    /// Opens (creating if needed) the cache file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Cache, CacheError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| corrupt(format!("cannot create {}: {error}", parent.display())))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // The outbox must survive a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Cache { pool })
    }

    /// A write transaction. `BEGIN IMMEDIATE` takes the write lock at the start, so concurrent
    /// writers (the session task and a command) wait on the busy timeout instead of one failing
    /// with SQLITE_BUSY when its read turns into a write.
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn me(&self) -> Result<Option<User>, CacheError> {
        let row = sqlx::query("SELECT value FROM account WHERE key = 'me'")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| json(row.get::<&str, _>(0))).transpose()
    }

    pub async fn set_me(&self, user: &User) -> Result<(), CacheError> {
        sqlx::query(
            "INSERT INTO account (key, value) VALUES ('me', ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(to_json(user)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The realtime cursor of every cached conversation.
    pub async fn cursors(&self) -> Result<BTreeMap<ConversationId, Seq>, CacheError> {
        let rows = sqlx::query("SELECT id, cursor FROM conversations")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((uuid(row.get(0))?, row.get::<i64, _>(1))))
            .collect()
    }

    /// Every cached conversation, most recent activity first.
    pub async fn conversations(&self) -> Result<Vec<Conversation>, CacheError> {
        let rows = sqlx::query("SELECT snapshot FROM conversations ORDER BY last_activity_at DESC")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| json(row.get(0))).collect()
    }

    pub async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<Conversation>, CacheError> {
        let row = sqlx::query("SELECT snapshot FROM conversations WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| json(row.get(0))).transpose()
    }

    /// Stores a conversation as the server just described it. A new conversation starts its
    /// cursor at `cursor` (or at the snapshot's `last_seq`); a known one keeps its cursor,
    /// which only applied events move, unless `cursor` is given.
    pub async fn store_conversation(
        &self,
        conversation: &Conversation,
        cursor: Option<Seq>,
    ) -> Result<(), CacheError> {
        let mut tx = self.write().await?;
        let existing = sqlx::query("SELECT snapshot FROM conversations WHERE id = ?")
            .bind(conversation.id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let mut snapshot = conversation.clone();
        if let Some(row) = existing {
            let cached: Conversation = json(row.get(0))?;
            // The cache may already be ahead (events applied after the server built this
            // answer): keep the newer picture.
            if cached.last_seq > snapshot.last_seq {
                snapshot = Conversation {
                    members: snapshot.members,
                    // Muting has no seq: the server's answer says it as it is now.
                    muted: snapshot.muted,
                    ..cached
                };
            }
        }
        sqlx::query(
            "INSERT INTO conversations (id, snapshot, last_activity_at, cursor) VALUES (?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot,
                 last_activity_at = excluded.last_activity_at,
                 cursor = CASE WHEN ? THEN excluded.cursor ELSE conversations.cursor END",
        )
        .bind(snapshot.id.to_string())
        .bind(to_json(&snapshot)?)
        .bind(snapshot.last_activity_at)
        .bind(cursor.unwrap_or(snapshot.last_seq))
        .bind(cursor.is_some())
        .execute(&mut *tx)
        .await?;
        // Read positions only move forward; the server's may be behind receipts already seen.
        for position in &conversation.read_positions {
            upsert_receipt(
                &mut tx,
                conversation.id,
                position.user_id,
                position.read_seq,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Applies a durable event and moves the conversation's cursor to it, atomically.
    pub async fn apply(&self, event: &Event, me: UserId) -> Result<Applied, CacheError> {
        let conversation_id = event.conversation_id;
        let mut tx = self.write().await?;
        let row = sqlx::query("SELECT snapshot FROM conversations WHERE id = ?")
            .bind(conversation_id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(CacheError::UnknownConversation(conversation_id))?;
        let mut snapshot: Conversation = json(row.get(0))?;
        let effect = sync::apply(&mut snapshot, event, me);
        if effect.left {
            sqlx::query("DELETE FROM conversations WHERE id = ?")
                .bind(conversation_id.to_string())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(Applied {
                left: true,
                ..Applied::default()
            });
        }
        let mut message = effect.message.clone();
        if let Some(change) = &effect.reaction
            && let Some(mut stored) = stored_message(&mut tx, change.message_id).await?
        {
            stored.apply_reaction(change.user_id, &change.emoji, change.added);
            message = Some(stored);
        }
        if let Some(message) = &message {
            upsert_message(&mut tx, message).await?;
        }
        if let Some((user_id, read_seq)) = effect.receipt {
            upsert_receipt(&mut tx, conversation_id, user_id, read_seq).await?;
        }
        let mut refetch = effect.refetch;
        if effect.recount_unread {
            let history_from: Option<i64> =
                sqlx::query_scalar("SELECT history_from_seq FROM conversations WHERE id = ?")
                    .bind(conversation_id.to_string())
                    .fetch_one(&mut *tx)
                    .await?;
            if history_from.is_some_and(|from| from <= snapshot.read_seq + 1) {
                snapshot.unread_count = sqlx::query_scalar(
                    // The same rule as `Message::counts_as_unread_for`.
                    "SELECT count(*) FROM messages WHERE conversation_id = ? AND seq > ?
                     AND sender_id <> ? AND json_extract(message, '$.deleted_at') IS NULL
                     AND coalesce(json_extract(message, '$.call.end_reason')
                                  IN ('missed', 'busy', 'cancelled'), 1)",
                )
                .bind(conversation_id.to_string())
                .bind(snapshot.read_seq)
                .bind(me.to_string())
                .fetch_one(&mut *tx)
                .await?;
            } else {
                // The cache does not hold everything after my read position.
                refetch = true;
            }
        }
        sqlx::query(
            "UPDATE conversations SET snapshot = ?, last_activity_at = ?, cursor = max(cursor, ?)
             WHERE id = ?",
        )
        .bind(to_json(&snapshot)?)
        .bind(snapshot.last_activity_at)
        .bind(event.seq)
        .bind(conversation_id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Applied {
            message,
            left: false,
            refetch,
            receipt: effect.receipt,
        })
    }

    /// My read position and unread count, as the server answered a mark-read.
    pub async fn set_read(
        &self,
        id: ConversationId,
        read_seq: Seq,
        unread_count: i64,
    ) -> Result<Option<Conversation>, CacheError> {
        let mut tx = self.write().await?;
        let Some(row) = sqlx::query("SELECT snapshot FROM conversations WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let mut snapshot: Conversation = json(row.get(0))?;
        if read_seq >= snapshot.read_seq {
            snapshot.read_seq = read_seq;
            snapshot.unread_count = unread_count;
        }
        sqlx::query("UPDATE conversations SET snapshot = ? WHERE id = ?")
            .bind(to_json(&snapshot)?)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(snapshot))
    }

    /// Whether the cache holds every message from `seq` on; `Some(0)` means the whole history,
    /// `None` that no history was loaded.
    pub async fn history_from(&self, id: ConversationId) -> Result<Option<Seq>, CacheError> {
        let value: Option<Option<i64>> =
            sqlx::query_scalar("SELECT history_from_seq FROM conversations WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(value.flatten())
    }

    /// Stores a page of history fetched from the server. `complete_from` is the lowest seq
    /// from which the cache now holds everything (0 when the page reached the beginning).
    pub async fn store_history(
        &self,
        id: ConversationId,
        messages: &[Message],
        complete_from: Seq,
    ) -> Result<(), CacheError> {
        let mut tx = self.write().await?;
        for message in messages {
            upsert_message(&mut tx, message).await?;
        }
        sqlx::query(
            "UPDATE conversations SET history_from_seq =
                 CASE WHEN history_from_seq IS NULL OR ? < history_from_seq THEN ?
                      ELSE history_from_seq END
             WHERE id = ?",
        )
        .bind(complete_from)
        .bind(complete_from)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets a conversation's history (after a resync: what is cached may have a hole).
    pub async fn reset_history(&self, id: ConversationId) -> Result<(), CacheError> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM messages WHERE conversation_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE conversations SET history_from_seq = NULL WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records that I muted or unmuted a conversation (on any of my devices).
    pub async fn set_muted(&self, id: ConversationId, muted: bool) -> Result<(), CacheError> {
        let mut tx = self.write().await?;
        let row = sqlx::query("SELECT snapshot FROM conversations WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(());
        };
        let mut snapshot: Conversation = json(row.get(0))?;
        snapshot.muted = muted;
        sqlx::query("UPDATE conversations SET snapshot = ? WHERE id = ?")
            .bind(to_json(&snapshot)?)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records how far a queued message's files got (an upload started, or finished).
    pub async fn outbox_files(
        &self,
        client_id: ClientMessageId,
        files: &[crate::session::OutgoingFile],
    ) -> Result<(), CacheError> {
        sqlx::query("UPDATE outbox SET files = ? WHERE client_id = ?")
            .bind(to_json(&files)?)
            .bind(client_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One cached message.
    pub async fn message(&self, id: MessageId) -> Result<Option<Message>, CacheError> {
        let row = sqlx::query("SELECT message FROM messages WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| json(row.get::<&str, _>(0))).transpose()
    }

    /// Up to `limit` cached messages before `before` (the newest ones when `None`), oldest
    /// first.
    pub async fn messages_before(
        &self,
        id: ConversationId,
        before: Option<Seq>,
        limit: u32,
    ) -> Result<Vec<Message>, CacheError> {
        let rows = sqlx::query(
            "SELECT message FROM messages WHERE conversation_id = ? AND seq < ?
             ORDER BY seq DESC LIMIT ?",
        )
        .bind(id.to_string())
        .bind(before.unwrap_or(Seq::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut messages: Vec<Message> = rows
            .iter()
            .map(|row| json(row.get(0)))
            .collect::<Result<_, _>>()?;
        messages.reverse();
        Ok(messages)
    }

    /// The read position of every member whose receipt the cache has seen.
    pub async fn receipts(&self, id: ConversationId) -> Result<BTreeMap<UserId, Seq>, CacheError> {
        let rows = sqlx::query("SELECT user_id, read_seq FROM receipts WHERE conversation_id = ?")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((uuid(row.get(0))?, row.get::<i64, _>(1))))
            .collect()
    }

    /// Writes a message to the outbox. Must complete before the message is reported as queued.
    pub async fn outbox_push(
        &self,
        message: &OutgoingMessage,
        created_at: Timestamp,
    ) -> Result<(), CacheError> {
        sqlx::query(
            "INSERT INTO outbox (client_id, conversation_id, body, created_at, reply_to, files)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(message.client_id.to_string())
        .bind(message.conversation_id.to_string())
        .bind(&message.body)
        .bind(created_at)
        .bind(message.reply_to.map(|id| id.to_string()))
        .bind(if message.files.is_empty() {
            None
        } else {
            Some(to_json(&message.files)?)
        })
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Outbox entries, oldest first: every one, or one conversation's.
    pub async fn outbox(
        &self,
        conversation_id: Option<ConversationId>,
    ) -> Result<Vec<OutboxEntry>, CacheError> {
        let rows = sqlx::query(
            "SELECT client_id, conversation_id, body, created_at, failed, reply_to, files FROM outbox
             WHERE ? IS NULL OR conversation_id = ? ORDER BY position",
        )
        .bind(conversation_id.map(|id| id.to_string()))
        .bind(conversation_id.map(|id| id.to_string()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_entry).collect()
    }

    /// Stores the message the server made of an outbox entry and removes the entry; answers
    /// the entry's files (the app's own copies among them are no longer needed).
    pub async fn outbox_sent(
        &self,
        message: &Message,
    ) -> Result<Vec<crate::session::OutgoingFile>, CacheError> {
        let mut tx = self.write().await?;
        let known: Option<String> = sqlx::query_scalar("SELECT id FROM conversations WHERE id = ?")
            .bind(message.conversation_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_some() {
            upsert_message(&mut tx, message).await?;
        }
        let files: Option<Option<String>> =
            sqlx::query_scalar("DELETE FROM outbox WHERE client_id = ? RETURNING files")
                .bind(message.client_id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(files
            .flatten()
            .as_deref()
            .map(json)
            .transpose()?
            .unwrap_or_default())
    }

    pub async fn outbox_failed(
        &self,
        client_id: ClientMessageId,
        reason: &str,
    ) -> Result<(), CacheError> {
        sqlx::query("UPDATE outbox SET failed = ? WHERE client_id = ?")
            .bind(reason)
            .bind(client_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes an outbox entry, whatever its state; answers it when there was one.
    pub async fn outbox_remove(
        &self,
        client_id: ClientMessageId,
    ) -> Result<Option<OutboxEntry>, CacheError> {
        let row = sqlx::query(
            "DELETE FROM outbox WHERE client_id = ?
             RETURNING client_id, conversation_id, body, created_at, failed, reply_to, files",
        )
        .bind(client_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(outbox_entry).transpose()
    }
}

/// An outbox row read as `client_id, conversation_id, body, created_at, failed, reply_to,
/// files`.
fn outbox_entry(row: &sqlx::sqlite::SqliteRow) -> Result<OutboxEntry, CacheError> {
    Ok(OutboxEntry {
        message: OutgoingMessage {
            client_id: uuid(row.get(0))?,
            conversation_id: uuid(row.get(1))?,
            body: row.get(2),
            reply_to: row.get::<Option<&str>, _>(5).map(uuid).transpose()?,
            files: row
                .get::<Option<&str>, _>(6)
                .map(json)
                .transpose()?
                .unwrap_or_default(),
        },
        created_at: row.get(3),
        failed: row.get(4),
    })
}

/// Moves a member's read position forward (never back).
async fn upsert_receipt(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    conversation_id: ConversationId,
    user_id: UserId,
    read_seq: Seq,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO receipts (conversation_id, user_id, read_seq) VALUES (?, ?, ?)
         ON CONFLICT (conversation_id, user_id)
         DO UPDATE SET read_seq = max(read_seq, excluded.read_seq)",
    )
    .bind(conversation_id.to_string())
    .bind(user_id.to_string())
    .bind(read_seq)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn stored_message(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: MessageId,
) -> Result<Option<Message>, CacheError> {
    let row = sqlx::query("SELECT message FROM messages WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|row| json(row.get::<&str, _>(0))).transpose()
}

async fn upsert_message(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    message: &Message,
) -> Result<(), CacheError> {
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, seq, client_id, sender_id, message)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET message = excluded.message",
    )
    .bind(message.id.to_string())
    .bind(message.conversation_id.to_string())
    .bind(message.seq)
    .bind(message.client_id.to_string())
    .bind(message.sender_id.to_string())
    .bind(to_json(message)?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
