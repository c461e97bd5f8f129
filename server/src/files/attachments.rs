//! Attachments: finished uploads, each carried by at most one message and fetched only by the
//! members who can see that message (the same not-found rule as messages). Deleting a message
//! deletes its attachments, and bytes no attachment uses any more leave the file store.

use std::collections::HashMap;

use natter_protocol::{
    Attachment, AttachmentId, ImageInfo, Message, MessageId, UserId,
    limits::ATTACHMENTS_MAX_PER_MESSAGE,
};
use sqlx::AssertSqlSafe;

use super::{BlobStore, Files};
use crate::{
    auth::AuthSession,
    db::Db,
    error::{Error, Result},
    util::{now_ms, parse_id},
};

/// What a picture adds to its attachment's row.
#[derive(Debug, Clone)]
pub struct PictureRecord {
    pub width: u32,
    pub height: u32,
    pub animated: bool,
    pub thumbnail_blob: String,
}

/// A finished upload to record.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub id: AttachmentId,
    pub owner: UserId,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub upload_length: u64,
    pub blob: String,
    pub picture: Option<PictureRecord>,
}

/// Held while a blob is checked and deleted (collection) and while one is stored and recorded
/// (a finished upload), so neither sees the other half done.
pub static BLOBS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub async fn record(tx: &mut sqlx::AnyConnection, new: &NewAttachment) -> Result<()> {
    let picture = new.picture.as_ref();
    sqlx::query(
        "INSERT INTO attachments (id, owner_id, blob, size, upload_length, name, content_type, \
           width, height, animated, thumbnail_blob, created_at) \
         VALUES ($1, $2, $3, $4, $12, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(new.id.to_string())
    .bind(new.owner.to_string())
    .bind(&new.blob)
    .bind(i64::try_from(new.size).unwrap_or(i64::MAX))
    .bind(&new.name)
    .bind(&new.content_type)
    .bind(picture.map(|p| i64::from(p.width)))
    .bind(picture.map(|p| i64::from(p.height)))
    .bind(picture.map_or(0, |p| i64::from(p.animated)))
    .bind(picture.map(|p| p.thumbnail_blob.clone()))
    .bind(now_ms())
    .bind(i64::try_from(new.upload_length).unwrap_or(i64::MAX))
    .execute(tx)
    .await?;
    Ok(())
}

/// The length my finished upload declared, if it is mine.
pub async fn upload_length_of_mine(
    db: &Db,
    owner: UserId,
    id: AttachmentId,
) -> Result<Option<u64>> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT upload_length FROM attachments WHERE id = $1 AND owner_id = $2")
            .bind(id.to_string())
            .bind(owner.to_string())
            .fetch_optional(&db.pool)
            .await?;
    Ok(row.map(|(size,)| u64::try_from(size).unwrap_or(0)))
}

/// Deletes my finished file that no message carries (a cancelled send).
pub async fn delete_unsent(db: &Db, files: &Files, owner: UserId, id: AttachmentId) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "DELETE FROM attachments WHERE id = $1 AND owner_id = $2 AND message_id IS NULL \
         RETURNING blob, thumbnail_blob",
    )
    .bind(id.to_string())
    .bind(owner.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let (blob, thumbnail) = row.ok_or(Error::NotFound)?;
    tx.commit().await?;
    collect(
        db,
        &files.store,
        [Some(blob), thumbnail].into_iter().flatten(),
    )
    .await;
    Ok(())
}

/// Attaches my finished, unsent files to a message being stored, in order.
pub async fn attach(
    tx: &mut sqlx::AnyConnection,
    owner: UserId,
    message_id: MessageId,
    ids: &[AttachmentId],
) -> Result<()> {
    if ids.len() > ATTACHMENTS_MAX_PER_MESSAGE {
        return Err(Error::validation(format!(
            "attachments: at most {ATTACHMENTS_MAX_PER_MESSAGE} files per message"
        )));
    }
    for (position, id) in ids.iter().enumerate() {
        let attached = sqlx::query(
            "UPDATE attachments SET message_id = $1, position = $2 \
             WHERE id = $3 AND owner_id = $4 AND message_id IS NULL",
        )
        .bind(message_id.to_string())
        .bind(position as i64)
        .bind(id.to_string())
        .bind(owner.to_string())
        .execute(&mut *tx)
        .await?;
        if attached.rows_affected() == 0 {
            return Err(Error::validation(format!(
                "attachments: {id} is not a finished upload of yours that no message carries"
            )));
        }
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    id: String,
    message_id: Option<String>,
    blob: String,
    size: i64,
    name: String,
    content_type: String,
    width: Option<i64>,
    height: Option<i64>,
    animated: i64,
    thumbnail_blob: Option<String>,
}

const COLUMNS: &str = "a.id, a.message_id, a.blob, a.size, a.name, a.content_type, a.width, \
     a.height, a.animated, a.thumbnail_blob";

impl AttachmentRow {
    fn view(&self) -> Result<Attachment> {
        let id = parse_id(&self.id)?;
        let image = match (self.width, self.height) {
            (Some(width), Some(height)) if self.thumbnail_blob.is_some() => Some(ImageInfo {
                width: u32::try_from(width).unwrap_or(0),
                height: u32::try_from(height).unwrap_or(0),
                animated: self.animated != 0,
                thumbnail_url: format!("/api/attachments/{id}/thumbnail"),
            }),
            _ => None,
        };
        Ok(Attachment {
            id,
            name: self.name.clone(),
            content_type: self.content_type.clone(),
            size: u64::try_from(self.size).unwrap_or(0),
            image,
            url: format!("/api/attachments/{id}"),
        })
    }
}

/// Fills in the `attachments` of messages read from the table (one query for all).
pub async fn fill(connection: &mut sqlx::AnyConnection, messages: &mut [Message]) -> Result<()> {
    let ids: Vec<String> = messages
        .iter()
        .filter(|message| message.deleted_at.is_none())
        .map(|message| message.id.to_string())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let placeholders = crate::db::placeholders(ids.len());
    let sql = format!(
        "SELECT {COLUMNS} FROM attachments a WHERE a.message_id IN ({placeholders}) \
         ORDER BY a.position"
    );
    let mut query = sqlx::query_as::<_, AttachmentRow>(AssertSqlSafe(sql));
    for id in &ids {
        query = query.bind(id);
    }
    let mut by_message: HashMap<String, Vec<Attachment>> = HashMap::new();
    for row in query.fetch_all(&mut *connection).await? {
        if let Some(message_id) = &row.message_id {
            by_message
                .entry(message_id.clone())
                .or_default()
                .push(row.view()?);
        }
    }
    for message in messages {
        message.attachments = by_message
            .remove(&message.id.to_string())
            .unwrap_or_default();
    }
    Ok(())
}

/// A file to serve.
pub struct Download {
    pub attachment: Attachment,
    pub blob: String,
    pub thumbnail_blob: Option<String>,
}

/// An attachment `auth` may fetch: on a message of a conversation they are in and that they
/// can see (not deleted), or their own file not sent yet. `NotFound` otherwise, whether or not
/// it exists.
pub async fn for_download(db: &Db, auth: AuthSession, id: AttachmentId) -> Result<Download> {
    let row: Option<AttachmentRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM attachments a \
         LEFT JOIN messages msg ON msg.id = a.message_id \
         LEFT JOIN members m ON m.conversation_id = msg.conversation_id AND m.user_id = $2 \
           AND m.left_seq IS NULL \
         WHERE a.id = $1 AND ( \
           (a.message_id IS NULL AND a.owner_id = $2) \
           OR (msg.deleted_at IS NULL AND m.user_id IS NOT NULL AND msg.seq >= m.joined_seq))"
    )))
    .bind(id.to_string())
    .bind(auth.user_id.to_string())
    .fetch_optional(&db.pool)
    .await?;
    let row = row.ok_or(Error::NotFound)?;
    Ok(Download {
        attachment: row.view()?,
        blob: row.blob,
        thumbnail_blob: row.thumbnail_blob,
    })
}

/// Deletes the attachments of a message being deleted (in its transaction); answers the blobs
/// to collect once it commits.
pub async fn detach_deleted(
    tx: &mut sqlx::AnyConnection,
    message_id: MessageId,
) -> Result<Vec<String>> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "DELETE FROM attachments WHERE message_id = $1 RETURNING blob, thumbnail_blob",
    )
    .bind(message_id.to_string())
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .flat_map(|(blob, thumbnail)| [Some(blob), thumbnail])
        .flatten()
        .collect())
}

/// Deletes from the store each blob that no attachment uses any more. A failure only leaves a
/// file behind, logged: the change that freed it is done either way.
pub async fn collect(db: &Db, store: &BlobStore, blobs: impl IntoIterator<Item = String>) {
    let _blobs = BLOBS.lock().await;
    for blob in blobs {
        let used: std::result::Result<(i64,), sqlx::Error> = sqlx::query_as(
            "SELECT COUNT(*) FROM attachments WHERE blob = $1 OR thumbnail_blob = $1",
        )
        .bind(&blob)
        .fetch_one(&db.pool)
        .await;
        match used {
            Ok((0,)) => {
                if let Err(error) = store.delete(&blob).await {
                    tracing::warn!(error = format!("{error:#}"), blob, "a file was not deleted");
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, blob, "a file's use was not counted"),
        }
    }
}
