//! Who shares a conversation with whom: the people who see a user's presence and who may call
//! them. A leaf on the `members` table, so that users, presence and calls can ask it without
//! depending on conversations (which shows users, and so depends on `users`).

use natter_protocol::UserId;

use crate::{db::Db, error::Result, util::parse_id};

/// Whether two users are both in some conversation right now (so each sees the other's presence).
pub async fn share_a_conversation(db: &Db, user: UserId, other: UserId) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM members mine \
         JOIN members other ON other.conversation_id = mine.conversation_id \
         WHERE mine.user_id = $1 AND other.user_id = $2 \
           AND mine.left_seq IS NULL AND other.left_seq IS NULL LIMIT 1",
    )
    .bind(user.to_string())
    .bind(other.to_string())
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.is_some())
}

/// Everyone who shares a conversation with the user: who sees their presence.
pub async fn list(db: &Db, user_id: UserId) -> Result<Vec<UserId>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT other.user_id FROM members mine \
         JOIN members other ON other.conversation_id = mine.conversation_id \
         WHERE mine.user_id = $1 AND mine.left_seq IS NULL AND other.left_seq IS NULL \
           AND other.user_id <> $1",
    )
    .bind(user_id.to_string())
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|(id,)| parse_id(id)).collect()
}
