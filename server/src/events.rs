//! The per-conversation event log: the durable record every realtime delivery is checked
//! against.
//!
//! A change is stored in the same transaction as the event describing it, with the next
//! `seq` of its conversation. Taking that number locks the conversation's row (PostgreSQL) or
//! the database (SQLite) until commit, so events commit in `seq` order. Publishing to live
//! connections happens after commit and may be late or reordered; connections repair that from
//! this log (see `realtime::socket`).

use std::sync::Arc;

use natter_protocol::{ConversationId, Event, EventBody, Seq, ServerFrame, UserId};

use crate::{
    db::{Db, WriteTx},
    error::{Error, Result},
    live::{FrameText, Live, LiveEvent, Outbound},
    util::parse_id,
};

/// Takes the next `seq` of a conversation. Fails with `NotFound` if it does not exist.
pub async fn next_seq(
    connection: &mut sqlx::AnyConnection,
    conversation_id: ConversationId,
) -> Result<Seq> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
    )
    .bind(conversation_id.to_string())
    .fetch_optional(connection)
    .await?;
    row.map(|(seq,)| seq).ok_or(Error::NotFound)
}

/// Stores an event whose `seq` came from [`next_seq`] in the same transaction. The stored
/// payload is the complete WebSocket frame, so replaying it needs no re-encoding.
pub async fn store(connection: &mut sqlx::AnyConnection, event: Event) -> Result<StoredEvent> {
    let visible_from = visible_from(&event);
    store_visible_from(connection, event, visible_from).await
}

/// [`store`] for an event about a message that the event's body does not carry (a reaction):
/// only members who can see the message at `visible_from` (its seq) may see the event.
pub async fn store_visible_from(
    connection: &mut sqlx::AnyConnection,
    event: Event,
    visible_from: Seq,
) -> Result<StoredEvent> {
    let frame =
        serde_json::to_string(&ServerFrame::Event(event.clone())).map_err(anyhow::Error::from)?;
    sqlx::query(
        "INSERT INTO events (conversation_id, seq, visible_from, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(event.conversation_id.to_string())
    .bind(event.seq)
    .bind(visible_from)
    .bind(&frame)
    .bind(event.at)
    .execute(connection)
    .await?;
    Ok(StoredEvent {
        event,
        frame: FrameText::from(frame),
    })
}

/// The earliest join position from which a member may see this event: an edit or delete
/// shows the message, so only those who could see the message get it.
pub fn visible_from(event: &Event) -> Seq {
    match &event.body {
        EventBody::MessageEdited { message } | EventBody::MessageDeleted { message } => message.seq,
        _ => event.seq,
    }
}

/// Takes the next `seq`, builds the event for it and stores it.
pub async fn append(
    connection: &mut sqlx::AnyConnection,
    conversation_id: ConversationId,
    at: i64,
    body: EventBody,
) -> Result<StoredEvent> {
    let seq = next_seq(connection, conversation_id).await?;
    store(
        connection,
        Event {
            conversation_id,
            seq,
            at,
            body,
        },
    )
    .await
}

/// An event that is committed (or about to be) with its serialised frame.
pub struct StoredEvent {
    pub event: Event,
    pub frame: FrameText,
}

/// Commits the transaction that stored `events`, then hands them to `live` for `recipients`:
/// never before the commit, so no client hears of a change that could still roll back.
pub async fn commit_and_publish(
    live: &dyn Live,
    tx: WriteTx,
    events: Vec<StoredEvent>,
    recipients: &[UserId],
) -> Result<()> {
    tx.commit().await?;
    publish(live, events, recipients);
    Ok(())
}

/// Hands committed events to `live` for everyone in `recipients`. Call after commit only.
pub fn publish(live: &dyn Live, events: Vec<StoredEvent>, recipients: &[UserId]) {
    for stored in events {
        let event = Arc::new(LiveEvent {
            conversation_id: stored.event.conversation_id,
            seq: stored.event.seq,
            json: stored.frame,
        });
        live.send_to_users(recipients, Outbound::Event(event));
    }
}

/// The users currently in a conversation.
pub async fn current_member_ids(
    connection: &mut sqlx::AnyConnection,
    conversation_id: ConversationId,
) -> Result<Vec<UserId>> {
    members_who_see(connection, conversation_id, Seq::MAX).await
}

/// The current members who joined at or before `visible_from`: the recipients of an event
/// (see [`visible_from`]).
pub async fn members_who_see(
    connection: &mut sqlx::AnyConnection,
    conversation_id: ConversationId,
    visible_from: Seq,
) -> Result<Vec<UserId>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT user_id FROM members \
         WHERE conversation_id = $1 AND left_seq IS NULL AND joined_seq <= $2",
    )
    .bind(conversation_id.to_string())
    .bind(visible_from)
    .fetch_all(connection)
    .await?;
    rows.iter().map(|(id,)| parse_id(id)).collect()
}

/// The stored frames of events `after < seq <= up_to` that `user_id` may see: those from when
/// they (last) joined until they left. At most `limit`, in order.
pub async fn frames_for_member(
    db: &Db,
    conversation_id: ConversationId,
    user_id: UserId,
    after: Seq,
    up_to: Seq,
    limit: i64,
) -> Result<Vec<(Seq, FrameText)>> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT e.seq, e.payload FROM events e \
         JOIN members m ON m.conversation_id = e.conversation_id AND m.user_id = $2 \
         WHERE e.conversation_id = $1 AND e.seq > $3 AND e.seq <= $4 \
           AND e.visible_from >= m.joined_seq AND (m.left_seq IS NULL OR e.seq <= m.left_seq) \
         ORDER BY e.seq LIMIT $5",
    )
    .bind(conversation_id.to_string())
    .bind(user_id.to_string())
    .bind(after)
    .bind(up_to)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, payload)| (seq, FrameText::from(payload)))
        .collect())
}

/// Where a user stands in one conversation, for resuming.
#[derive(Debug, Clone, Copy)]
pub struct Membership {
    pub conversation_id: ConversationId,
    pub joined_seq: Seq,
    pub left_seq: Option<Seq>,
    pub last_seq: Seq,
}

impl Membership {
    /// The last `seq` this user may see.
    pub fn visible_up_to(&self) -> Seq {
        self.left_seq.unwrap_or(self.last_seq)
    }
}

/// Every conversation the user is or was in.
pub async fn memberships(db: &Db, user_id: UserId) -> Result<Vec<Membership>> {
    membership_rows(db, user_id, None).await
}

pub async fn membership(
    db: &Db,
    user_id: UserId,
    conversation_id: ConversationId,
) -> Result<Option<Membership>> {
    Ok(membership_rows(db, user_id, Some(conversation_id))
        .await?
        .into_iter()
        .next())
}

async fn membership_rows(
    db: &Db,
    user_id: UserId,
    conversation_id: Option<ConversationId>,
) -> Result<Vec<Membership>> {
    let rows: Vec<(String, i64, Option<i64>, i64)> = sqlx::query_as(
        "SELECT m.conversation_id, m.joined_seq, m.left_seq, c.last_seq FROM members m \
         JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.user_id = $1 AND ($2 = '' OR m.conversation_id = $2)",
    )
    .bind(user_id.to_string())
    .bind(conversation_id.map(|id| id.to_string()).unwrap_or_default())
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter()
        .map(|(conversation_id, joined_seq, left_seq, last_seq)| {
            Ok(Membership {
                conversation_id: parse_id(&conversation_id)?,
                joined_seq,
                left_seq,
                last_seq,
            })
        })
        .collect()
}
