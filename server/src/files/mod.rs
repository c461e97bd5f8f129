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
