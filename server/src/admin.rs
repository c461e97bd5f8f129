//! What admins do to accounts and see of the server: the user list, promote and demote,
//! disable and enable, password resets, deletion, statistics. Every change is audited. The
//! HTTP routes (`api/admin.rs`) and the server's console (`console.rs`) both come here.

use std::time::Instant;

use natter_protocol::{
    AdminStats, AdminUpdateUserRequest, AdminUser, AdminUserPage, PasswordResetCode, SignupMode,
    UserId,
};

use crate::{
    accounts::{self, NewAccount, deletion, passwords, second_factor, sessions},
    audit::{self, Actor},
    credentials::PasswordHashing,
    db::Db,
    error::{Error, Result},
    live::Live,
    util::{now_ms, parse_id},
    validate,
};

#[derive(sqlx::FromRow)]
struct AdminUserRow {
    id: String,
    username: String,
    display_name: String,
    is_admin: i64,
    disabled_at: Option<i64>,
    totp_enabled_at: Option<i64>,
    created_at: i64,
    last_seen_at: Option<i64>,
    sessions: i64,
}

const ADMIN_USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.is_admin, \
     u.disabled_at, u.totp_enabled_at, u.created_at, u.last_seen_at, \
     (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id) AS sessions";

impl AdminUserRow {
    fn into_admin_user(self, live: &dyn Live) -> Result<AdminUser> {
        let id = parse_id(&self.id)?;
        let online = live.is_online(&id);
        Ok(AdminUser {
            id,
            username: self.username,
            display_name: self.display_name,
            is_admin: self.is_admin != 0,
            disabled: self.disabled_at.is_some(),
            totp_enabled: self.totp_enabled_at.is_some(),
            created_at: self.created_at,
            last_seen_at: if online { None } else { self.last_seen_at },
            online,
            sessions: self.sessions.clamp(0, i64::from(u32::MAX)) as u32,
        })
    }
}

/// Accounts whose username starts with, or display name contains, `query`, by username.
pub async fn users(
    db: &Db,
    live: &dyn Live,
    query: Option<&str>,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<AdminUserPage> {
    let limit = validate::page_limit(limit)?;
    let search = validate::name_search(query, cursor)?;
    let rows: Vec<AdminUserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ADMIN_USER_COLUMNS} FROM users u \
         WHERE u.deleted_at IS NULL \
           AND (u.username LIKE $1 ESCAPE '\\' OR LOWER(u.display_name) LIKE $2 ESCAPE '\\') \
           AND u.username > $3 \
         ORDER BY u.username LIMIT $4"
    )))
    .bind(search.username_prefix)
    .bind(search.display_name_part)
    .bind(search.after)
    .bind(limit + 1)
    .fetch_all(&db.pool)
    .await?;
    let has_more = rows.len() as i64 > limit;
    let users = rows
        .into_iter()
        .take(limit as usize)
        .map(|row| row.into_admin_user(live))
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = has_more
        .then(|| users.last().map(|user| user.username.clone()))
        .flatten();
    Ok(AdminUserPage { users, next_cursor })
}

pub async fn user(db: &Db, live: &dyn Live, user_id: UserId) -> Result<AdminUser> {
    let row: Option<AdminUserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ADMIN_USER_COLUMNS} FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL"
    )))
    .bind(user_id.to_string())
    .fetch_optional(&db.pool)
    .await?;
    row.ok_or(Error::NotFound)?.into_admin_user(live)
}

/// The account named `username` (any case), for the console.
pub async fn user_id_by_name(db: &Db, username: &str) -> Result<UserId> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT id FROM users WHERE username = $1 AND deleted_at IS NULL")
            .bind(username.trim().to_lowercase())
            .fetch_optional(&db.pool)
            .await?;
    parse_id(&row.ok_or(Error::NotFound)?.0)
}

/// Promotes or demotes, disables or enables. An admin may not demote or disable themselves:
/// another admin must, so nobody locks a server out of its last admin by a slip.
pub async fn update_user(
    db: &Db,
    live: &dyn Live,
    actor: Actor,
    user_id: UserId,
    request: AdminUpdateUserRequest,
) -> Result<AdminUser> {
    if actor.user_id() == Some(user_id)
        && (request.is_admin == Some(false) || request.disabled == Some(true))
    {
        return Err(Error::Forbidden(
            "you cannot demote or disable yourself; another admin can",
        ));
    }
    let now = now_ms();
    let id = user_id.to_string();
    let mut tx = db.begin_write().await?;
    let current: Option<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT is_admin, disabled_at FROM users WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(&id)
    .fetch_optional(&mut *tx)
    .await?;
    let (is_admin, disabled_at) = current.ok_or(Error::NotFound)?;
    let mut ended = Vec::new();
    if let Some(wanted) = request.is_admin
        && wanted != (is_admin != 0)
    {
        sqlx::query("UPDATE users SET is_admin = $1 WHERE id = $2")
            .bind(i64::from(wanted))
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        let action = if wanted {
            "user.promote"
        } else {
            "user.demote"
        };
        audit::record(&mut tx, actor, action, Some(user_id), serde_json::json!({})).await?;
    }
    if let Some(wanted) = request.disabled
        && wanted != disabled_at.is_some()
    {
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(wanted.then_some(now))
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        if wanted {
            ended = sessions::end_all(&mut tx, user_id).await?;
        }
        let action = if wanted {
            "user.disable"
        } else {
            "user.enable"
        };
        audit::record(&mut tx, actor, action, Some(user_id), serde_json::json!({})).await?;
    }
    tx.commit().await?;
    if !ended.is_empty() || request.disabled == Some(true) {
        live.kick_sessions(&ended);
        live.kick_users(&[user_id]);
    }
    user(db, live, user_id).await
}

pub async fn reset_password(db: &Db, actor: Actor, user_id: UserId) -> Result<PasswordResetCode> {
    let mut tx = db.begin_write().await?;
    let code = passwords::issue_reset_code(&mut tx, actor, user_id).await?;
    tx.commit().await?;
    Ok(code)
}

/// Turns off the second factor of someone who lost both their phone and their recovery codes
/// (confirm who they are first, outside Natter). Their sessions stay.
pub async fn reset_two_factor(
    db: &Db,
    live: &dyn Live,
    actor: Actor,
    user_id: UserId,
) -> Result<AdminUser> {
    let mut tx = db.begin_write().await?;
    let enabled: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT totp_enabled_at FROM users WHERE id = $1 AND deleted_at IS NULL")
            .bind(user_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
    let (enabled_at,) = enabled.ok_or(Error::NotFound)?;
    if enabled_at.is_none() {
        return Err(Error::Conflict(
            "two-factor sign-in is not on for this account",
        ));
    }
    second_factor::clear(&mut tx, user_id).await?;
    audit::record(
        &mut tx,
        actor,
        "user.reset_two_factor",
        Some(user_id),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    user(db, live, user_id).await
}

pub async fn delete_user(db: &Db, live: &dyn Live, actor: Actor, user_id: UserId) -> Result<()> {
    if actor.user_id() == Some(user_id) {
        return Err(Error::Forbidden(
            "delete your own account from your account settings, not as an admin",
        ));
    }
    deletion::delete(db, live, user_id, Some(actor)).await?;
    // The console has no clients to tell: the running servers (or the next to start) take the
    // account out of its groups, so that the members' apps hear it live.
    if actor != Actor::Console {
        deletion::finish_leaving(db, live).await?;
    }
    Ok(())
}

/// Creates an account from the console (`natter-server admin create-user`), whatever the
/// sign-up mode: how the first admin comes to be.
pub async fn create_user(
    db: &Db,
    passwords: &PasswordHashing,
    username: &str,
    display_name: Option<&str>,
    password: &str,
    is_admin: bool,
) -> Result<UserId> {
    let username = validate::username(username)?;
    let display_name = validate::display_name(display_name.unwrap_or(&username))?;
    validate::password(password)?;
    let password_hash = passwords.hash(password).await?;
    let mut tx = db.begin_write().await?;
    let user_id = accounts::insert_user(
        &mut tx,
        NewAccount {
            username: username.clone(),
            display_name,
            password_hash,
            is_admin,
            invite_id: None,
        },
        now_ms(),
    )
    .await?;
    audit::record(
        &mut tx,
        Actor::Console,
        "user.create",
        Some(user_id),
        serde_json::json!({ "username": username, "is_admin": is_admin }),
    )
    .await?;
    tx.commit().await?;
    Ok(user_id)
}

/// The server's figures; `signup` and `started_at` are the running server's.
pub async fn stats(
    db: &Db,
    live: &dyn Live,
    signup: SignupMode,
    started_at: Instant,
) -> Result<AdminStats> {
    let count = |sql: &'static str| {
        let pool = db.pool.clone();
        async move {
            let (count,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await?;
            Ok::<u64, Error>(count.max(0) as u64)
        }
    };
    let (users_online, connections) = live.counts();
    Ok(AdminStats {
        signup,
        users: count("SELECT COUNT(*) FROM users WHERE deleted_at IS NULL").await?,
        admins: count("SELECT COUNT(*) FROM users WHERE is_admin = 1 AND deleted_at IS NULL")
            .await?,
        disabled_users: count("SELECT COUNT(*) FROM users WHERE disabled_at IS NOT NULL").await?,
        sessions: count("SELECT COUNT(*) FROM sessions").await?,
        conversations: count("SELECT COUNT(*) FROM conversations").await?,
        messages: count("SELECT COUNT(*) FROM messages WHERE deleted_at IS NULL").await?,
        open_reports: count("SELECT COUNT(*) FROM reports WHERE resolved_at IS NULL").await?,
        users_online: users_online as u64,
        connections: connections as u64,
        uptime_seconds: started_at.elapsed().as_secs(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}
