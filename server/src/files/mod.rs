//! Files and pictures: resumable uploads (tus 1.0, `uploads.rs`), the store their bytes go to
//! (`store.rs`), what a picture is (`pictures.rs`), and attachments, the finished files that
//! messages carry and members download (`attachments.rs`).

pub mod attachments;
pub mod pictures;
pub mod store;
pub mod uploads;

use std::path::PathBuf;

pub use store::BlobStore;

/// What the file domain needs: where uploads are staged, where files go, and the limits.
#[derive(Clone, Debug)]
pub struct Files {
    pub store: BlobStore,
    /// Staged uploads, on this node's disk (several nodes: a shared directory, or uploads
    /// routed to one node).
    pub staging: PathBuf,
    /// Largest file, in bytes.
    pub max_bytes: u64,
    /// Bytes of files (sent or not) and uploads in progress one user may hold.
    pub quota_bytes: u64,
}

/// An upload untouched, or a file unsent, for this long is abandoned.
pub const ABANDONED_AFTER_MS: i64 = 24 * 60 * 60 * 1000;

/// Removes uploads started before `before` and still unfinished (with their staged bytes), and
/// files finished before it that no message carries.
pub async fn sweep(db: &crate::db::Db, files: &Files, before: i64) -> crate::error::Result<()> {
    let mut tx = db.begin_write().await?;
    let uploads: Vec<(String,)> =
        sqlx::query_as("DELETE FROM uploads WHERE created_at < $1 RETURNING id")
            .bind(before)
            .fetch_all(&mut *tx)
            .await?;
    let unsent: Vec<(String, Option<String>)> = sqlx::query_as(
        "DELETE FROM attachments WHERE message_id IS NULL AND created_at < $1 \
         RETURNING blob, thumbnail_blob",
    )
    .bind(before)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    for (id,) in uploads {
        for staged in [
            files.staging.join(&id),
            files.staging.join(format!("{id}.clean")),
        ] {
            if let Err(error) = tokio::fs::remove_file(&staged).await
                && error.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(%error, "a staged upload was not removed");
            }
        }
    }
    let blobs = unsent
        .into_iter()
        .flat_map(|(blob, thumbnail)| [Some(blob), thumbnail])
        .flatten();
    attachments::collect(db, &files.store, blobs).await;
    Ok(())
}
