//! Accounts and device sessions: sign up, log in, authenticate a token, log out, revoke.

use std::net::IpAddr;

use natter_protocol::{
    AuthResponse, LoginRequest, SessionId, SessionInfo, SessionList, SignupRequest, UserId,
};

use crate::{
    core::Core,
    credentials::{new_session_token, token_digest},
    error::{Error, Result, is_unique_violation},
    users,
    util::{new_id, now_ms, parse_id},
    validate,
};

/// Who is making a request, as derived from their session token. Never from the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthSession {
    pub user_id: UserId,
    pub session_id: SessionId,
}

/// How often a session's `last_used_at` is written back, at most.
const TOUCH_INTERVAL_MS: i64 = 60_000;

pub async fn signup(
    core: &Core,
    request: SignupRequest,
    client_ip: IpAddr,
) -> Result<AuthResponse> {
    let username = validate::username(&request.username)?;
    core.auth_limits.check(client_ip, "signup", &username)?;
    let display_name = validate::display_name(&request.display_name)?;
    validate::password(&request.password)?;
    let device_name = validate::device_name(request.device_name.as_deref())?;
    let password_hash = core.passwords.hash(&request.password).await?;

    let user_id = new_id();
    let now = now_ms();
    let mut tx = core.db.begin_write().await?;
    let inserted = sqlx::query(
        "INSERT INTO users (id, username, display_name, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user_id.to_string())
    .bind(&username)
    .bind(&display_name)
    .bind(&password_hash)
    .bind(now)
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(error) if is_unique_violation(&error) => return Err(Error::UsernameTaken),
        other => other?,
    };
    let (token, session) = insert_session(&mut tx, user_id, &device_name, now).await?;
    tx.commit().await?;
    let user = users::get(core, user_id, user_id).await?;
    Ok(AuthResponse {
        token,
        session,
        user,
    })
}

pub async fn login(core: &Core, request: LoginRequest, client_ip: IpAddr) -> Result<AuthResponse> {
    // A malformed username cannot exist; answer exactly as for a wrong password.
    let username = validate::username(&request.username).unwrap_or_default();
    core.auth_limits.check(client_ip, "login", &username)?;
    let device_name = validate::device_name(request.device_name.as_deref())?;
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE username = $1")
            .bind(&username)
            .fetch_optional(&core.db.pool)
            .await?;
    let (user_id, stored_hash) = match row {
        Some((id, hash)) => (Some(id), Some(hash)),
        None => (None, None),
    };
    let password_ok = core
        .passwords
        .verify(&request.password, stored_hash)
        .await?;
    let user_id = match (user_id, password_ok) {
        (Some(id), true) => parse_id(&id)?,
        _ => return Err(Error::InvalidCredentials),
    };
    let mut tx = core.db.begin_write().await?;
    let (token, session) = insert_session(&mut tx, user_id, &device_name, now_ms()).await?;
    tx.commit().await?;
    let user = users::get(core, user_id, user_id).await?;
    Ok(AuthResponse {
        token,
        session,
        user,
    })
}

async fn insert_session(
    connection: &mut sqlx::AnyConnection,
    user_id: UserId,
    device_name: &str,
    now: i64,
) -> Result<(String, SessionInfo)> {
    let token = new_session_token();
    let session_id = new_id();
    sqlx::query(
        "INSERT INTO sessions (id, user_id, token_hash, device_name, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(session_id.to_string())
    .bind(user_id.to_string())
    .bind(token_digest(&token))
    .bind(device_name)
    .bind(now)
    .execute(connection)
    .await?;
    let session = SessionInfo {
        id: session_id,
        device_name: device_name.to_owned(),
        created_at: now,
        last_used_at: now,
        current: true,
    };
    Ok((token, session))
}

/// Resolves a bearer token to its session, or fails with `Unauthorized`.
pub async fn authenticate(core: &Core, token: &str) -> Result<AuthSession> {
    if token.is_empty() || token.len() > 128 {
        return Err(Error::Unauthorized);
    }
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT id, user_id, last_used_at FROM sessions WHERE token_hash = $1")
            .bind(token_digest(token))
            .fetch_optional(&core.db.pool)
            .await?;
    let Some((session_id, user_id, last_used_at)) = row else {
        return Err(Error::Unauthorized);
    };
    let now = now_ms();
    if now - last_used_at > TOUCH_INTERVAL_MS {
        // Best effort: a failed bookkeeping write must not fail the request.
        let _ = core
            .db
            .execute_write(
                sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(&session_id),
            )
            .await;
    }
    Ok(AuthSession {
        user_id: parse_id(&user_id)?,
        session_id: parse_id(&session_id)?,
    })
}

pub async fn session_exists(core: &Core, session_id: SessionId) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM sessions WHERE id = $1")
        .bind(session_id.to_string())
        .fetch_optional(&core.db.pool)
        .await?;
    Ok(row.is_some())
}

pub async fn list_sessions(core: &Core, auth: AuthSession) -> Result<SessionList> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT id, device_name, created_at, last_used_at FROM sessions \
         WHERE user_id = $1 ORDER BY created_at DESC",
    )
    .bind(auth.user_id.to_string())
    .fetch_all(&core.db.pool)
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
pub async fn revoke_session(core: &Core, auth: AuthSession, session_id: SessionId) -> Result<()> {
    let deleted = core
        .db
        .execute_write(
            sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
                .bind(session_id.to_string())
                .bind(auth.user_id.to_string()),
        )
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    core.hub.kick_sessions(&[session_id]);
    Ok(())
}

/// Revokes all my sessions, or all but the current one.
pub async fn revoke_all_sessions(core: &Core, auth: AuthSession, keep_current: bool) -> Result<()> {
    let keep = if keep_current {
        auth.session_id.to_string()
    } else {
        String::new()
    };
    let mut tx = core.db.begin_write().await?;
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
    core.hub.kick_sessions(&revoked);
    Ok(())
}
