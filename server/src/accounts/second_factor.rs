//! Two-factor sign-in with an authenticator app (TOTP, RFC 6238: SHA-1, 6 digits, 30 s) and
//! single-use recovery codes. A code is accepted once: the last step used is kept, and only a
//! later step passes, so a code seen over someone's shoulder cannot be replayed.

use std::net::IpAddr;

use natter_protocol::{
    ConfirmWithPassword, RecoveryCodes, TotpSetup, UserId, limits::RECOVERY_CODE_COUNT,
};
use rand::RngCore;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::{
    accounts::{self, Gate},
    auth::AuthSession,
    credentials::{code_digest, new_code},
    db::Db,
    error::{Error, Result},
    util::now_ms,
};

const STEP_SECONDS: u64 = 30;
const DIGITS: usize = 6;
/// Codes of the step before and after the current one pass too: phone clocks drift.
const SKEW_STEPS: u64 = 1;
const ISSUER: &str = "Natter";

fn totp(secret_base32: &str, account_name: &str) -> Result<TOTP> {
    let bytes = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|error| anyhow::anyhow!("a stored TOTP secret is not base32: {error:?}"))?;
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECONDS,
        bytes,
        Some(ISSUER.to_owned()),
        account_name.to_owned(),
    )
    .map_err(|error| anyhow::anyhow!("a TOTP could not be made: {error:?}").into())
}

/// The step `code` was made for, if it is one of the steps around `now_secs` later than
/// `last_step`.
fn matching_step(totp: &TOTP, code: &str, now_secs: u64, last_step: u64) -> Option<u64> {
    let current = now_secs / STEP_SECONDS;
    (current.saturating_sub(SKEW_STEPS)..=current + SKEW_STEPS)
        .filter(|&step| step > last_step)
        .find(|&step| totp.generate(step * STEP_SECONDS) == code)
}

fn is_app_code(code: &str) -> bool {
    code.len() == DIGITS && code.bytes().all(|byte| byte.is_ascii_digit())
}

/// Checks a second-factor code of `user_id` and spends it: an app code's step, or a recovery
/// code. In the caller's write transaction, so a sign-in that fails later spends nothing.
pub async fn verify(
    connection: &mut sqlx::AnyConnection,
    user_id: UserId,
    typed: &str,
    now: i64,
) -> Result<()> {
    let code: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if code.is_empty() || code.len() > 64 {
        return Err(Error::TotpInvalid);
    }
    if !is_app_code(&code) {
        let spent = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 \
             WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id.to_string())
        .bind(code_digest(&code))
        .execute(connection)
        .await?;
        return if spent.rows_affected() == 1 {
            Ok(())
        } else {
            Err(Error::TotpInvalid)
        };
    }
    let row: Option<(Option<String>, i64, String)> =
        sqlx::query_as("SELECT totp_secret, totp_last_step, username FROM users WHERE id = $1")
            .bind(user_id.to_string())
            .fetch_optional(&mut *connection)
            .await?;
    let Some((Some(secret), last_step, username)) = row else {
        return Err(Error::TotpInvalid);
    };
    let now_secs = u64::try_from(now / 1000).unwrap_or(0);
    let last_step = u64::try_from(last_step).unwrap_or(0);
    let step = matching_step(&totp(&secret, &username)?, &code, now_secs, last_step)
        .ok_or(Error::TotpInvalid)?;
    // Conditional, so two sign-ins racing with the same code cannot both pass.
    let spent =
        sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1")
            .bind(step as i64)
            .bind(user_id.to_string())
            .execute(connection)
            .await?;
    if spent.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::TotpInvalid)
    }
}

/// Starts (or restarts) setting up two-factor sign-in: a new secret, not yet in force.
pub async fn setup(db: &Db, auth: AuthSession) -> Result<TotpSetup> {
    let row: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT username, totp_enabled_at FROM users WHERE id = $1")
            .bind(auth.user_id.to_string())
            .fetch_optional(&db.pool)
            .await?;
    let (username, enabled_at) = row.ok_or(Error::Unauthorized)?;
    if enabled_at.is_some() {
        return Err(Error::Conflict(
            "two-factor sign-in is already on; turn it off first to set up a new app",
        ));
    }
    let mut bytes = vec![0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    let Secret::Encoded(secret) = Secret::Raw(bytes).to_encoded() else {
        return Err(anyhow::anyhow!("base32 encoding gave raw bytes").into());
    };
    let otpauth_uri = totp(&secret, &username)?.get_url();
    db.execute_write(
        sqlx::query(
            "UPDATE users SET totp_secret = $1, totp_last_step = 0 \
                 WHERE id = $2 AND totp_enabled_at IS NULL",
        )
        .bind(&secret)
        .bind(auth.user_id.to_string()),
    )
    .await?;
    Ok(TotpSetup {
        secret,
        otpauth_uri,
    })
}

/// Turns two-factor sign-in on once `code` shows the app has the secret; answers the
/// recovery codes, shown only now.
pub async fn confirm(db: &Db, auth: AuthSession, code: &str) -> Result<RecoveryCodes> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let row: Option<(Option<String>, Option<i64>)> =
        sqlx::query_as("SELECT totp_secret, totp_enabled_at FROM users WHERE id = $1")
            .bind(auth.user_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
    match row {
        Some((Some(_), None)) => {}
        Some((_, Some(_))) => {
            return Err(Error::Conflict("two-factor sign-in is already on"));
        }
        _ => {
            return Err(Error::Conflict(
                "start two-factor setup first (POST /api/me/totp/setup)",
            ));
        }
    }
    if !is_app_code(code.trim()) {
        return Err(Error::TotpInvalid);
    }
    verify(&mut tx, auth.user_id, code.trim(), now).await?;
    sqlx::query("UPDATE users SET totp_enabled_at = $1 WHERE id = $2")
        .bind(now)
        .bind(auth.user_id.to_string())
        .execute(&mut *tx)
        .await?;
    let recovery_codes = replace_recovery_codes(&mut tx, auth.user_id).await?;
    tx.commit().await?;
    Ok(RecoveryCodes { recovery_codes })
}

async fn replace_recovery_codes(
    connection: &mut sqlx::AnyConnection,
    user_id: UserId,
) -> Result<Vec<String>> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(&mut *connection)
        .await?;
    let codes: Vec<String> = (0..RECOVERY_CODE_COUNT).map(|_| new_code(3)).collect();
    for code in &codes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id.to_string())
            .bind(code_digest(code))
            .execute(&mut *connection)
            .await?;
    }
    Ok(codes)
}

/// Turns two-factor sign-in off, after the password and a code confirm it is me.
pub async fn disable(
    db: &Db,
    gate: &Gate,
    auth: AuthSession,
    client_ip: IpAddr,
    request: ConfirmWithPassword,
) -> Result<()> {
    accounts::confirm_identity(db, gate, auth, client_ip, &request).await?;
    let mut tx = db.begin_write().await?;
    clear(&mut tx, auth.user_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes the account's second factor and its recovery codes.
pub async fn clear(connection: &mut sqlx::AnyConnection, user_id: UserId) -> Result<()> {
    sqlx::query(
        "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = 0 \
         WHERE id = $1",
    )
    .bind(user_id.to_string())
    .execute(&mut *connection)
    .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(connection)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> TOTP {
        // RFC 6238's SHA-1 test key, "12345678901234567890".
        let secret = Secret::Raw(b"12345678901234567890".to_vec()).to_encoded();
        let Secret::Encoded(secret) = secret else {
            unreachable!()
        };
        totp(&secret, "alice").unwrap()
    }

    #[test]
    fn the_rfc_vector_and_the_steps_around_now_pass_once() {
        let app = app();
        // RFC 6238 appendix B at T = 59 s, truncated to 6 digits.
        assert_eq!(app.generate(59), "287082");
        let now = 1_111_111_109;
        let current = now / STEP_SECONDS;
        for step in [current - 1, current, current + 1] {
            let code = app.generate(step * STEP_SECONDS);
            assert_eq!(matching_step(&app, &code, now, 0), Some(step));
            // Once used, that step and every earlier one is spent.
            assert_eq!(matching_step(&app, &code, now, step), None);
        }
        let stale = app.generate((current - 2) * STEP_SECONDS);
        assert_eq!(matching_step(&app, &stale, now, 0), None);
    }
}
