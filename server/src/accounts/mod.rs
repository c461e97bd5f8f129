//! Accounts: sign up (with an invite where the server asks for one), log in (with a second
//! factor where the account has one), and a token to the session it belongs to. What people do
//! with their account once in is in the submodules.

pub mod deletion;
pub mod export;
pub mod invites;
pub mod passwords;
pub mod second_factor;
pub mod sessions;

use std::net::IpAddr;

use natter_protocol::{
    AccountInfo, AuthResponse, ConfirmWithPassword, LoginRequest, SessionId, SessionInfo,
    SignupMode, SignupRequest, UserId,
};

use crate::{
    auth::AuthSession,
    credentials::{PasswordHashing, new_session_token, token_digest},
    db::Db,
    error::{Error, Result, is_unique_violation},
    live::Live,
    rate_limit::AuthRateLimits,
    users,
    util::{new_id, now_ms, parse_id},
    validate,
};

/// The way into an account: every password attempt counts against the limits (per client
/// address and per account) before the Argon2id hasher checks it.
pub struct Gate {
    pub limits: AuthRateLimits,
    pub passwords: PasswordHashing,
}

/// How often a session's `last_used_at` is written back, at most.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// What a new account is made of, once checked.
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub invite_id: Option<String>,
}

pub async fn signup(
    db: &Db,
    live: &dyn Live,
    gate: &Gate,
    mode: SignupMode,
    request: SignupRequest,
    client_ip: IpAddr,
) -> Result<AuthResponse> {
    let username = validate::username(&request.username)?;
    gate.limits.check(client_ip, "signup", &username)?;
    // The fields first: a form shows their errors before asking about the invite.
    let display_name = validate::display_name(&request.display_name)?;
    validate::password(&request.password)?;
    let device_name = validate::device_name(request.device_name.as_deref())?;
    let invite_code = request
        .invite_code
        .as_deref()
        .map(str::trim)
        .filter(|code| !code.is_empty());
    match (mode, invite_code) {
        (SignupMode::Closed, _) => return Err(Error::SignupClosed),
        (SignupMode::Invite, None) => {
            return Err(Error::InviteInvalid(
                "this server needs an invite to sign up: ask someone on it for an invite code",
            ));
        }
        _ => {}
    }
    let password_hash = gate.passwords.hash(&request.password).await?;

    let now = now_ms();
    let mut tx = db.begin_write().await?;
    // In the account's own transaction: a sign-up that fails later gives the use back, and two
    // sign-ups racing for an invite's last use cannot both have it.
    let invite_id = match invite_code {
        Some(code) => Some(invites::redeem(&mut tx, code, now).await?),
        None => None,
    };
    let user_id = insert_user(
        &mut tx,
        NewAccount {
            username,
            display_name,
            password_hash,
            is_admin: false,
            invite_id,
        },
        now,
    )
    .await?;
    let (token, session) = insert_session(&mut tx, user_id, &device_name, now).await?;
    tx.commit().await?;
    signed_in(db, live, user_id, token, session).await
}

/// The answer to a sign-up or log-in that made `session`.
async fn signed_in(
    db: &Db,
    live: &dyn Live,
    user_id: UserId,
    token: String,
    session: SessionInfo,
) -> Result<AuthResponse> {
    let user = users::get(db, live, user_id, user_id).await?;
    Ok(AuthResponse {
        token,
        session,
        user,
    })
}

/// Adds an account row; `UsernameTaken` when the name is in use.
pub async fn insert_user(
    connection: &mut sqlx::AnyConnection,
    account: NewAccount,
    now: i64,
) -> Result<UserId> {
    let user_id = new_id();
    let inserted = sqlx::query(
        "INSERT INTO users (id, username, display_name, password_hash, created_at, is_admin, \
         invite_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(user_id.to_string())
    .bind(&account.username)
    .bind(&account.display_name)
    .bind(&account.password_hash)
    .bind(now)
    .bind(i64::from(account.is_admin))
    .bind(account.invite_id)
    .execute(connection)
    .await;
    match inserted {
        Err(error) if is_unique_violation(&error) => Err(Error::UsernameTaken),
        Err(error) => Err(error.into()),
        Ok(_) => Ok(user_id),
    }
}

#[derive(sqlx::FromRow)]
struct LoginRow {
    id: String,
    password_hash: String,
    disabled_at: Option<i64>,
    totp_enabled_at: Option<i64>,
}

pub async fn login(
    db: &Db,
    live: &dyn Live,
    gate: &Gate,
    request: LoginRequest,
    client_ip: IpAddr,
) -> Result<AuthResponse> {
    // A malformed username cannot exist; answer exactly as for a wrong password.
    let username = validate::username(&request.username).unwrap_or_default();
    gate.limits.check(client_ip, "login", &username)?;
    let device_name = validate::device_name(request.device_name.as_deref())?;
    let row: Option<LoginRow> = sqlx::query_as(
        "SELECT id, password_hash, disabled_at, totp_enabled_at FROM users \
         WHERE username = $1 AND deleted_at IS NULL",
    )
    .bind(&username)
    .fetch_optional(&db.pool)
    .await?;
    let stored_hash = row.as_ref().map(|row| row.password_hash.clone());
    let password_ok = gate
        .passwords
        .verify(&request.password, stored_hash)
        .await?;
    let row = match (row, password_ok) {
        (Some(row), true) => row,
        _ => return Err(Error::InvalidCredentials),
    };
    // Only someone who knows the password learns that the account is disabled.
    if row.disabled_at.is_some() {
        return Err(Error::AccountDisabled);
    }
    let user_id = parse_id(&row.id)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    if row.totp_enabled_at.is_some() {
        let code = request.totp_code.as_deref().ok_or(Error::TotpRequired)?;
        second_factor::verify(&mut tx, user_id, code, now).await?;
    }
    let (token, session) = insert_session(&mut tx, user_id, &device_name, now).await?;
    tx.commit().await?;
    signed_in(db, live, user_id, token, session).await
}

pub(crate) async fn insert_session(
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

/// Resolves a bearer token to its session, or fails with `Unauthorized`. A disabled account's
/// sessions are gone already; the check here also covers a disable that raced the request.
pub async fn authenticate(db: &Db, token: &str) -> Result<AuthSession> {
    if token.is_empty() || token.len() > 128 {
        return Err(Error::Unauthorized);
    }
    let row: Option<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT s.id, s.user_id, s.last_used_at, u.is_admin FROM sessions s \
         JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND u.disabled_at IS NULL AND u.deleted_at IS NULL",
    )
    .bind(token_digest(token))
    .fetch_optional(&db.pool)
    .await?;
    let Some((session_id, user_id, last_used_at, is_admin)) = row else {
        return Err(Error::Unauthorized);
    };
    let now = now_ms();
    if now - last_used_at > TOUCH_INTERVAL_MS {
        // Best effort: a failed bookkeeping write must not fail the request.
        let _ = db
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
        is_admin: is_admin != 0,
    })
}

pub async fn session_exists(db: &Db, session_id: SessionId) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM sessions WHERE id = $1")
        .bind(session_id.to_string())
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.is_some())
}

/// My account as I see it.
pub async fn account_info(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    users_can_invite: bool,
) -> Result<AccountInfo> {
    let row: Option<(i64, Option<i64>, i64)> =
        sqlx::query_as("SELECT is_admin, totp_enabled_at, created_at FROM users WHERE id = $1")
            .bind(auth.user_id.to_string())
            .fetch_optional(&db.pool)
            .await?;
    let (is_admin, totp_enabled_at, created_at) = row.ok_or(Error::NotFound)?;
    let is_admin = is_admin != 0;
    Ok(AccountInfo {
        user: users::get(db, live, auth.user_id, auth.user_id).await?,
        is_admin,
        totp_enabled: totp_enabled_at.is_some(),
        can_invite: is_admin || users_can_invite,
        created_at,
    })
}

/// Checks that `password` (and, when the account has two-factor sign-in, `totp_code`) are the
/// account's, before an action that cannot be undone. Counted like log-ins against the
/// account, so a stolen token cannot be used to guess the password.
pub async fn confirm_identity(
    db: &Db,
    gate: &Gate,
    auth: AuthSession,
    client_ip: IpAddr,
    confirmation: &ConfirmWithPassword,
) -> Result<()> {
    let row: Option<(String, String, Option<i64>)> =
        sqlx::query_as("SELECT username, password_hash, totp_enabled_at FROM users WHERE id = $1")
            .bind(auth.user_id.to_string())
            .fetch_optional(&db.pool)
            .await?;
    let (username, hash, totp_enabled_at) = row.ok_or(Error::Unauthorized)?;
    // The log-in bucket: a stolen token gets no extra guesses at the password.
    gate.limits.check(client_ip, "login", &username)?;
    if !gate
        .passwords
        .verify(&confirmation.password, Some(hash))
        .await?
    {
        return Err(Error::WrongPassword);
    }
    if totp_enabled_at.is_some() {
        let code = confirmation
            .totp_code
            .as_deref()
            .ok_or(Error::TotpRequired)?;
        let mut tx = db.begin_write().await?;
        second_factor::verify(&mut tx, auth.user_id, code, now_ms()).await?;
        tx.commit().await?;
    }
    Ok(())
}
