//! The call history: every finished call is stored once, and recorded as a message in the two
//! users' direct conversation (so a missed call counts as unread there, and reaches devices
//! that were offline through the usual event stream).

use natter_protocol::{CallHistory, CallKind, CallRecord};
use sqlx::AssertSqlSafe;

use crate::{
    auth::AuthSession,
    calls::referee,
    conversations,
    db::Db,
    error::{Error, Result},
    live::Live,
    messages,
    util::parse_id,
    validate,
};

const CALL_COLUMNS: &str = "id, caller_id, callee_id, kind, started_at, answered_at, ended_at, \
     duration_ms, end_reason, conversation_id";

#[derive(sqlx::FromRow)]
struct CallRow {
    id: String,
    caller_id: String,
    callee_id: String,
    kind: String,
    started_at: i64,
    answered_at: Option<i64>,
    ended_at: i64,
    duration_ms: i64,
    end_reason: String,
    conversation_id: Option<String>,
}

impl CallRow {
    fn into_record(self) -> Result<CallRecord> {
        let unreadable = |what: &str, value: &str| {
            Error::Internal(anyhow::anyhow!("a stored call has {what} {value:?}"))
        };
        Ok(CallRecord {
            call_id: parse_id(&self.id)?,
            caller_id: parse_id(&self.caller_id)?,
            callee_id: parse_id(&self.callee_id)?,
            kind: serde_json::from_value(serde_json::Value::String(self.kind.clone()))
                .map_err(|_| unreadable("the kind", &self.kind))?,
            started_at: self.started_at,
            answered_at: self.answered_at,
            ended_at: self.ended_at,
            duration_ms: self.duration_ms,
            end_reason: serde_json::from_value(serde_json::Value::String(self.end_reason.clone()))
                .map_err(|_| unreadable("the end reason", &self.end_reason))?,
            conversation_id: self.conversation_id.as_deref().map(parse_id).transpose()?,
        })
    }
}

/// Stores a finished call and records it in the direct conversation of its two users (created
/// if they only shared a group). Recording the same call twice stores it once.
pub async fn record(db: &Db, live: &dyn Live, finished: referee::CallRecord) -> Result<CallRecord> {
    let info = finished.call;
    let (conversation_id, _) =
        conversations::find_or_create_direct(db, live, info.caller_id, info.callee_id).await?;
    let record = CallRecord {
        call_id: info.call_id,
        caller_id: info.caller_id,
        callee_id: info.callee_id,
        kind: info.kind,
        started_at: info.started_at,
        answered_at: finished.answered_at,
        ended_at: finished.ended_at,
        duration_ms: finished.duration_ms(),
        end_reason: finished.reason,
        conversation_id: Some(conversation_id),
    };
    // Through the single-writer lock, like every write (see `Db::begin_write`).
    db.execute_write(
        sqlx::query(
            "INSERT INTO calls (id, caller_id, callee_id, kind, started_at, answered_at, ended_at, \
               duration_ms, end_reason, conversation_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
        )
        .bind(record.call_id.to_string())
        .bind(record.caller_id.to_string())
        .bind(record.callee_id.to_string())
        .bind(match record.kind {
            CallKind::Voice => "voice",
            CallKind::Video => "video",
        })
        .bind(record.started_at)
        .bind(record.answered_at)
        .bind(record.ended_at)
        .bind(record.duration_ms)
        .bind(record.end_reason.as_str())
        .bind(conversation_id.to_string()),
    )
    .await?;
    messages::post_call_record(db, live, conversation_id, record).await?;
    Ok(record)
}

/// My calls, made and received, newest first; `before` is a `started_at` from the last page.
pub async fn list(
    db: &Db,
    auth: AuthSession,
    before: Option<i64>,
    limit: Option<u32>,
) -> Result<CallHistory> {
    let limit = validate::page_limit(limit)?;
    let rows: Vec<CallRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CALL_COLUMNS} FROM calls \
         WHERE (caller_id = $1 OR callee_id = $1) AND started_at < $2 \
         ORDER BY started_at DESC, id DESC LIMIT $3"
    )))
    .bind(auth.user_id.to_string())
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit + 1)
    .fetch_all(&db.pool)
    .await?;
    let has_more = rows.len() as i64 > limit;
    let calls = rows
        .into_iter()
        .take(limit as usize)
        .map(CallRow::into_record)
        .collect::<Result<Vec<_>>>()?;
    Ok(CallHistory { calls, has_more })
}
