//! Profiles, avatars and the user directory.

use natter_protocol::{Presence, UpdateProfileRequest, User, UserId, UserPage};

use sqlx::AssertSqlSafe;

use crate::{
    auth::AuthSession,
    avatar, contacts,
    db::Db,
    error::{Error, Result},
    live::Live,
    util::parse_id,
    validate,
};

/// The columns every user query selects, in the order [`UserRow`] reads them.
pub const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.status_text, \
     CASE WHEN u.avatar IS NULL THEN 0 ELSE u.avatar_version END AS avatar_version, u.last_seen_at";

#[derive(Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub status_text: String,
    pub avatar_version: i64,
    pub last_seen_at: Option<i64>,
}

impl UserRow {
    /// The user as the API shows them, with their presence (from `live`) when the viewer may
    /// see it.
    pub fn into_user(self, live: &dyn Live, presence_visible: bool) -> Result<User> {
        let id = parse_id(&self.id)?;
        let online = live.is_online(&id);
        Ok(User {
            avatar_url: (self.avatar_version > 0)
                .then(|| format!("/api/users/{id}/avatar?v={}", self.avatar_version)),
            id,
            username: self.username,
            display_name: self.display_name,
            status_text: self.status_text,
            presence: presence_visible.then_some(Presence {
                online,
                last_seen_at: if online { None } else { self.last_seen_at },
            }),
        })
    }
}

/// A user as `viewer` sees them: with presence only if it is themself or they share a
/// conversation.
pub async fn get(db: &Db, live: &dyn Live, viewer: UserId, user_id: UserId) -> Result<User> {
    let presence_visible =
        viewer == user_id || contacts::share_a_conversation(db, viewer, user_id).await?;
    let row: Option<UserRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
    )))
    .bind(user_id.to_string())
    .fetch_optional(&db.pool)
    .await?;
    row.ok_or(Error::NotFound)?
        .into_user(live, presence_visible)
}

pub async fn update_profile(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    request: UpdateProfileRequest,
) -> Result<User> {
    let display_name = request
        .display_name
        .as_deref()
        .map(validate::display_name)
        .transpose()?;
    let status_text = request
        .status_text
        .as_deref()
        .map(validate::status_text)
        .transpose()?;
    db.execute_write(
        sqlx::query(
            "UPDATE users SET display_name = COALESCE($1, display_name), \
                 status_text = COALESCE($2, status_text) WHERE id = $3",
        )
        .bind(display_name)
        .bind(status_text)
        .bind(auth.user_id.to_string()),
    )
    .await?;
    get(db, live, auth.user_id, auth.user_id).await
}

pub async fn set_avatar(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    content_type: &str,
    bytes: Vec<u8>,
) -> Result<User> {
    let content_type = content_type.to_owned();
    let thumbnail =
        tokio::task::spawn_blocking(move || avatar::make_thumbnail(&content_type, &bytes))
            .await
            .map_err(anyhow::Error::from)??;
    db.execute_write(
        sqlx::query(
            "UPDATE users SET avatar = $1, avatar_version = avatar_version + 1 WHERE id = $2",
        )
        .bind(thumbnail)
        .bind(auth.user_id.to_string()),
    )
    .await?;
    get(db, live, auth.user_id, auth.user_id).await
}

pub async fn delete_avatar(db: &Db, live: &dyn Live, auth: AuthSession) -> Result<User> {
    db.execute_write(
        sqlx::query("UPDATE users SET avatar = NULL WHERE id = $1").bind(auth.user_id.to_string()),
    )
    .await?;
    get(db, live, auth.user_id, auth.user_id).await
}

/// The avatar thumbnail (JPEG) and its version, for caching.
pub async fn avatar(db: &Db, user_id: UserId) -> Result<(Vec<u8>, i64)> {
    let row: Option<(Option<Vec<u8>>, i64)> =
        sqlx::query_as("SELECT avatar, avatar_version FROM users WHERE id = $1")
            .bind(user_id.to_string())
            .fetch_optional(&db.pool)
            .await?;
    match row {
        Some((Some(bytes), version)) => Ok((bytes, version)),
        _ => Err(Error::NotFound),
    }
}

/// Directory search: usernames starting with, or display names containing, the query
/// (case-insensitive), ordered by username, `limit` at a time after `cursor`.
pub async fn search(
    db: &Db,
    live: &dyn Live,
    viewer: UserId,
    query: Option<&str>,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<UserPage> {
    let limit = validate::page_limit(limit)?;
    let search = validate::name_search(query, cursor)?;
    let rows: Vec<UserRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users u \
         WHERE (u.username LIKE $1 ESCAPE '\\' OR LOWER(u.display_name) LIKE $2 ESCAPE '\\') \
           AND u.username > $3 AND u.deleted_at IS NULL \
         ORDER BY u.username LIMIT $4"
    )))
    .bind(search.username_prefix)
    .bind(search.display_name_part)
    .bind(search.after)
    .bind(limit + 1)
    .fetch_all(&db.pool)
    .await?;
    let has_more = rows.len() as i64 > limit;
    let mut may_see_presence: std::collections::HashSet<String> = contacts::list(db, viewer)
        .await?
        .iter()
        .map(UserId::to_string)
        .collect();
    may_see_presence.insert(viewer.to_string());
    let users = rows
        .into_iter()
        .take(limit as usize)
        .map(|row| {
            let visible = may_see_presence.contains(&row.id);
            row.into_user(live, visible)
        })
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = has_more
        .then(|| users.last().map(|user| user.username.clone()))
        .flatten();
    Ok(UserPage { users, next_cursor })
}
