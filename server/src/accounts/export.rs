//! "Export my data": everything the server keeps that is mine, as one JSON document.

use natter_protocol::{AccountExport, Message, limits::PAGE_MAX};

use sqlx::AssertSqlSafe;

use crate::{
    accounts::{self, sessions},
    auth::AuthSession,
    blocks,
    calls::history,
    conversations,
    db::Db,
    error::Result,
    live::Live,
    messages::{MESSAGE_COLUMNS, MessageRow},
    util::now_ms,
};

pub const FORMAT: &str = "natter-export/1";

pub async fn export(
    db: &Db,
    live: &dyn Live,
    auth: AuthSession,
    users_can_invite: bool,
) -> Result<AccountExport> {
    let messages: Vec<MessageRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages msg \
         WHERE msg.sender_id = $1 AND msg.deleted_at IS NULL \
         ORDER BY msg.created_at, msg.id"
    )))
    .bind(auth.user_id.to_string())
    .fetch_all(&db.pool)
    .await?;
    let messages = messages
        .into_iter()
        .map(MessageRow::into_message)
        .collect::<Result<Vec<Message>>>()?;
    let mut calls = Vec::new();
    let mut before = None;
    loop {
        let page = history::list(db, auth, before, Some(PAGE_MAX)).await?;
        before = page.calls.last().map(|call| call.started_at);
        calls.extend(page.calls);
        if !page.has_more {
            break;
        }
    }
    Ok(AccountExport {
        format: FORMAT.to_owned(),
        exported_at: now_ms(),
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
        account: accounts::account_info(db, live, auth, users_can_invite).await?,
        sessions: sessions::list_sessions(db, auth).await?.sessions,
        blocked: blocks::list(db, live, auth).await?.users,
        conversations: conversations::list(db, live, auth).await?.conversations,
        messages,
        calls,
    })
}
