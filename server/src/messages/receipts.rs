//! Read positions (receipts, unread counts) and typing notices.

use natter_protocol::{
    ConversationId, EventBody, MessageId, ReadState, ServerFrame, UserId, limits::TYPING_TTL_MS,
};

use sqlx::AssertSqlSafe;

use super::{COUNTS_AS_UNREAD, joined_seq};
use crate::{
    auth::AuthSession,
    blocks,
    db::Db,
    error::{Error, Result},
    events,
    live::{Live, Outbound},
    rate_limit::UserRateLimits,
    util::now_ms,
};

async fn unread_count(
    connection: &mut sqlx::AnyConnection,
    user_id: UserId,
    conversation_id: ConversationId,
) -> Result<(i64, i64)> {
    let (read_seq, unread): (i64, i64) = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT m.read_seq, (SELECT COUNT(*) FROM messages x WHERE x.conversation_id = m.conversation_id \
            AND x.seq > m.read_seq AND {COUNTS_AS_UNREAD}) \
         FROM members m WHERE m.conversation_id = $1 AND m.user_id = $2",
    )))
    .bind(conversation_id.to_string())
    .bind(user_id.to_string())
    .fetch_one(connection)
    .await?;
    Ok((read_seq, unread))
}

/// Moves my read position forward to `message_id` (never backwards) and tells the other
/// members and my other devices.
pub async fn mark_read(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<ReadState> {
    let mut tx = db.begin_write().await?;
    let event_seq = events::next_seq(&mut tx, conversation_id).await?;
    let from_seq = joined_seq(&mut tx, auth.user_id, conversation_id).await?;
    let target: Option<(i64,)> = sqlx::query_as(
        "SELECT seq FROM messages WHERE id = $1 AND conversation_id = $2 AND seq >= $3",
    )
    .bind(message_id.to_string())
    .bind(conversation_id.to_string())
    .bind(from_seq)
    .fetch_optional(&mut *tx)
    .await?;
    let (target_seq,) = target.ok_or(Error::NotFound)?;
    let moved = sqlx::query(
        "UPDATE members SET read_seq = $1 WHERE conversation_id = $2 AND user_id = $3 AND read_seq < $1",
    )
    .bind(target_seq)
    .bind(conversation_id.to_string())
    .bind(auth.user_id.to_string())
    .execute(&mut *tx)
    .await?;
    if moved.rows_affected() == 0 {
        // Already read that far: nothing changes, no event; the taken seq is rolled back.
        let (read_seq, unread) = unread_count(&mut tx, auth.user_id, conversation_id).await?;
        drop(tx);
        return Ok(ReadState {
            conversation_id,
            read_seq,
            unread_count: unread,
        });
    }
    let event = natter_protocol::Event {
        conversation_id,
        seq: event_seq,
        at: now_ms(),
        body: EventBody::ReadReceipt {
            user_id: auth.user_id,
            read_seq: target_seq,
        },
    };
    let stored = events::store(&mut tx, event).await?;
    let (read_seq, unread) = unread_count(&mut tx, auth.user_id, conversation_id).await?;
    let recipients = events::current_member_ids(&mut tx, conversation_id).await?;
    events::commit_and_publish(live, tx, vec![stored], &recipients).await?;
    Ok(ReadState {
        conversation_id,
        read_seq,
        unread_count: unread,
    })
}

/// Tells the other members that I am typing. Not stored; it expires by itself.
pub async fn typing(
    db: &Db,
    live: &dyn Live,
    limits: &UserRateLimits,
    auth: AuthSession,
    conversation_id: ConversationId,
) -> Result<()> {
    let mut connection = db.pool.acquire().await?;
    // Membership first: a non-member gets `not_found` every time, never a throttled success,
    // and only real memberships take a place in the limiter's map.
    joined_seq(&mut connection, auth.user_id, conversation_id).await?;
    if !blocks::may_write(&mut connection, auth.user_id, conversation_id).await? {
        return Ok(());
    }
    // Clients renew every few seconds; anything faster is noise (or a flood): drop it quietly.
    if !limits.allow_typing(auth.user_id, conversation_id) {
        return Ok(());
    }
    let mut others = events::current_member_ids(&mut connection, conversation_id).await?;
    others.retain(|user_id| *user_id != auth.user_id);
    let frame = serde_json::to_string(&ServerFrame::Typing {
        conversation_id,
        user_id: auth.user_id,
        expires_in_ms: TYPING_TTL_MS,
    })
    .map_err(anyhow::Error::from)?;
    live.send_to_users(&others, Outbound::Frame(frame.into()));
    Ok(())
}
