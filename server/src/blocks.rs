//! Blocking: a user I blocked cannot start a direct conversation with me, send to our direct
//! conversation, show me their typing, or call me (the call ends for them as declined, and
//! never rings here). Groups we share are not changed: blocking is between two people.

use natter_protocol::{BlockList, UserId};

use sqlx::AssertSqlSafe;

use crate::{
    auth::AuthSession,
    db::Db,
    error::{Error, Result},
    live::Live,
    users::{USER_COLUMNS, UserRow},
    util::now_ms,
};

/// What a blocked user is told when a message or conversation is refused: the same words a
/// deleted account gets, so the refusal does not say "you were blocked".
pub const REFUSAL: &str = "this person cannot receive your messages";

pub async fn block(db: &Db, auth: AuthSession, user_id: UserId) -> Result<()> {
    if user_id == auth.user_id {
        return Err(Error::validation("user_id must be someone else"));
    }
    let exists: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL")
            .bind(user_id.to_string())
            .fetch_optional(&db.pool)
            .await?;
    if exists.is_none() {
        return Err(Error::NotFound);
    }
    db.execute_write(
        sqlx::query(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
        )
        .bind(auth.user_id.to_string())
        .bind(user_id.to_string())
        .bind(now_ms()),
    )
    .await?;
    Ok(())
}

pub async fn unblock(db: &Db, auth: AuthSession, user_id: UserId) -> Result<()> {
    let removed = db
        .execute_write(
            sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
                .bind(auth.user_id.to_string())
                .bind(user_id.to_string()),
        )
        .await?;
    if removed.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

pub async fn list(db: &Db, live: &dyn Live, auth: AuthSession) -> Result<BlockList> {
    let rows: Vec<UserRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM blocks b JOIN users u ON u.id = b.blocked_id \
         WHERE b.blocker_id = $1 ORDER BY b.created_at DESC"
    )))
    .bind(auth.user_id.to_string())
    .fetch_all(&db.pool)
    .await?;
    Ok(BlockList {
        users: rows
            .into_iter()
            .map(|row| row.into_user(live, false))
            .collect::<Result<_>>()?,
    })
}

/// Whether `blocker` blocked `user`.
pub async fn has_blocked(
    connection: &mut sqlx::AnyConnection,
    blocker: UserId,
    user: UserId,
) -> Result<bool> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
            .bind(blocker.to_string())
            .bind(user.to_string())
            .fetch_optional(connection)
            .await?;
    Ok(row.is_some())
}

/// Whether `sender` may write to the direct conversation `conversation_id` (always true for a
/// group): not when the other person blocked them or deleted their account.
pub async fn may_write(
    connection: &mut sqlx::AnyConnection,
    sender: UserId,
    conversation_id: natter_protocol::ConversationId,
) -> Result<bool> {
    let refused: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM conversations c \
         JOIN members m ON m.conversation_id = c.id AND m.user_id <> $1 \
         JOIN users u ON u.id = m.user_id \
         LEFT JOIN blocks b ON b.blocker_id = m.user_id AND b.blocked_id = $1 \
         WHERE c.id = $2 AND c.kind = 'direct' \
           AND (b.blocker_id IS NOT NULL OR u.deleted_at IS NOT NULL)",
    )
    .bind(sender.to_string())
    .bind(conversation_id.to_string())
    .fetch_optional(connection)
    .await?;
    Ok(refused.is_none())
}
