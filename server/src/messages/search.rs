//! Full-text search over the messages of my conversations.

use natter_protocol::{MessageId, SearchResults};
use sqlx::AssertSqlSafe;

use super::{MESSAGE_COLUMNS, MessageRow, with_details};
use crate::{
    auth::AuthSession,
    db::{Backend, Db},
    error::Result,
    validate,
};

/// Full-text search over the messages of conversations I am in (from when I joined),
/// newest first. `cursor` is the id of the last message of the previous page.
pub async fn search(
    db: &Db,
    auth: AuthSession,
    query: &str,
    limit: Option<u32>,
    cursor: Option<MessageId>,
) -> Result<SearchResults> {
    let terms = validate::search_terms(query)?;
    let limit = validate::page_limit(limit)?;
    let mut connection = db.pool.acquire().await?;
    let (source, matcher, expression) = match db.backend {
        Backend::Sqlite => (
            "messages_fts f JOIN messages msg ON msg.rowid = f.rowid",
            "messages_fts MATCH $2",
            // Every term as a quoted prefix: user text is never FTS syntax.
            terms
                .iter()
                .map(|term| format!("\"{term}\"*"))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Backend::Postgres => (
            "messages msg",
            "to_tsvector('simple', msg.body) @@ to_tsquery('simple', $2)",
            terms
                .iter()
                .map(|term| format!("{term}:*"))
                .collect::<Vec<_>>()
                .join(" & "),
        ),
    };
    let rows: Vec<MessageRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM {source} \
         JOIN members m ON m.conversation_id = msg.conversation_id AND m.user_id = $1 \
           AND m.left_seq IS NULL AND msg.seq >= m.joined_seq \
         WHERE {matcher} AND msg.deleted_at IS NULL AND ($3 = '' OR msg.id < $3) \
         ORDER BY msg.id DESC LIMIT $4"
    )))
    .bind(auth.user_id.to_string())
    .bind(expression)
    .bind(cursor.map(|id| id.to_string()).unwrap_or_default())
    .bind(limit + 1)
    .fetch_all(&mut *connection)
    .await?;
    let has_more = rows.len() as i64 > limit;
    let messages = rows
        .into_iter()
        .take(limit as usize)
        .map(MessageRow::into_message)
        .collect::<Result<Vec<_>>>()?;
    let messages = with_details(&mut connection, messages).await?;
    let next_cursor = has_more
        .then(|| messages.last().map(|message| message.id.to_string()))
        .flatten();
    Ok(SearchResults {
        messages,
        next_cursor,
    })
}
