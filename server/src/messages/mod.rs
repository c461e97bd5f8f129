//! Messages: send (idempotent by client id), history, edit, delete; replies and mentions are
//! part of a message. Reactions, read receipts with typing, and search are submodules.

mod reactions;
mod receipts;
mod search;

pub use reactions::set_reaction;
pub use receipts::{mark_read, typing};
pub use search::search;

use natter_protocol::{
    CallRecord, ConversationId, EventBody, Message, MessageId, MessagePage, SendMessageRequest,
    UserId,
};

use sqlx::AssertSqlSafe;

use crate::{
    auth::AuthSession,
    blocks,
    db::Db,
    error::{Error, Result, is_unique_violation},
    events,
    files::{BlobStore, attachments},
    live::Live,
    mentions,
    rate_limit::UserRateLimits,
    util::{new_id, now_ms, parse_id},
    validate,
};

pub const MESSAGE_COLUMNS: &str = "msg.id, msg.conversation_id, msg.seq, msg.sender_id, \
     msg.client_id, msg.body, msg.created_at, msg.edited_at, msg.deleted_at, msg.call, \
     msg.reply_to, msg.mentions";

/// SQL condition on a message `x` and a membership `m`: the message counts as unread for the
/// member once past their read position (see `Message::counts_as_unread_for`).
pub const COUNTS_AS_UNREAD: &str = "x.sender_id <> m.user_id AND x.deleted_at IS NULL \
     AND (x.call_end_reason IS NULL OR x.call_end_reason IN ('missed', 'busy', 'cancelled'))";

#[derive(Debug, sqlx::FromRow)]
pub struct MessageRow {
    pub id: String,
    pub conversation_id: String,
    pub seq: i64,
    pub sender_id: String,
    pub client_id: String,
    pub body: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    pub call: Option<String>,
    pub reply_to: Option<String>,
    pub mentions: Option<String>,
}

impl MessageRow {
    pub fn into_message(self) -> Result<Message> {
        Ok(Message {
            id: parse_id(&self.id)?,
            conversation_id: parse_id(&self.conversation_id)?,
            seq: self.seq,
            sender_id: parse_id(&self.sender_id)?,
            client_id: parse_id(&self.client_id)?,
            body: self.body,
            created_at: self.created_at,
            edited_at: self.edited_at,
            deleted_at: self.deleted_at,
            call: self
                .call
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|error| {
                    Error::Internal(anyhow::anyhow!("a stored call record: {error}"))
                })?,
            reply_to: self.reply_to.as_deref().map(parse_id).transpose()?,
            mentions: self
                .mentions
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|error| {
                    Error::Internal(anyhow::anyhow!("a stored list of mentions: {error}"))
                })?
                .unwrap_or_default(),
            // Filled in by `with_details` where they are wanted.
            reactions: Vec::new(),
            attachments: Vec::new(),
        })
    }
}

/// The stored form of a message's mentions: `NULL` for none.
fn mentions_column(mentions: &[UserId]) -> Result<Option<String>> {
    if mentions.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(mentions)
        .map(Some)
        .map_err(|error| Error::Internal(error.into()))
}

/// Fills in the reactions and attachments of messages read from the table.
pub async fn with_details(
    connection: &mut sqlx::AnyConnection,
    mut messages: Vec<Message>,
) -> Result<Vec<Message>> {
    reactions::attach(&mut *connection, &mut messages).await?;
    attachments::fill(connection, &mut messages).await?;
    Ok(messages)
}

/// A message of the conversation that `user_id` can see (a member who joined before it was
/// sent), without its reactions; `NotFound` otherwise.
async fn visible_row(
    connection: &mut sqlx::AnyConnection,
    user_id: UserId,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<Message> {
    let from_seq = joined_seq(&mut *connection, user_id, conversation_id).await?;
    let row: Option<MessageRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages msg \
         WHERE msg.id = $1 AND msg.conversation_id = $2 AND msg.seq >= $3"
    )))
    .bind(message_id.to_string())
    .bind(conversation_id.to_string())
    .bind(from_seq)
    .fetch_optional(connection)
    .await?;
    row.ok_or(Error::NotFound)?.into_message()
}

/// `GET …/messages/{message_id}`: one message I can see, with its reactions.
pub async fn get(
    db: &Db,
    auth: AuthSession,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<Message> {
    let mut connection = db.pool.acquire().await?;
    let message = visible_row(&mut connection, auth.user_id, conversation_id, message_id).await?;
    let mut messages = with_details(&mut connection, vec![message]).await?;
    messages.pop().ok_or(Error::NotFound)
}

/// The seq from which the user may see a conversation they are in now; `NotFound` otherwise.
async fn joined_seq(
    connection: &mut sqlx::AnyConnection,
    user_id: UserId,
    conversation_id: ConversationId,
) -> Result<i64> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT joined_seq FROM members WHERE conversation_id = $1 AND user_id = $2 AND left_seq IS NULL",
    )
    .bind(conversation_id.to_string())
    .bind(user_id.to_string())
    .fetch_optional(connection)
    .await?;
    row.map(|(seq,)| seq).ok_or(Error::NotFound)
}

async fn message_by_client_id(
    db: &Db,
    sender: UserId,
    client_id: uuid::Uuid,
) -> Result<Option<Message>> {
    let row: Option<MessageRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages msg WHERE msg.sender_id = $1 AND msg.client_id = $2"
    )))
    .bind(sender.to_string())
    .bind(client_id.to_string())
    .fetch_optional(&db.pool)
    .await?;
    let Some(message) = row.map(MessageRow::into_message).transpose()? else {
        return Ok(None);
    };
    Ok(with_details(&mut *db.pool.acquire().await?, vec![message])
        .await?
        .pop())
}

/// The current members of the conversation that `body` mentions (see `mentions`).
async fn mentioned(
    connection: &mut sqlx::AnyConnection,
    conversation_id: ConversationId,
    body: &str,
) -> Result<Vec<UserId>> {
    if !body.contains('@') {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT u.id, u.username FROM members m JOIN users u ON u.id = m.user_id \
         WHERE m.conversation_id = $1 AND m.left_seq IS NULL AND u.deleted_at IS NULL",
    )
    .bind(conversation_id.to_string())
    .fetch_all(connection)
    .await?;
    let members = rows
        .into_iter()
        .map(|(id, username)| Ok((parse_id(&id)?, username)))
        .collect::<Result<Vec<_>>>()?;
    Ok(mentions::named(body, &members))
}

/// A resend of a message already stored: the same message, or a conflict if the client id
/// was reused for something else.
fn resent(
    existing: Message,
    conversation_id: ConversationId,
    body: &str,
    request: &SendMessageRequest,
) -> Result<(Message, bool)> {
    let same_files = existing
        .attachments
        .iter()
        .map(|attachment| attachment.id)
        .eq(request.attachments.iter().copied());
    if existing.conversation_id == conversation_id
        && existing.reply_to == request.reply_to
        && ((existing.body == body && same_files) || existing.deleted_at.is_some())
    {
        Ok((existing, false))
    } else {
        Err(Error::IdempotencyConflict)
    }
}

/// Stores a message; the flag is false when it was already stored under this client id.
pub async fn send(
    db: &Db,
    live: &dyn Live,
    limits: &UserRateLimits,
    auth: AuthSession,
    conversation_id: ConversationId,
    request: SendMessageRequest,
) -> Result<(Message, bool)> {
    // A message of files alone has no text; text, when there is some, follows the rules.
    let body = if request.body.is_empty() && !request.attachments.is_empty() {
        String::new()
    } else {
        validate::message_body(&request.body)?
    };
    if let Some(existing) = message_by_client_id(db, auth.user_id, request.client_id).await? {
        // Only a member may learn anything about the conversation, even from a resend.
        joined_seq(
            &mut *db.pool.acquire().await?,
            auth.user_id,
            conversation_id,
        )
        .await?;
        return resent(existing, conversation_id, &body, &request);
    }
    limits.check_message(auth.user_id)?;
    let mut tx = db.begin_write().await?;
    joined_seq(&mut tx, auth.user_id, conversation_id).await?;
    if !blocks::may_write(&mut tx, auth.user_id, conversation_id).await? {
        return Err(Error::Forbidden(blocks::REFUSAL));
    }
    if let Some(original) = request.reply_to {
        visible_row(&mut tx, auth.user_id, conversation_id, original)
            .await
            .map_err(|error| match error {
                Error::NotFound => Error::validation(
                    "reply_to must be a message of this conversation that you can see",
                ),
                other => other,
            })?;
    }
    let mentions = mentioned(&mut tx, conversation_id, &body).await?;
    let inserted = insert(
        &mut tx,
        conversation_id,
        auth.user_id,
        request.client_id,
        Content {
            body: body.clone(),
            call: None,
            reply_to: request.reply_to,
            mentions,
        },
    )
    .await;
    let message = match inserted {
        Ok(message) => message,
        Err(Error::Database(error)) if is_unique_violation(&error) => {
            // A concurrent resend won the race; answer with what it stored.
            drop(tx);
            let existing = message_by_client_id(db, auth.user_id, request.client_id)
                .await?
                .ok_or(Error::IdempotencyConflict)?;
            return resent(existing, conversation_id, &body, &request);
        }
        Err(error) => return Err(error),
    };
    let mut message = message;
    if !request.attachments.is_empty() {
        attachments::attach(&mut tx, auth.user_id, message.id, &request.attachments).await?;
        attachments::fill(&mut tx, std::slice::from_mut(&mut message)).await?;
    }
    let recipients = events::current_member_ids(&mut tx, conversation_id).await?;
    let stored = stored_creation(&mut tx, &message).await?;
    events::commit_and_publish(live, tx, vec![stored], &recipients).await?;
    Ok((message, true))
}

/// What a new message says.
struct Content {
    body: String,
    call: Option<CallRecord>,
    reply_to: Option<MessageId>,
    mentions: Vec<UserId>,
}

/// Inserts a new message at the conversation's next seq (the caller checked who may write).
async fn insert(
    tx: &mut sqlx::AnyConnection,
    conversation_id: ConversationId,
    sender_id: UserId,
    client_id: uuid::Uuid,
    content: Content,
) -> Result<Message> {
    let now = now_ms();
    let seq = events::next_seq(&mut *tx, conversation_id).await?;
    let Content {
        body,
        call,
        reply_to,
        mentions,
    } = content;
    let mentions_json = mentions_column(&mentions)?;
    let message = Message {
        id: new_id(),
        conversation_id,
        seq,
        sender_id,
        client_id,
        body,
        created_at: now,
        edited_at: None,
        deleted_at: None,
        call,
        reply_to,
        mentions,
        reactions: Vec::new(),
        attachments: Vec::new(),
    };
    let call_json = call
        .map(|call| serde_json::to_string(&call))
        .transpose()
        .map_err(|error| Error::Internal(error.into()))?;
    let call_end_reason = call.map(|call| call.end_reason.as_str());
    sqlx::query(
        "INSERT INTO messages \
           (id, conversation_id, seq, sender_id, client_id, body, created_at, call, \
            call_end_reason, reply_to, mentions) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(message.id.to_string())
    .bind(conversation_id.to_string())
    .bind(seq)
    .bind(sender_id.to_string())
    .bind(client_id.to_string())
    .bind(&message.body)
    .bind(now)
    .bind(call_json)
    .bind(call_end_reason)
    .bind(reply_to.map(|id| id.to_string()))
    .bind(mentions_json)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE conversations SET last_activity_at = $1, last_message_id = $2 WHERE id = $3",
    )
    .bind(now)
    .bind(message.id.to_string())
    .bind(conversation_id.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(message)
}

/// The `message_created` event of a message just inserted.
async fn stored_creation(
    tx: &mut sqlx::AnyConnection,
    message: &Message,
) -> Result<events::StoredEvent> {
    let event = natter_protocol::Event {
        conversation_id: message.conversation_id,
        seq: message.seq,
        at: message.created_at,
        body: EventBody::MessageCreated {
            message: message.clone(),
        },
    };
    events::store(tx, event).await
}

/// Records a finished call in the two users' direct conversation, as a message from the caller
/// (the call id is its client id, so recording twice stores one message).
pub async fn post_call_record(
    db: &Db,
    live: &dyn Live,
    conversation_id: ConversationId,
    call: CallRecord,
) -> Result<Message> {
    if let Some(existing) = message_by_client_id(db, call.caller_id, call.call_id).await? {
        return Ok(existing);
    }
    let mut tx = db.begin_write().await?;
    let message = insert(
        &mut tx,
        conversation_id,
        call.caller_id,
        call.call_id,
        Content {
            body: String::new(),
            call: Some(call),
            reply_to: None,
            mentions: Vec::new(),
        },
    )
    .await?;
    let recipients = events::current_member_ids(&mut tx, conversation_id).await?;
    let stored = stored_creation(&mut tx, &message).await?;
    events::commit_and_publish(live, tx, vec![stored], &recipients).await?;
    Ok(message)
}

/// A page of history. `before` and `after` are `seq` values; at most one may be given.
pub async fn history(
    db: &Db,
    auth: AuthSession,
    conversation_id: ConversationId,
    before: Option<i64>,
    after: Option<i64>,
    limit: Option<u32>,
) -> Result<MessagePage> {
    let limit = validate::page_limit(limit)?;
    let mut connection = db.pool.acquire().await?;
    let from_seq = joined_seq(&mut connection, auth.user_id, conversation_id).await?;
    let (condition, order, bound) = match (before, after) {
        (Some(_), Some(_)) => {
            return Err(Error::validation("give either before or after, not both"));
        }
        (Some(before), None) => ("msg.seq < $3", "DESC", before),
        (None, Some(after)) => ("msg.seq > $3", "ASC", after),
        (None, None) => ("msg.seq < $3", "DESC", i64::MAX),
    };
    let rows: Vec<MessageRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages msg \
         WHERE msg.conversation_id = $1 AND msg.seq >= $2 AND {condition} \
         ORDER BY msg.seq {order} LIMIT $4"
    )))
    .bind(conversation_id.to_string())
    .bind(from_seq)
    .bind(bound)
    .bind(limit + 1)
    .fetch_all(&mut *connection)
    .await?;
    let has_more = rows.len() as i64 > limit;
    let mut messages = rows
        .into_iter()
        .take(limit as usize)
        .map(MessageRow::into_message)
        .collect::<Result<Vec<_>>>()?;
    if order == "DESC" {
        messages.reverse();
    }
    let messages = with_details(&mut connection, messages).await?;
    Ok(MessagePage { messages, has_more })
}

enum Change {
    Edit(String),
    Delete,
}

async fn change(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    conversation_id: ConversationId,
    message_id: MessageId,
    change: Change,
) -> Result<(Message, Vec<String>)> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let seq = events::next_seq(&mut tx, conversation_id).await?;
    let message = visible_row(&mut tx, auth.user_id, conversation_id, message_id).await?;
    let mut message = with_details(&mut tx, vec![message])
        .await?
        .pop()
        .ok_or(Error::NotFound)?;
    if message.sender_id != auth.user_id {
        return Err(Error::Forbidden("only the sender may change a message"));
    }
    let mut unused = Vec::new();
    let body = match change {
        Change::Delete if message.deleted_at.is_some() => return Ok((message, Vec::new())),
        Change::Edit(_) if message.deleted_at.is_some() => {
            return Err(Error::Conflict("a deleted message cannot be edited"));
        }
        Change::Edit(_) if message.call.is_some() => {
            return Err(Error::Conflict("the record of a call cannot be edited"));
        }
        Change::Edit(body) if body == message.body => return Ok((message, Vec::new())),
        Change::Edit(body) => {
            message.mentions = mentioned(&mut tx, conversation_id, &body).await?;
            message.body = body;
            message.edited_at = Some(now);
            EventBody::MessageEdited {
                message: message.clone(),
            }
        }
        Change::Delete => {
            message.body = String::new();
            message.deleted_at = Some(now);
            message.mentions.clear();
            message.reactions.clear();
            message.attachments.clear();
            unused = attachments::detach_deleted(&mut tx, message_id).await?;
            sqlx::query("DELETE FROM reactions WHERE message_id = $1")
                .bind(message_id.to_string())
                .execute(&mut *tx)
                .await?;
            EventBody::MessageDeleted {
                message: message.clone(),
            }
        }
    };
    sqlx::query(
        "UPDATE messages SET body = $1, edited_at = $2, deleted_at = $3, mentions = $4 \
         WHERE id = $5",
    )
    .bind(&message.body)
    .bind(message.edited_at)
    .bind(message.deleted_at)
    .bind(mentions_column(&message.mentions)?)
    .bind(message_id.to_string())
    .execute(&mut *tx)
    .await?;
    let event = natter_protocol::Event {
        conversation_id,
        seq,
        at: now,
        body,
    };
    let stored = events::store(&mut tx, event).await?;
    let recipients = events::members_who_see(
        &mut tx,
        conversation_id,
        events::visible_from(&stored.event),
    )
    .await?;
    events::commit_and_publish(live, tx, vec![stored], &recipients).await?;
    Ok((message, unused))
}

pub async fn edit(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    conversation_id: ConversationId,
    message_id: MessageId,
    body: &str,
) -> Result<Message> {
    let body = validate::message_body(body)?;
    let (message, _) = change(
        db,
        live,
        auth,
        conversation_id,
        message_id,
        Change::Edit(body),
    )
    .await?;
    Ok(message)
}

/// Deletes my message, and its files with it.
pub async fn delete(
    db: &Db,
    live: &dyn Live,
    store: &BlobStore,
    auth: AuthSession,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<Message> {
    let (message, unused) =
        change(db, live, auth, conversation_id, message_id, Change::Delete).await?;
    attachments::collect(db, store, unused).await;
    Ok(message)
}
