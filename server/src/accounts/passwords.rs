//! Changing a password, and the one-time reset codes admins give people who forgot theirs (no
//! mail server needed: the admin passes the code on however they talk to the person).

use std::net::IpAddr;

use natter_protocol::{
    ChangePasswordRequest, PasswordResetCode, ResetPasswordRequest, UserId,
    limits::PASSWORD_RESET_TTL_MS,
};

use crate::{
    accounts::{Gate, sessions},
    audit::{self, Actor},
    auth::AuthSession,
    credentials::{code_digest, new_code},
    db::Db,
    error::{Error, Result},
    live::Live,
    util::{now_ms, parse_id},
    validate,
};

/// `POST /api/me/password`: needs the current password; may sign out every other device.
pub async fn change(
    db: &Db,
    live: &dyn Live,
    gate: &Gate,
    auth: AuthSession,
    client_ip: IpAddr,
    request: ChangePasswordRequest,
) -> Result<()> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT username, password_hash FROM users WHERE id = $1")
            .bind(auth.user_id.to_string())
            .fetch_optional(&db.pool)
            .await?;
    let (username, hash) = row.ok_or(Error::Unauthorized)?;
    // The log-in bucket: a stolen token gets no extra guesses at the password.
    gate.limits.check(client_ip, "login", &username)?;
    if !gate
        .passwords
        .verify(&request.current_password, Some(hash))
        .await?
    {
        return Err(Error::WrongPassword);
    }
    validate::password(&request.new_password)
        .map_err(|_| Error::validation("new_password must be 8 to 1024 bytes"))?;
    let new_hash = gate.passwords.hash(&request.new_password).await?;
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(new_hash)
        .bind(auth.user_id.to_string())
        .execute(&mut *tx)
        .await?;
    let mut ended = Vec::new();
    if request.sign_out_other_devices {
        let others: Vec<(String,)> =
            sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id")
                .bind(auth.user_id.to_string())
                .bind(auth.session_id.to_string())
                .fetch_all(&mut *tx)
                .await?;
        ended = others
            .iter()
            .map(|(id,)| parse_id(id))
            .collect::<Result<Vec<_>>>()?;
    }
    tx.commit().await?;
    live.kick_sessions(&ended);
    Ok(())
}

/// Makes a reset code for `user_id` (an admin's action, audited). Earlier unused codes of the
/// user stop working: only the newest one given out is valid.
pub async fn issue_reset_code(
    connection: &mut sqlx::AnyConnection,
    actor: Actor,
    user_id: UserId,
) -> Result<PasswordResetCode> {
    let exists: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL")
            .bind(user_id.to_string())
            .fetch_optional(&mut *connection)
            .await?;
    if exists.is_none() {
        return Err(Error::NotFound);
    }
    let code = new_code(4);
    let now = now_ms();
    let expires_at = now + PASSWORD_RESET_TTL_MS;
    sqlx::query("DELETE FROM password_resets WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(&mut *connection)
        .await?;
    sqlx::query(
        "INSERT INTO password_resets (code_hash, user_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(code_digest(&code))
    .bind(user_id.to_string())
    .bind(now)
    .bind(expires_at)
    .execute(&mut *connection)
    .await?;
    audit::record(
        connection,
        actor,
        "user.password_reset",
        Some(user_id),
        serde_json::json!({ "expires_at": expires_at }),
    )
    .await?;
    Ok(PasswordResetCode { code, expires_at })
}

/// `POST /api/auth/reset-password`: spends the code once, sets the password, and ends every
/// session of the account (whoever knew the old password is signed out).
pub async fn reset(
    db: &Db,
    live: &dyn Live,
    gate: &Gate,
    client_ip: IpAddr,
    request: ResetPasswordRequest,
) -> Result<()> {
    gate.limits.check_address(client_ip)?;
    validate::password(&request.new_password)
        .map_err(|_| Error::validation("new_password must be 8 to 1024 bytes"))?;
    let refused = || {
        Error::Forbidden(
            "this reset code is unknown, already used or expired; ask an admin for a new one",
        )
    };
    // The code first: a made-up code costs no password hash.
    let known: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM password_resets WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(code_digest(&request.code))
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await?;
    if known.is_none() {
        return Err(refused());
    }
    let new_hash = gate.passwords.hash(&request.new_password).await?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let spent: Option<(String,)> = sqlx::query_as(
        "UPDATE password_resets SET used_at = $1 \
         WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
    )
    .bind(now)
    .bind(code_digest(&request.code))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user_id,)) = spent else {
        return Err(refused());
    };
    let user_id = parse_id(&user_id)?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND deleted_at IS NULL")
        .bind(new_hash)
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?;
    let ended = sessions::end_all(&mut tx, user_id).await?;
    tx.commit().await?;
    live.kick_sessions(&ended);
    Ok(())
}
