//! Invites: codes that let people sign up on an invite-only server, with an expiry and a
//! number of uses. Admins make them (and users, when the operator allows it); the code is shown
//! once, the database keeps its digest.

use natter_protocol::{
    CreateInviteRequest, CreatedInvite, Invite, InviteId, InviteList,
    limits::{INVITE_DEFAULT_HOURS, INVITE_MAX_HOURS, INVITE_MAX_USES, INVITE_NOTE_MAX_CHARS},
};

use crate::{
    audit::{self, Actor},
    auth::AuthSession,
    credentials::{code_digest, new_code},
    db::Db,
    error::{Error, Result},
    util::{new_id, now_ms, parse_id},
};

const HOUR_MS: i64 = 60 * 60 * 1000;

/// Spends one use of the invite `code` in the sign-up's transaction and answers its id; the
/// message of the refusal says why it cannot be used.
pub async fn redeem(connection: &mut sqlx::AnyConnection, code: &str, now: i64) -> Result<String> {
    let digest = code_digest(code);
    // One statement: under PostgreSQL's row lock (or SQLite's single writer) two sign-ups
    // racing for the last use cannot both pass the `uses < max_uses` test.
    let spent: Option<(String,)> = sqlx::query_as(
        "UPDATE invites SET uses = uses + 1 \
         WHERE code_hash = $1 AND uses < max_uses AND expires_at > $2 AND revoked_at IS NULL \
           AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = invites.created_by \
                           AND (u.disabled_at IS NOT NULL OR u.deleted_at IS NOT NULL)) \
         RETURNING id",
    )
    .bind(&digest)
    .bind(now)
    .fetch_optional(&mut *connection)
    .await?;
    if let Some((id,)) = spent {
        return Ok(id);
    }
    // An invite of a disabled or deleted account reads as revoked.
    let state: Option<(i64, Option<i64>, i64, i64)> = sqlx::query_as(
        "SELECT i.expires_at, \
                CASE WHEN u.disabled_at IS NOT NULL OR u.deleted_at IS NOT NULL \
                     THEN COALESCE(i.revoked_at, 0) ELSE i.revoked_at END, \
                i.uses, i.max_uses \
         FROM invites i LEFT JOIN users u ON u.id = i.created_by WHERE i.code_hash = $1",
    )
    .bind(&digest)
    .fetch_optional(connection)
    .await?;
    Err(Error::InviteInvalid(match state {
        None => "no invite has this code; check it, or ask for a new one",
        Some((_, Some(_), _, _)) => "this invite was revoked; ask for a new one",
        Some((_, _, uses, max_uses)) if uses >= max_uses => {
            "this invite has been used up; ask for a new one"
        }
        Some(_) => "this invite has expired; ask for a new one",
    }))
}

fn validated(request: &CreateInviteRequest) -> Result<(i64, i64, String)> {
    let max_uses = request.max_uses.unwrap_or(1);
    if !(1..=INVITE_MAX_USES).contains(&max_uses) {
        return Err(Error::validation(format!(
            "max_uses must be 1 to {INVITE_MAX_USES}"
        )));
    }
    let hours = request.expires_in_hours.unwrap_or(INVITE_DEFAULT_HOURS);
    if !(1..=INVITE_MAX_HOURS).contains(&hours) {
        return Err(Error::validation(format!(
            "expires_in_hours must be 1 to {INVITE_MAX_HOURS}"
        )));
    }
    let note = request.note.as_deref().unwrap_or("").trim().to_owned();
    if note.chars().count() > INVITE_NOTE_MAX_CHARS || note.chars().any(char::is_control) {
        return Err(Error::validation(format!(
            "note must be at most {INVITE_NOTE_MAX_CHARS} characters, without control characters"
        )));
    }
    Ok((i64::from(max_uses), i64::from(hours) * HOUR_MS, note))
}

/// Makes an invite as `actor`, who must be allowed to (checked by the caller).
pub async fn create_as(
    connection: &mut sqlx::AnyConnection,
    actor: Actor,
    request: &CreateInviteRequest,
) -> Result<CreatedInvite> {
    let (max_uses, lifetime_ms, note) = validated(request)?;
    let code = new_code(4);
    let now = now_ms();
    let invite = Invite {
        id: new_id(),
        code_hint: code.chars().take(4).collect(),
        note,
        created_by: actor.user_id(),
        created_at: now,
        expires_at: now + lifetime_ms,
        max_uses: max_uses as u32,
        uses: 0,
        revoked: false,
    };
    sqlx::query(
        "INSERT INTO invites (id, code_hash, code_hint, created_by, note, created_at, \
         expires_at, max_uses) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(invite.id.to_string())
    .bind(code_digest(&code))
    .bind(&invite.code_hint)
    .bind(invite.created_by.map(|id| id.to_string()))
    .bind(&invite.note)
    .bind(invite.created_at)
    .bind(invite.expires_at)
    .bind(max_uses)
    .execute(&mut *connection)
    .await?;
    audit::record(
        connection,
        actor,
        "invite.create",
        None,
        serde_json::json!({
            "invite_id": invite.id, "max_uses": invite.max_uses,
            "expires_at": invite.expires_at, "note": invite.note,
        }),
    )
    .await?;
    Ok(CreatedInvite { invite, code })
}

/// `POST /api/invites`: admins always, others when the operator allows it.
pub async fn create(
    db: &Db,
    auth: AuthSession,
    users_can_invite: bool,
    request: CreateInviteRequest,
) -> Result<CreatedInvite> {
    if !auth.is_admin && !users_can_invite {
        return Err(Error::Forbidden(
            "only admins can invite people to this server",
        ));
    }
    let mut tx = db.begin_write().await?;
    let created = create_as(&mut tx, Actor::from(auth), &request).await?;
    tx.commit().await?;
    Ok(created)
}

type InviteRow = (
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
);

fn invite_from(row: InviteRow) -> Result<Invite> {
    let (id, code_hint, note, created_by, created_at, expires_at, max_uses, uses, revoked_at) = row;
    Ok(Invite {
        id: parse_id(&id)?,
        code_hint,
        note,
        created_by: created_by.as_deref().map(parse_id).transpose()?,
        created_at,
        expires_at,
        max_uses: max_uses.clamp(0, i64::from(u32::MAX)) as u32,
        uses: uses.clamp(0, i64::from(u32::MAX)) as u32,
        revoked: revoked_at.is_some(),
    })
}

const INVITE_COLUMNS: &str = "id, code_hint, note, created_by, created_at, expires_at, \
     max_uses, uses, revoked_at";

/// Mine, or everyone's for `None` (admins), newest first (at most 500).
pub async fn list(db: &Db, created_by: Option<AuthSession>) -> Result<InviteList> {
    let rows: Vec<InviteRow> = match created_by {
        Some(auth) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {INVITE_COLUMNS} FROM invites WHERE created_by = $1 \
                 ORDER BY created_at DESC LIMIT 500"
            )))
            .bind(auth.user_id.to_string())
            .fetch_all(&db.pool)
            .await?
        }
        None => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {INVITE_COLUMNS} FROM invites ORDER BY created_at DESC LIMIT 500"
            )))
            .fetch_all(&db.pool)
            .await?
        }
    };
    Ok(InviteList {
        invites: rows.into_iter().map(invite_from).collect::<Result<_>>()?,
    })
}

/// Revokes an invite: my own, or any for an admin. Others' get `NotFound`.
pub async fn revoke(db: &Db, auth: AuthSession, invite_id: InviteId) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let revoked = sqlx::query(
        "UPDATE invites SET revoked_at = $1 \
         WHERE id = $2 AND revoked_at IS NULL AND (created_by = $3 OR $4 = 1)",
    )
    .bind(now_ms())
    .bind(invite_id.to_string())
    .bind(auth.user_id.to_string())
    .bind(i64::from(auth.is_admin))
    .execute(&mut *tx)
    .await?;
    if revoked.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    audit::record(
        &mut tx,
        Actor::from(auth),
        "invite.revoke",
        None,
        serde_json::json!({ "invite_id": invite_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
