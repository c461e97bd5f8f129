//! Resumable uploads, as tus 1.0 has them: create one with its length, send its bytes in any
//! number of pieces at the offset the server holds, ask for that offset after a cut, and the
//! last piece turns it into an attachment. The bytes are staged on disk and streamed through
//! in pieces, never held whole in memory; what arrived before a cut is kept, so a resumed
//! upload sends again only what never arrived.

use std::path::PathBuf;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use natter_protocol::{AttachmentId, UserId, limits::ATTACHMENT_NAME_MAX_BYTES};
use tokio::io::AsyncWriteExt;

use super::{Files, attachments, pictures};
use crate::{
    auth::AuthSession,
    db::Db,
    error::{Error, Result},
    util::{new_id, now_ms},
};

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadState {
    pub offset: u64,
    pub length: u64,
}

/// What `POST /api/uploads` declares.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub length: u64,
    pub name: String,
    pub declared_type: String,
}

/// A file name as stored: the last part of whatever path was given, without control
/// characters, at most `ATTACHMENT_NAME_MAX_BYTES`.
pub fn file_name(raw: &str) -> Result<String> {
    // Bidirectional overrides make `invoice\u{202e}fdp.exe` read as `invoiceexe.pdf`.
    let raw: String = raw
        .chars()
        .filter(|c| !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .collect();
    let name = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if name.is_empty() || name == "." || name == ".." {
        return Err(Error::validation("filename must name a file"));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::validation(
            "filename must not contain control characters",
        ));
    }
    if name.len() > ATTACHMENT_NAME_MAX_BYTES {
        return Err(Error::validation(format!(
            "filename must be at most {ATTACHMENT_NAME_MAX_BYTES} bytes"
        )));
    }
    Ok(name.to_owned())
}

/// A declared type as stored: `type/subtype`, lower case, or `application/octet-stream`.
fn media_type(raw: &str) -> String {
    let essence = raw
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let valid = essence.split_once('/').is_some_and(|(kind, sub)| {
        !kind.is_empty()
            && !sub.is_empty()
            && essence
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/.+-_".contains(c))
    });
    if valid && essence.len() <= 127 {
        essence
    } else {
        "application/octet-stream".to_owned()
    }
}

fn staged(files: &Files, id: AttachmentId) -> PathBuf {
    files.staging.join(id.to_string())
}

/// Bytes one user holds: files (sent or not) and uploads in progress, at their full length;
/// and how many uploads are in progress.
async fn held(connection: &mut sqlx::AnyConnection, owner: UserId) -> Result<(u64, i64)> {
    let (files, uploads, open): (i64, i64, i64) = sqlx::query_as(
        // PostgreSQL sums BIGINTs as NUMERIC: cast back.
        "SELECT \
           CAST(COALESCE((SELECT SUM(size) FROM attachments WHERE owner_id = $1), 0) AS BIGINT), \
           CAST(COALESCE((SELECT SUM(length) FROM uploads WHERE owner_id = $1), 0) AS BIGINT), \
           (SELECT COUNT(*) FROM uploads WHERE owner_id = $1)",
    )
    .bind(owner.to_string())
    .fetch_one(connection)
    .await?;
    Ok((
        u64::try_from(files.saturating_add(uploads)).unwrap_or(0),
        open,
    ))
}

/// Uploads one user may have in progress at once.
pub const OPEN_UPLOADS_MAX: i64 = 50;

/// Starts an upload: checked against the size limit and my quota before any byte is read.
pub async fn create(
    db: &Db,
    files: &Files,
    auth: AuthSession,
    upload: NewUpload,
) -> Result<AttachmentId> {
    if upload.length > files.max_bytes {
        return Err(Error::PayloadTooLarge(format!(
            "files can be at most {} bytes on this server",
            files.max_bytes
        )));
    }
    let name = file_name(&upload.name)?;
    let id = new_id();
    tokio::fs::create_dir_all(&files.staging)
        .await
        .map_err(|error| anyhow::anyhow!("cannot create the upload directory: {error}"))?;
    // The check and the insert in one write transaction, the user's row locked on PostgreSQL
    // (SQLite has one writer): parallel uploads cannot each pass the quota.
    let mut tx = db.begin_write().await?;
    if db.backend == crate::db::Backend::Postgres {
        sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(auth.user_id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    let (held, open) = held(&mut tx, auth.user_id).await?;
    if held.saturating_add(upload.length) > files.quota_bytes {
        return Err(Error::QuotaExceeded(format!(
            "your files would take {} of the {} bytes you may keep on this server; delete some \
             messages with files first",
            held.saturating_add(upload.length),
            files.quota_bytes
        )));
    }
    if open >= OPEN_UPLOADS_MAX {
        return Err(Error::Conflict(
            "too many uploads in progress: finish or cancel some first",
        ));
    }
    sqlx::query(
        "INSERT INTO uploads (id, owner_id, length, name, declared_type, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.to_string())
    .bind(auth.user_id.to_string())
    .bind(i64::try_from(upload.length).unwrap_or(i64::MAX))
    .bind(&name)
    .bind(media_type(&upload.declared_type))
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tokio::fs::File::create(staged(files, id))
        .await
        .map_err(|error| anyhow::anyhow!("cannot stage an upload: {error}"))?;
    tx.commit().await?;
    Ok(id)
}

struct UploadRow {
    length: u64,
    name: String,
    declared_type: String,
}

async fn mine(db: &Db, auth: AuthSession, id: AttachmentId) -> Result<Option<UploadRow>> {
    let row: Option<(i64, String, String)> = sqlx::query_as(
        "SELECT length, name, declared_type FROM uploads WHERE id = $1 AND owner_id = $2",
    )
    .bind(id.to_string())
    .bind(auth.user_id.to_string())
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|(length, name, declared_type)| UploadRow {
        length: u64::try_from(length).unwrap_or(0),
        name,
        declared_type,
    }))
}

async fn staged_len(files: &Files, id: AttachmentId) -> Result<u64> {
    Ok(tokio::fs::metadata(staged(files, id))
        .await
        .map(|metadata| metadata.len())
        .unwrap_or(0))
}

/// Where my upload stands; a finished one stands at its end. `NotFound` for anyone else's.
pub async fn state(
    db: &Db,
    files: &Files,
    auth: AuthSession,
    id: AttachmentId,
) -> Result<UploadState> {
    // A piece cut on its way may still be draining into the file (or finishing the upload):
    // answer after it.
    let _settled = Writing::settled(id).await;
    if let Some(upload) = mine(db, auth, id).await? {
        let offset = staged_len(files, id).await?.min(upload.length);
        return Ok(UploadState {
            offset,
            length: upload.length,
        });
    }
    let length = attachments::upload_length_of_mine(db, auth.user_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(UploadState {
        offset: length,
        length,
    })
}

/// Appends a piece at `offset`, which must be where the upload stands (`Conflict` otherwise,
/// with nothing read). Bytes past the upload's length are refused. When the last byte arrives
/// the upload becomes an attachment (or is refused for good, for a picture that is not one).
pub async fn append<S, E>(
    db: &Db,
    files: &Files,
    auth: AuthSession,
    id: AttachmentId,
    offset: u64,
    mut body: S,
) -> Result<UploadState>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    // One piece at a time per upload: two would interleave their bytes.
    let _writing = Writing::start(id)?;
    let Some(upload) = mine(db, auth, id).await? else {
        // Finished already (a retry of the last piece whose answer was lost): nothing to add.
        let length = attachments::upload_length_of_mine(db, auth.user_id, id)
            .await?
            .ok_or(Error::NotFound)?;
        if offset != length {
            return Err(Error::OffsetMismatch { expected: length });
        }
        return Ok(UploadState {
            offset: length,
            length,
        });
    };
    let path = staged(files, id);
    let mut at = staged_len(files, id).await?;
    if offset != at {
        return Err(Error::OffsetMismatch { expected: at });
    }
    let mut file = tokio::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .await
        .map_err(|error| anyhow::anyhow!("cannot open a staged upload: {error}"))?;
    let mut outcome = Ok(());
    while let Some(piece) = body.next().await {
        let piece = match piece {
            Ok(piece) => piece,
            Err(error) => {
                // A cut: what arrived is kept for the resume.
                outcome = Err(Error::validation(format!("the upload was cut: {error}")));
                break;
            }
        };
        let room = upload.length - at;
        if piece.len() as u64 > room {
            let fits = piece.slice(..usize::try_from(room).unwrap_or(0));
            write(&mut file, &fits).await?;
            at += room;
            outcome = Err(Error::PayloadTooLarge(
                "more bytes than the upload's length".into(),
            ));
            break;
        }
        write(&mut file, &piece).await?;
        at += piece.len() as u64;
    }
    file.flush()
        .await
        .map_err(|error| anyhow::anyhow!("cannot write a staged upload: {error}"))?;
    drop(file);
    outcome?;
    let length = upload.length;
    if at == length {
        finish(db, files, auth.user_id, id, upload).await?;
    }
    Ok(UploadState { offset: at, length })
}

/// One lock per upload being written or asked about: a piece is written under it, and HEAD
/// waits for it, so the offset it answers is not one a cut piece still being drained will move.
type UploadLock = std::sync::Arc<tokio::sync::Mutex<()>>;
static WRITING: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<AttachmentId, UploadLock>>,
> = std::sync::LazyLock::new(Default::default);

fn lock_of(id: AttachmentId) -> UploadLock {
    WRITING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(id)
        .or_default()
        .clone()
}

/// Forgets an upload's lock once nobody else holds or waits for it.
fn release(id: AttachmentId) {
    let mut writing = WRITING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if writing
        .get(&id)
        .is_some_and(|lock| std::sync::Arc::strong_count(lock) == 1)
    {
        writing.remove(&id);
    }
}

/// Holds an upload while a piece is written to it.
struct Writing {
    id: AttachmentId,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Writing {
    fn start(id: AttachmentId) -> Result<Writing> {
        let guard = lock_of(id).try_lock_owned().map_err(|_| {
            release(id);
            Error::Conflict(
                "another request is writing to this upload; ask for its offset and resume",
            )
        })?;
        Ok(Writing {
            id,
            guard: Some(guard),
        })
    }

    /// Waits (bounded) until no piece is being written.
    async fn settled(id: AttachmentId) -> Writing {
        let lock = lock_of(id);
        let guard = tokio::time::timeout(std::time::Duration::from_secs(10), lock.lock_owned())
            .await
            .ok();
        Writing { id, guard }
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        drop(self.guard.take());
        release(self.id);
    }
}

async fn write(file: &mut tokio::fs::File, bytes: &[u8]) -> Result<()> {
    file.write_all(bytes)
        .await
        .map_err(|error| Error::Internal(anyhow::anyhow!("cannot write a staged upload: {error}")))
}

/// Reading a picture whole to take its metadata out happens one upload at a time: memory stays
/// bounded however many finish at once.
static PICTURES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// The last byte arrived: look inside (pictures), record the attachment, store the bytes.
async fn finish(
    db: &Db,
    files: &Files,
    owner: UserId,
    id: AttachmentId,
    upload: UploadRow,
) -> Result<()> {
    let path = staged(files, id);
    let mut head = [0; 64];
    let sniffed = {
        let mut file = tokio::fs::File::open(&path)
            .await
            .map_err(|error| anyhow::anyhow!("cannot read a staged upload: {error}"))?;
        let read = tokio::io::AsyncReadExt::read(&mut file, &mut head)
            .await
            .map_err(|error| anyhow::anyhow!("cannot read a staged upload: {error}"))?;
        pictures::format_of(&head[..read])
    };
    let mut recorded = attachments::NewAttachment {
        id,
        owner,
        name: upload.name.clone(),
        content_type: upload.declared_type.clone(),
        size: upload.length,
        upload_length: upload.length,
        blob: String::new(),
        picture: None,
    };
    // The bytes to store: the staged file, or a cleaned copy beside it (the staged file stays
    // as uploaded, so a failure here leaves the upload resumable as it was).
    let mut source = path.clone();
    let mut thumbnail = None;
    match sniffed {
        None if pictures::claims_picture(&upload.declared_type, &upload.name) => {
            discard(db, files, id).await?;
            return Err(Error::validation(
                "the file is not a picture it claims to be: its content is not JPEG, PNG, WebP \
                 or GIF",
            ));
        }
        None => {}
        Some(_) if upload.length > pictures::PICTURE_MAX_FILE_BYTES => {
            discard(db, files, id).await?;
            return Err(Error::PayloadTooLarge(format!(
                "pictures can be at most {} bytes",
                pictures::PICTURE_MAX_FILE_BYTES
            )));
        }
        Some(format) => {
            let _one_at_a_time = PICTURES
                .acquire()
                .await
                .map_err(|error| anyhow::anyhow!("picture queue closed: {error}"))?;
            let bytes = tokio::fs::read(&path)
                .await
                .map_err(|error| anyhow::anyhow!("cannot read a staged upload: {error}"))?;
            let inspected = tokio::task::spawn_blocking(move || pictures::inspect(&bytes, format))
                .await
                .map_err(|error| anyhow::anyhow!("picture inspection failed: {error}"))?;
            let picture = match inspected {
                Ok(picture) => picture,
                Err(error) => {
                    discard(db, files, id).await?;
                    return Err(Error::validation(error.to_string()));
                }
            };
            let cleaned = files.staging.join(format!("{id}.clean"));
            tokio::fs::write(&cleaned, &picture.cleaned)
                .await
                .map_err(|error| anyhow::anyhow!("cannot write a staged upload: {error}"))?;
            recorded.size = picture.cleaned.len() as u64;
            recorded.content_type = picture.content_type.to_owned();
            source = cleaned;
            if let Some(shown) = picture.shown {
                let bytes = Bytes::from(shown.thumbnail);
                let key = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&bytes));
                recorded.picture = Some(attachments::PictureRecord {
                    width: shown.width,
                    height: shown.height,
                    animated: shown.animated,
                    thumbnail_blob: key.clone(),
                });
                thumbnail = Some((key, bytes));
            }
        }
    }
    recorded.blob = super::BlobStore::digest(&source)
        .await
        .map_err(|error| anyhow::anyhow!("cannot read a staged upload: {error}"))?;
    // Stored, then recorded, under the lock that collection takes: collection never deletes a
    // blob between its store check here and the record that uses it. (One process; several
    // nodes need the lock shared, issue 19.) The database's write lock is taken only for the
    // record, not across the copy.
    let blobs = attachments::BLOBS.lock().await;
    if let Some((key, bytes)) = thumbnail {
        files.store.put_bytes(&key, bytes).await?;
    }
    files.store.put_file(&recorded.blob, &source).await?;
    let mut tx = db.begin_write().await?;
    attachments::record(&mut tx, &recorded).await?;
    sqlx::query("DELETE FROM uploads WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    drop(blobs);
    for staged in [path, files.staging.join(format!("{id}.clean"))] {
        if let Err(error) = tokio::fs::remove_file(&staged).await
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(%error, "a staged upload was not removed");
        }
    }
    Ok(())
}

/// Drops an upload and its staged bytes.
async fn discard(db: &Db, files: &Files, id: AttachmentId) -> Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM uploads WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    match tokio::fs::remove_file(staged(files, id)).await {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(Error::Internal(anyhow::anyhow!(
            "cannot remove a staged upload: {error}"
        ))),
    }
}

/// Abandons my upload in progress (tus termination), or deletes my finished file that no
/// message carries yet.
pub async fn terminate(db: &Db, files: &Files, auth: AuthSession, id: AttachmentId) -> Result<()> {
    if mine(db, auth, id).await?.is_some() {
        return discard(db, files, id).await;
    }
    attachments::delete_unsent(db, files, auth.user_id, id).await
}
