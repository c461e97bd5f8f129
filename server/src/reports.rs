//! Reports: anyone may report a message they can see to the admins, with a reason; admins list
//! them and mark them handled. The report keeps what the message said when it was reported.

use natter_protocol::{
    ConversationId, MessageId, Report, ReportId, ReportList, ReportRequest,
    limits::REPORT_REASON_MAX_CHARS,
};

use crate::{
    audit::{self, Actor},
    auth::AuthSession,
    db::Db,
    error::{Error, Result, is_unique_violation},
    util::{new_id, now_ms, parse_id},
};

pub async fn report(
    db: &Db,
    auth: AuthSession,
    conversation_id: ConversationId,
    message_id: MessageId,
    request: ReportRequest,
) -> Result<ReportId> {
    let reason = request.reason.trim().to_owned();
    let length = reason.chars().count();
    if length == 0 || length > REPORT_REASON_MAX_CHARS {
        return Err(Error::validation(format!(
            "reason must be 1 to {REPORT_REASON_MAX_CHARS} characters"
        )));
    }
    let mut tx = db.begin_write().await?;
    // Only a message the reporter can see: the same not-found as for anything else of a
    // conversation they are not in.
    let message: Option<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT msg.sender_id, msg.body, msg.deleted_at FROM messages msg \
         JOIN members m ON m.conversation_id = msg.conversation_id AND m.user_id = $1 \
         WHERE msg.id = $2 AND msg.conversation_id = $3 AND msg.seq >= m.joined_seq \
           AND (m.left_seq IS NULL OR msg.seq <= m.left_seq)",
    )
    .bind(auth.user_id.to_string())
    .bind(message_id.to_string())
    .bind(conversation_id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let (sender_id, body, deleted_at) = message.ok_or(Error::NotFound)?;
    if sender_id == auth.user_id.to_string() {
        return Err(Error::Forbidden("you cannot report your own message"));
    }
    if deleted_at.is_some() {
        return Err(Error::Conflict("that message was deleted"));
    }
    let id = new_id();
    let inserted = sqlx::query(
        "INSERT INTO reports (id, reporter_id, conversation_id, message_id, sender_id, \
         message_body, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(auth.user_id.to_string())
    .bind(conversation_id.to_string())
    .bind(message_id.to_string())
    .bind(&sender_id)
    .bind(&body)
    .bind(&reason)
    .bind(now_ms())
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(error) if is_unique_violation(&error) => {
            return Err(Error::Conflict("you already reported this message"));
        }
        other => other?,
    };
    tx.commit().await?;
    Ok(id)
}

type ReportRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
);

/// Reports, newest first: the open ones, or all (at most 500).
pub async fn list(db: &Db, open_only: bool) -> Result<ReportList> {
    let rows: Vec<ReportRow> = sqlx::query_as(
        "SELECT r.id, r.reporter_id, reporter.username, r.conversation_id, r.message_id, \
                r.sender_id, sender.username, r.message_body, r.reason, r.created_at, \
                r.resolved_at \
         FROM reports r JOIN users reporter ON reporter.id = r.reporter_id \
         JOIN users sender ON sender.id = r.sender_id \
         WHERE ($1 = 0 OR r.resolved_at IS NULL) ORDER BY r.created_at DESC, r.id DESC LIMIT 500",
    )
    .bind(i64::from(open_only))
    .fetch_all(&db.pool)
    .await?;
    let reports = rows
        .into_iter()
        .map(|row| {
            Ok(Report {
                id: parse_id(&row.0)?,
                reporter_id: parse_id(&row.1)?,
                reporter_username: row.2,
                conversation_id: parse_id(&row.3)?,
                message_id: parse_id(&row.4)?,
                sender_id: parse_id(&row.5)?,
                sender_username: row.6,
                message_body: row.7,
                reason: row.8,
                created_at: row.9,
                resolved_at: row.10,
            })
        })
        .collect::<Result<_>>()?;
    Ok(ReportList { reports })
}

pub async fn resolve(db: &Db, admin: AuthSession, report_id: ReportId) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let resolved: Option<(String,)> = sqlx::query_as(
        "UPDATE reports SET resolved_at = $1, resolved_by = $2 \
         WHERE id = $3 AND resolved_at IS NULL RETURNING sender_id",
    )
    .bind(now_ms())
    .bind(admin.user_id.to_string())
    .bind(report_id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let (sender_id,) = resolved.ok_or(Error::NotFound)?;
    audit::record(
        &mut tx,
        Actor::from(admin),
        "report.resolve",
        Some(parse_id(&sender_id)?),
        serde_json::json!({ "report_id": report_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
