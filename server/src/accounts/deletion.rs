//! Deleting an account, and closing the connections of accounts that were disabled or deleted.
//!
//! What a deleted account leaves (docs/protocol.md, "Deleting an account"): the messages it
//! sent stay in the conversations, shown as from "Deleted account", as Signal, Element and
//! Discord keep them: they are part of the other people's history, and a reply or a quote
//! would lose its sense without them. Everything that identifies the person goes: username
//! (free to take again), display name, status, avatar, password, second factor, sessions,
//! blocks, unused invites; and the account leaves its groups.

use std::net::IpAddr;

use natter_protocol::{ConfirmWithPassword, UserId};

use crate::{
    accounts::{self, Gate, second_factor, sessions},
    audit::{self, Actor},
    auth::AuthSession,
    conversations,
    db::Db,
    error::{Error, Result},
    live::Live,
    util::{now_ms, parse_id},
};

/// The display name a deleted account's messages show.
pub const DELETED_DISPLAY_NAME: &str = "Deleted account";

/// `POST /api/me/delete`: after the password (and second factor) confirm it is me.
pub async fn delete_own(
    db: &Db,
    live: &dyn Live,
    gate: &Gate,
    auth: AuthSession,
    client_ip: IpAddr,
    request: ConfirmWithPassword,
) -> Result<()> {
    accounts::confirm_identity(db, gate, auth, client_ip, &request).await?;
    delete(db, live, auth.user_id, None).await?;
    finish_leaving(db, live).await
}

/// Deletes `user_id`'s account; `by_admin` is set (and audited) when an admin does it. The
/// account still has to leave its groups: [`finish_leaving`], which the caller runs when this
/// process serves clients (they then see it live), and every server process runs periodically.
pub async fn delete(
    db: &Db,
    live: &dyn Live,
    user_id: UserId,
    by_admin: Option<Actor>,
) -> Result<()> {
    let now = now_ms();
    let id = user_id.to_string();
    let mut tx = db.begin_write().await?;
    // The username becomes one no sign-up can choose (too long, and it names the id), so the
    // name is free again and nobody can pass for the deleted account.
    let anonymised = sqlx::query(
        "UPDATE users SET username = $1, display_name = $2, status_text = '', avatar = NULL, \
         avatar_version = avatar_version + 1, password_hash = '', is_admin = 0, \
         disabled_at = NULL, deleted_at = $3 WHERE id = $4 AND deleted_at IS NULL",
    )
    .bind(format!("deleted-{id}"))
    .bind(DELETED_DISPLAY_NAME)
    .bind(now)
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    if anonymised.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    second_factor::clear(&mut tx, user_id).await?;
    let ended = sessions::end_all(&mut tx, user_id).await?;
    for statement in [
        "DELETE FROM blocks WHERE blocker_id = $1 OR blocked_id = $1",
        "DELETE FROM password_resets WHERE user_id = $1",
    ] {
        sqlx::query(statement).bind(&id).execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE invites SET revoked_at = $1 WHERE created_by = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    if let Some(actor) = by_admin {
        audit::record(
            &mut tx,
            actor,
            "user.delete",
            Some(user_id),
            serde_json::json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    live.kick_sessions(&ended);
    live.kick_users(&[user_id]);
    Ok(())
}

/// Takes deleted accounts out of the groups they are still in: each group learns it as the
/// account leaving, with the events and owner hand-over of a member who leaves. Run after each
/// deletion and every few seconds by every server process (`close_ended_accounts`), so a
/// deletion cut short, or made by the console or another node, still completes, and its
/// events go out from a process whose clients are connected.
pub async fn finish_leaving(db: &Db, live: &dyn Live) -> Result<()> {
    let memberships: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.user_id, m.conversation_id FROM users u \
         JOIN members m ON m.user_id = u.id AND m.left_seq IS NULL \
         JOIN conversations c ON c.id = m.conversation_id AND c.kind = 'group' \
         WHERE u.deleted_at IS NOT NULL LIMIT 100",
    )
    .fetch_all(&db.pool)
    .await?;
    for (user_id, group) in memberships {
        let (user_id, group) = (parse_id(&user_id)?, parse_id(&group)?);
        let leaving = AuthSession {
            user_id,
            session_id: uuid::Uuid::nil(),
            is_admin: false,
        };
        match conversations::remove_member(db, live, leaving, group, user_id).await {
            // Another process took it out first.
            Ok(()) | Err(Error::NotFound) => {}
            Err(error) => {
                tracing::warn!(%error, %group, "a deleted account could not leave a group");
            }
        }
    }
    Ok(())
}

/// Accounts disabled or deleted at or after `since`, so that every server process closes their
/// connections, whichever process (or the console) made the change.
pub async fn ended_since(db: &Db, since: i64) -> Result<Vec<UserId>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM users WHERE disabled_at >= $1 OR deleted_at >= $1")
            .bind(since)
            .fetch_all(&db.pool)
            .await?;
    rows.iter().map(|(id,)| parse_id(id)).collect()
}
