//! Emoji reactions on messages: one of each emoji per user, recorded as events so every device
//! sees them live and in history.

use std::collections::HashMap;

use natter_protocol::{
    ConversationId, EventBody, Message, MessageId, Reaction, limits::REACTIONS_MAX_EMOJI,
};
use sqlx::AssertSqlSafe;

use super::visible_row;
use crate::{
    auth::AuthSession,
    blocks,
    db::Db,
    error::{Error, Result},
    events,
    live::Live,
    rate_limit::UserRateLimits,
    util::{now_ms, parse_id},
    validate,
};

/// Fills in the `reactions` of `messages` from the table (one query for all of them).
pub async fn attach(connection: &mut sqlx::AnyConnection, messages: &mut [Message]) -> Result<()> {
    let ids: Vec<String> = messages
        .iter()
        .filter(|message| message.deleted_at.is_none())
        .map(|message| message.id.to_string())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let placeholders = crate::db::placeholders(ids.len());
    let sql = format!(
        "SELECT message_id, emoji, user_id FROM reactions WHERE message_id IN ({placeholders}) \
         ORDER BY emoji_seq, seq"
    );
    let mut query = sqlx::query_as::<_, (String, String, String)>(AssertSqlSafe(sql));
    for id in &ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(&mut *connection).await?;
    let mut by_message: HashMap<String, Vec<Reaction>> = HashMap::new();
    for (message_id, emoji, user_id) in rows {
        let reactions = by_message.entry(message_id).or_default();
        let user_id = parse_id(&user_id)?;
        match reactions
            .iter_mut()
            .find(|reaction| reaction.emoji == emoji)
        {
            Some(reaction) => reaction.user_ids.push(user_id),
            None => reactions.push(Reaction {
                emoji,
                user_ids: vec![user_id],
            }),
        }
    }
    for message in messages {
        message.reactions = by_message
            .remove(&message.id.to_string())
            .unwrap_or_default();
    }
    Ok(())
}

/// Adds (`add`) or takes back my `emoji` reaction to a message I can see; answers with the
/// message as it is afterwards. Nothing changes, and no event is sent, when it already was so.
#[allow(clippy::too_many_arguments)]
pub async fn set_reaction(
    db: &Db,
    live: &dyn Live,
    limits: &UserRateLimits,
    auth: AuthSession,
    conversation_id: ConversationId,
    message_id: MessageId,
    emoji: &str,
    add: bool,
) -> Result<Message> {
    let emoji = validate::reaction_emoji(emoji)?;
    let mut tx = db.begin_write().await?;
    let seq = events::next_seq(&mut tx, conversation_id).await?;
    let mut message = visible_row(&mut tx, auth.user_id, conversation_id, message_id).await?;
    // After membership: a non-member learns nothing, not even that they are throttled.
    limits.check_message(auth.user_id)?;
    if message.deleted_at.is_some() {
        if add {
            return Err(Error::Conflict("a deleted message cannot get reactions"));
        }
        return Ok(message);
    }
    if add && !blocks::may_write(&mut tx, auth.user_id, conversation_id).await? {
        return Err(Error::Forbidden(blocks::REFUSAL));
    }
    let changed = if add {
        let (used, mine): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(DISTINCT emoji), \
                    COUNT(CASE WHEN emoji = $2 THEN 1 END) \
             FROM reactions WHERE message_id = $1",
        )
        .bind(message_id.to_string())
        .bind(emoji)
        .fetch_one(&mut *tx)
        .await?;
        if mine == 0 && used >= REACTIONS_MAX_EMOJI as i64 {
            return Err(Error::Conflict(
                "this message has as many different reactions as it may have",
            ));
        }
        sqlx::query(
            "INSERT INTO reactions (message_id, emoji, user_id, seq, emoji_seq, created_at) \
             VALUES ($1, $2, $3, $4, \
               COALESCE((SELECT MIN(emoji_seq) FROM reactions WHERE message_id = $1 AND emoji = $2), $4), \
               $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(message_id.to_string())
        .bind(emoji)
        .bind(auth.user_id.to_string())
        .bind(seq)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0
    } else {
        sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3")
            .bind(message_id.to_string())
            .bind(emoji)
            .bind(auth.user_id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0
    };
    attach(&mut tx, std::slice::from_mut(&mut message)).await?;
    if !changed {
        // The taken seq is rolled back with the transaction.
        return Ok(message);
    }
    let body = if add {
        EventBody::ReactionAdded {
            message_id,
            user_id: auth.user_id,
            emoji: emoji.to_owned(),
        }
    } else {
        EventBody::ReactionRemoved {
            message_id,
            user_id: auth.user_id,
            emoji: emoji.to_owned(),
        }
    };
    let event = natter_protocol::Event {
        conversation_id,
        seq,
        at: now_ms(),
        body,
    };
    // Like an edit, it shows the message: only those who can see the message hear of it.
    let stored = events::store_visible_from(&mut tx, event, message.seq).await?;
    let recipients = events::members_who_see(&mut tx, conversation_id, message.seq).await?;
    events::commit_and_publish(live, tx, vec![stored], &recipients).await?;
    Ok(message)
}
