//! The admin audit log: every admin action, from the API or the server's console, with who did
//! it, to whom, and the details (never a secret). Written in the action's own transaction.

use natter_protocol::{AuditEntry, AuditPage, UserId};

use crate::{
    auth::AuthSession,
    db::Db,
    error::{Error, Result},
    util::{new_id, now_ms, parse_id},
    validate,
};

/// Who did an admin action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// An admin through the API (or a user acting on what is theirs, such as their invite).
    User(UserId),
    /// `natter-server admin …` on the server's machine.
    Console,
}

impl From<AuthSession> for Actor {
    fn from(auth: AuthSession) -> Self {
        Actor::User(auth.user_id)
    }
}

impl Actor {
    pub fn user_id(self) -> Option<UserId> {
        match self {
            Actor::User(id) => Some(id),
            Actor::Console => None,
        }
    }
}

pub async fn record(
    connection: &mut sqlx::AnyConnection,
    actor: Actor,
    action: &str,
    target: Option<UserId>,
    detail: serde_json::Value,
) -> Result<()> {
    let actor_name = match actor {
        Actor::Console => "console".to_owned(),
        Actor::User(id) => {
            let name: Option<(String,)> =
                sqlx::query_as("SELECT username FROM users WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(&mut *connection)
                    .await?;
            name.map_or_else(|| id.to_string(), |(name,)| name)
        }
    };
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, actor_name, action, target_user_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id().to_string())
    .bind(now_ms())
    .bind(actor.user_id().map(|id| id.to_string()))
    .bind(actor_name)
    .bind(action)
    .bind(target.map(|id| id.to_string()))
    .bind(detail.to_string())
    .execute(connection)
    .await?;
    Ok(())
}

type AuditRow = (
    String,
    i64,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
);

/// The log, newest first, `limit` at a time before `cursor` (an entry id).
pub async fn page(db: &Db, limit: Option<u32>, cursor: Option<&str>) -> Result<AuditPage> {
    let limit = validate::page_limit(limit)?;
    let cursor = match cursor {
        Some(cursor) => parse_id(cursor)
            .map_err(|_| Error::validation("cursor must be a cursor from an earlier page"))?
            .to_string(),
        // Ids are UUIDv7, ordered by time: "g" sorts after every hex digit.
        None => "g".to_owned(),
    };
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, actor_id, actor_name, action, target_user_id, detail FROM audit_log \
         WHERE id < $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(cursor)
    .bind(limit + 1)
    .fetch_all(&db.pool)
    .await?;
    let has_more = rows.len() as i64 > limit;
    let entries = rows
        .into_iter()
        .take(limit as usize)
        .map(|(id, at, actor_id, actor_name, action, target, detail)| {
            Ok(AuditEntry {
                id: parse_id(&id)?,
                at,
                actor_id: actor_id.as_deref().map(parse_id).transpose()?,
                actor_name,
                action,
                target_user_id: target.as_deref().map(parse_id).transpose()?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = has_more
        .then(|| entries.last().map(|entry| entry.id.to_string()))
        .flatten();
    Ok(AuditPage {
        entries,
        next_cursor,
    })
}
