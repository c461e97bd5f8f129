//! My signed-in devices: list them, sign one out, or all but this one.

use natter_protocol::{SessionId, SessionInfo, SessionList, UserId};

use crate::{
    auth::AuthSession,
    db::Db,
    error::{Error, Result},
    live::Live,
    util::parse_id,
};

pub async fn list_sessions(db: &Db, auth: AuthSession) -> Result<SessionList> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT id, device_name, created_at, last_used_at FROM sessions \
         WHERE user_id = $1 ORDER BY created_at DESC",
    )
    .bind(auth.user_id.to_string())
    .fetch_all(&db.pool)
    .await?;
    let sessions = rows
        .into_iter()
        .map(|(id, device_name, created_at, last_used_at)| {
            let id = parse_id(&id)?;
            Ok(SessionInfo {
                id,
                device_name,
                created_at,
                last_used_at,
                current: id == auth.session_id,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(SessionList { sessions })
}

/// Revokes one of my sessions (my current one included: that is logging out).
pub async fn revoke_session(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    session_id: SessionId,
) -> Result<()> {
    let deleted = db
        .execute_write(
            sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
                .bind(session_id.to_string())
                .bind(auth.user_id.to_string()),
        )
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    live.kick_sessions(&[session_id]);
    Ok(())
}

/// Revokes all my sessions, or all but the current one.
pub async fn revoke_all_sessions(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    keep_current: bool,
) -> Result<()> {
    let keep = if keep_current {
        auth.session_id.to_string()
    } else {
        String::new()
    };
    let mut tx = db.begin_write().await?;
    let revoked: Vec<(String,)> =
        sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id")
            .bind(auth.user_id.to_string())
            .bind(keep)
            .fetch_all(&mut *tx)
            .await?;
    tx.commit().await?;
    let revoked = revoked
        .iter()
        .map(|(id,)| parse_id(id))
        .collect::<Result<Vec<_>>>()?;
    live.kick_sessions(&revoked);
    Ok(())
}

/// Ends every session of a user (disabled, deleted, password reset) in the caller's
/// transaction and answers them, for the caller to kick after commit (`Live::kick_sessions`).
/// Other processes find disabled and deleted accounts themselves (`lib.rs::close_ended_accounts`).
pub async fn end_all(
    connection: &mut sqlx::AnyConnection,
    user_id: UserId,
) -> Result<Vec<SessionId>> {
    let ended: Vec<(String,)> =
        sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 RETURNING id")
            .bind(user_id.to_string())
            .fetch_all(connection)
            .await?;
    ended.iter().map(|(id,)| parse_id(id)).collect()
}
