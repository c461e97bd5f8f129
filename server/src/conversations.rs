//! Direct and group conversations: creating, listing, membership.

use std::collections::{BTreeSet, HashMap};

use natter_protocol::{
    Conversation, ConversationId, ConversationKind, ConversationList, EventBody, Message,
    ReadPosition, ServerFrame, User, UserId, limits::GROUP_MAX_MEMBERS,
};

use sqlx::AssertSqlSafe;

use crate::{
    auth::AuthSession,
    blocks,
    db::Db,
    error::{Error, Result, is_unique_violation},
    events,
    live::{Live, Outbound},
    messages::{self, COUNTS_AS_UNREAD, MESSAGE_COLUMNS, MessageRow},
    users::{USER_COLUMNS, UserRow},
    util::{new_id, now_ms, parse_id},
    validate,
};

#[derive(sqlx::FromRow)]
struct ConversationRow {
    id: String,
    kind: String,
    name: Option<String>,
    owner_id: Option<String>,
    created_at: i64,
    last_activity_at: i64,
    last_seq: i64,
    read_seq: i64,
    unread_count: i64,
    muted: i64,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    member_of: String,
    member_read_seq: i64,
    #[sqlx(flatten)]
    user: UserRow,
}

#[derive(sqlx::FromRow)]
struct LastMessageRow {
    last_of: String,
    #[sqlx(flatten)]
    message: MessageRow,
}

/// Lists my conversations, or only `only` when given: newest activity first, with members,
/// last message (with its reactions) and unread count. Four queries whatever the number of
/// conversations.
async fn load(
    db: &Db,
    live: &dyn Live,
    user_id: UserId,
    only: Option<ConversationId>,
) -> Result<Vec<Conversation>> {
    let user = user_id.to_string();
    let only = only.map(|id| id.to_string()).unwrap_or_default();
    let rows: Vec<ConversationRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT c.id, c.kind, c.name, c.owner_id, c.created_at, c.last_activity_at, c.last_seq, \
                m.read_seq, m.muted, \
                (SELECT COUNT(*) FROM messages x WHERE x.conversation_id = c.id \
                   AND x.seq > m.read_seq AND {COUNTS_AS_UNREAD}) AS unread_count \
         FROM members m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.user_id = $1 AND m.left_seq IS NULL AND ($2 = '' OR c.id = $2) \
         ORDER BY c.last_activity_at DESC, c.id DESC",
    )))
    .bind(&user)
    .bind(&only)
    .fetch_all(&db.pool)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let member_rows: Vec<MemberRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT mm.conversation_id AS member_of, mm.read_seq AS member_read_seq, {USER_COLUMNS} \
         FROM members m \
         JOIN members mm ON mm.conversation_id = m.conversation_id AND mm.left_seq IS NULL \
         JOIN users u ON u.id = mm.user_id \
         WHERE m.user_id = $1 AND m.left_seq IS NULL AND ($2 = '' OR m.conversation_id = $2) \
         ORDER BY mm.joined_seq, u.username"
    )))
    .bind(&user)
    .bind(&only)
    .fetch_all(&db.pool)
    .await?;
    let last_rows: Vec<LastMessageRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT c.id AS last_of, {MESSAGE_COLUMNS} FROM members m \
         JOIN conversations c ON c.id = m.conversation_id \
         JOIN messages msg ON msg.id = c.last_message_id AND msg.seq >= m.joined_seq \
         WHERE m.user_id = $1 AND m.left_seq IS NULL AND ($2 = '' OR c.id = $2)"
    )))
    .bind(&user)
    .bind(&only)
    .fetch_all(&db.pool)
    .await?;

    let mut members: HashMap<String, Vec<User>> = HashMap::new();
    let mut read_positions: HashMap<String, Vec<ReadPosition>> = HashMap::new();
    for row in member_rows {
        let user = row.user.into_user(live, true)?;
        read_positions
            .entry(row.member_of.clone())
            .or_default()
            .push(ReadPosition {
                user_id: user.id,
                read_seq: row.member_read_seq,
            });
        members.entry(row.member_of).or_default().push(user);
    }
    let mut last_of = Vec::with_capacity(last_rows.len());
    let mut last = Vec::with_capacity(last_rows.len());
    for row in last_rows {
        last_of.push(row.last_of);
        last.push(row.message.into_message()?);
    }
    let last = messages::with_details(&mut *db.pool.acquire().await?, last).await?;
    let mut last_messages: HashMap<String, Message> = last_of.into_iter().zip(last).collect();
    rows.into_iter()
        .map(|row| {
            Ok(Conversation {
                id: parse_id(&row.id)?,
                kind: match row.kind.as_str() {
                    "direct" => ConversationKind::Direct,
                    _ => ConversationKind::Group,
                },
                name: row.name,
                owner_id: row.owner_id.as_deref().map(parse_id).transpose()?,
                members: members.remove(&row.id).unwrap_or_default(),
                created_at: row.created_at,
                last_activity_at: row.last_activity_at,
                last_seq: row.last_seq,
                last_message: last_messages.remove(&row.id),
                unread_count: row.unread_count,
                read_seq: row.read_seq,
                read_positions: read_positions.remove(&row.id).unwrap_or_default(),
                muted: row.muted != 0,
            })
        })
        .collect()
}

pub async fn list(db: &Db, live: &dyn Live, auth: AuthSession) -> Result<ConversationList> {
    Ok(ConversationList {
        conversations: load(db, live, auth.user_id, None).await?,
    })
}

/// One conversation I am in; `NotFound` otherwise, whether or not it exists.
pub async fn get(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    conversation_id: ConversationId,
) -> Result<Conversation> {
    load(db, live, auth.user_id, Some(conversation_id))
        .await?
        .into_iter()
        .next()
        .ok_or(Error::NotFound)
}

async fn is_deleted(connection: &mut sqlx::AnyConnection, user_id: UserId) -> Result<bool> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NOT NULL")
            .bind(user_id.to_string())
            .fetch_optional(connection)
            .await?;
    Ok(row.is_some())
}

async fn ensure_users_exist(
    connection: &mut sqlx::AnyConnection,
    user_ids: &BTreeSet<UserId>,
) -> Result<()> {
    for user_id in user_ids {
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL")
                .bind(user_id.to_string())
                .fetch_optional(&mut *connection)
                .await?;
        if found.is_none() {
            return Err(Error::validation(format!("no user with id {user_id}")));
        }
    }
    Ok(())
}

async fn insert_member(
    connection: &mut sqlx::AnyConnection,
    conversation_id: ConversationId,
    user_id: UserId,
    joined_seq: i64,
    now: i64,
) -> Result<()> {
    // A former member who is added again starts over from the new join.
    sqlx::query(
        "INSERT INTO members (conversation_id, user_id, joined_seq, read_seq, joined_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (conversation_id, user_id) DO UPDATE SET joined_seq = excluded.joined_seq, \
           left_seq = NULL, read_seq = excluded.read_seq, joined_at = excluded.joined_at",
    )
    .bind(conversation_id.to_string())
    .bind(user_id.to_string())
    .bind(joined_seq)
    .bind(joined_seq - 1)
    .bind(now)
    .execute(connection)
    .await?;
    Ok(())
}

/// Returns the direct conversation with `other`, creating it if needed; the flag says whether
/// it was created.
pub async fn open_direct(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    other: UserId,
) -> Result<(Conversation, bool)> {
    if other == auth.user_id {
        return Err(Error::validation(
            "a direct conversation needs another user",
        ));
    }
    let mut connection = db.pool.acquire().await?;
    // Someone who deleted their account (or blocked me) cannot be written to; the words do
    // not say which.
    if is_deleted(&mut connection, other).await? {
        return Err(Error::Forbidden(blocks::REFUSAL));
    }
    ensure_users_exist(&mut connection, &BTreeSet::from([other])).await?;
    let blocked = blocks::has_blocked(&mut connection, other, auth.user_id).await?;
    drop(connection);
    if blocked {
        return Err(Error::Forbidden(blocks::REFUSAL));
    }
    let (conversation_id, created) = find_or_create_direct(db, live, auth.user_id, other).await?;
    Ok((get(db, live, auth, conversation_id).await?, created))
}

/// The direct conversation of two existing users, created by `user` if there is none yet; the
/// flag says whether it was created.
pub async fn find_or_create_direct(
    db: &Db,
    live: &dyn Live,
    user: UserId,
    other: UserId,
) -> Result<(ConversationId, bool)> {
    let (low, high) = if user < other {
        (user, other)
    } else {
        (other, user)
    };
    let direct_key = format!("{low}:{high}");
    let existing = || async {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT id FROM conversations WHERE direct_key = $1")
                .bind(&direct_key)
                .fetch_optional(&db.pool)
                .await?;
        row.map(|(id,)| parse_id(&id)).transpose()
    };
    if let Some(id) = existing().await? {
        return Ok((id, false));
    }
    match create(
        db,
        live,
        user,
        ConversationKind::Direct,
        None,
        Some(&direct_key),
        &[user, other],
    )
    .await
    {
        Ok(id) => Ok((id, true)),
        // Both users opened it at the same moment: the other request created it.
        Err(Error::Database(error)) if is_unique_violation(&error) => {
            Ok((existing().await?.ok_or(Error::NotFound)?, false))
        }
        Err(error) => Err(error),
    }
}

pub async fn create_group(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    name: &str,
    member_ids: &[UserId],
) -> Result<Conversation> {
    let name = validate::group_name(name)?;
    let mut others: BTreeSet<UserId> = member_ids.iter().copied().collect();
    others.remove(&auth.user_id);
    if others.len() + 1 > GROUP_MAX_MEMBERS {
        return Err(Error::validation(format!(
            "a group has at most {GROUP_MAX_MEMBERS} members"
        )));
    }
    ensure_users_exist(&mut *db.pool.acquire().await?, &others).await?;
    let members: Vec<UserId> = std::iter::once(auth.user_id).chain(others).collect();
    let conversation_id = create(
        db,
        live,
        auth.user_id,
        ConversationKind::Group,
        Some(name),
        None,
        &members,
    )
    .await?;
    get(db, live, auth, conversation_id).await
}

async fn create(
    db: &Db,
    live: &dyn Live,
    creator: UserId,
    kind: ConversationKind,
    name: Option<String>,
    direct_key: Option<&str>,
    members: &[UserId],
) -> Result<ConversationId> {
    let conversation_id = new_id();
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO conversations (id, kind, name, owner_id, direct_key, created_at, last_activity_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(conversation_id.to_string())
    .bind(match kind {
        ConversationKind::Direct => "direct",
        ConversationKind::Group => "group",
    })
    .bind(name.clone())
    .bind((kind == ConversationKind::Group).then(|| creator.to_string()))
    .bind(direct_key)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let created = events::append(
        &mut tx,
        conversation_id,
        now,
        EventBody::ConversationCreated {
            created_by: creator,
            name,
            member_ids: members.to_vec(),
        },
    )
    .await?;
    for member in members {
        insert_member(&mut tx, conversation_id, *member, created.event.seq, now).await?;
    }
    events::commit_and_publish(live, tx, vec![created], members).await?;
    Ok(conversation_id)
}

/// The caller's group, for an owner-only change: `NotFound` when not a member, `Forbidden`
/// when not the owner or not a group.
async fn owned_group(
    connection: &mut sqlx::AnyConnection,
    auth: AuthSession,
    conversation_id: ConversationId,
) -> Result<()> {
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT c.kind, c.owner_id FROM conversations c JOIN members m ON m.conversation_id = c.id \
         WHERE c.id = $1 AND m.user_id = $2 AND m.left_seq IS NULL",
    )
    .bind(conversation_id.to_string())
    .bind(auth.user_id.to_string())
    .fetch_optional(connection)
    .await?;
    match row {
        None => Err(Error::NotFound),
        Some((kind, _)) if kind != "group" => {
            Err(Error::Forbidden("direct conversations have fixed members"))
        }
        Some((_, owner)) if owner != Some(auth.user_id.to_string()) => {
            Err(Error::Forbidden("only the group's owner may do this"))
        }
        Some(_) => Ok(()),
    }
}

pub async fn add_members(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    conversation_id: ConversationId,
    user_ids: &[UserId],
) -> Result<Conversation> {
    let requested: BTreeSet<UserId> = user_ids.iter().copied().collect();
    if requested.is_empty() || requested.len() > GROUP_MAX_MEMBERS {
        return Err(Error::validation(format!(
            "user_ids must name 1 to {GROUP_MAX_MEMBERS} users"
        )));
    }
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    // Taking the seq first locks the conversation against concurrent membership changes.
    let seq = events::next_seq(&mut tx, conversation_id).await?;
    owned_group(&mut tx, auth, conversation_id).await?;
    ensure_users_exist(&mut tx, &requested).await?;
    let current = events::current_member_ids(&mut tx, conversation_id).await?;
    let added: Vec<UserId> = requested
        .into_iter()
        .filter(|user_id| !current.contains(user_id))
        .collect();
    if added.is_empty() {
        drop(tx);
        return get(db, live, auth, conversation_id).await;
    }
    if current.len() + added.len() > GROUP_MAX_MEMBERS {
        return Err(Error::validation(format!(
            "a group has at most {GROUP_MAX_MEMBERS} members"
        )));
    }
    let event = natter_protocol::Event {
        conversation_id,
        seq,
        at: now,
        body: EventBody::MembersAdded {
            added_by: auth.user_id,
            user_ids: added.clone(),
        },
    };
    let stored = events::store(&mut tx, event).await?;
    for user_id in &added {
        insert_member(&mut tx, conversation_id, *user_id, seq, now).await?;
    }
    let recipients: Vec<UserId> = current.into_iter().chain(added).collect();
    events::commit_and_publish(live, tx, vec![stored], &recipients).await?;
    get(db, live, auth, conversation_id).await
}

/// Removes `user_id` from a group: the owner removing someone, or anyone leaving (removing
/// themselves). When the owner leaves, the longest-standing member becomes owner.
pub async fn remove_member(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    conversation_id: ConversationId,
    user_id: UserId,
) -> Result<()> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let seq = events::next_seq(&mut tx, conversation_id).await?;
    if user_id == auth.user_id {
        let kind: Option<(String,)> = sqlx::query_as(
            "SELECT c.kind FROM conversations c JOIN members m ON m.conversation_id = c.id \
             WHERE c.id = $1 AND m.user_id = $2 AND m.left_seq IS NULL",
        )
        .bind(conversation_id.to_string())
        .bind(auth.user_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        match kind {
            None => return Err(Error::NotFound),
            Some((kind,)) if kind != "group" => {
                return Err(Error::Forbidden("direct conversations cannot be left"));
            }
            Some(_) => {}
        }
    } else {
        owned_group(&mut tx, auth, conversation_id).await?;
    }
    let recipients = events::current_member_ids(&mut tx, conversation_id).await?;
    if !recipients.contains(&user_id) {
        return Err(Error::NotFound);
    }
    let removed = natter_protocol::Event {
        conversation_id,
        seq,
        at: now,
        body: EventBody::MemberRemoved {
            user_id,
            removed_by: auth.user_id,
        },
    };
    let removed = events::store(&mut tx, removed).await?;
    sqlx::query("UPDATE members SET left_seq = $1 WHERE conversation_id = $2 AND user_id = $3")
        .bind(seq)
        .bind(conversation_id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?;
    let mut published = vec![removed];
    let owner: Option<(Option<String>,)> =
        sqlx::query_as("SELECT owner_id FROM conversations WHERE id = $1")
            .bind(conversation_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
    if owner.and_then(|(owner,)| owner) == Some(user_id.to_string()) {
        let successor: Option<(String,)> = sqlx::query_as(
            "SELECT user_id FROM members WHERE conversation_id = $1 AND left_seq IS NULL \
             ORDER BY joined_seq, joined_at, user_id LIMIT 1",
        )
        .bind(conversation_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((successor,)) = successor {
            sqlx::query("UPDATE conversations SET owner_id = $1 WHERE id = $2")
                .bind(&successor)
                .bind(conversation_id.to_string())
                .execute(&mut *tx)
                .await?;
            let owner_changed = events::append(
                &mut tx,
                conversation_id,
                now,
                EventBody::OwnerChanged {
                    owner_id: parse_id(&successor)?,
                },
            )
            .await?;
            published.push(owner_changed);
        }
    }
    tx.commit().await?;
    // The removed user gets the removal (their last event) but not what follows it.
    let after_removal = published.split_off(1);
    events::publish(live, published, &recipients);
    let remaining: Vec<UserId> = recipients.into_iter().filter(|id| *id != user_id).collect();
    events::publish(live, after_removal, &remaining);
    Ok(())
}

pub async fn rename(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    conversation_id: ConversationId,
    name: &str,
) -> Result<Conversation> {
    let name = validate::group_name(name)?;
    let mut tx = db.begin_write().await?;
    let seq = events::next_seq(&mut tx, conversation_id).await?;
    owned_group(&mut tx, auth, conversation_id).await?;
    sqlx::query("UPDATE conversations SET name = $1 WHERE id = $2")
        .bind(&name)
        .bind(conversation_id.to_string())
        .execute(&mut *tx)
        .await?;
    let event = natter_protocol::Event {
        conversation_id,
        seq,
        at: now_ms(),
        body: EventBody::ConversationRenamed { name },
    };
    let stored = events::store(&mut tx, event).await?;
    let recipients = events::current_member_ids(&mut tx, conversation_id).await?;
    events::commit_and_publish(live, tx, vec![stored], &recipients).await?;
    get(db, live, auth, conversation_id).await
}

/// Mutes (`muted`) or unmutes a conversation for me, and tells my connected devices. Not an
/// event: it is mine alone, and a device that was offline reads it from the conversation.
pub async fn set_muted(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    conversation_id: ConversationId,
    muted: bool,
) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE members SET muted = $1 \
         WHERE conversation_id = $2 AND user_id = $3 AND left_seq IS NULL",
    )
    .bind(i64::from(muted))
    .bind(conversation_id.to_string())
    .bind(auth.user_id.to_string())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    tx.commit().await?;
    let frame = serde_json::to_string(&ServerFrame::ConversationMuted {
        conversation_id,
        muted,
    })
    .map_err(anyhow::Error::from)?;
    // Vital: a full queue must not lose it (nothing would bring it back until a reload).
    live.send_to_users(&[auth.user_id], Outbound::Vital(frame.into()));
    Ok(())
}
