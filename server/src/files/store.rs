//! Where files' bytes live: an object store (object_store), content-addressed by SHA-256 so the
//! same file sent twice is stored once. A directory under the data directory by default; an
//! S3-compatible bucket (`--file-store s3://bucket/prefix`, credentials and endpoint from the
//! usual `AWS_*` variables) for several nodes. Bytes stream both ways in bounded pieces: memory
//! stays flat whatever the file's size.

use std::{ops::Range, path::Path as LocalPath, sync::Arc};

use anyhow::Context;
use bytes::Bytes;
use futures_util::{StreamExt, stream::BoxStream};
use object_store::{
    GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart,
    local::LocalFileSystem, path::Path,
};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

/// Piece size for reading a staged file and for multipart uploads (S3 wants at least 5 MiB).
const PIECE_BYTES: usize = 8 * 1024 * 1024;

/// A stored file's key: its SHA-256 in hex.
pub type BlobKey = String;

#[derive(Clone, Debug)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
}

impl BlobStore {
    /// `files/` under the data directory.
    pub fn local(directory: &LocalPath) -> anyhow::Result<BlobStore> {
        std::fs::create_dir_all(directory)
            .with_context(|| format!("cannot create {}", directory.display()))?;
        let store = LocalFileSystem::new_with_prefix(directory)
            .context("cannot use the file store directory")?
            // Half-written files never show under their final name.
            .with_automatic_cleanup(true);
        Ok(BlobStore {
            store: Arc::new(store),
            prefix: Path::default(),
        })
    }

    /// A store given by URL (`s3://bucket/prefix`, `file:///path`), configured from the
    /// environment (`AWS_ENDPOINT`, `AWS_ACCESS_KEY_ID`, …) and then from `options`.
    pub fn from_url(url: &url::Url, options: &[(String, String)]) -> anyhow::Result<BlobStore> {
        let options: Vec<(String, String)> = std::env::vars()
            .filter(|(key, _)| key.starts_with("AWS_"))
            .map(|(key, value)| (key.to_ascii_lowercase(), value))
            .chain(options.iter().cloned())
            .collect();
        let (store, prefix) = object_store::parse_url_opts(url, options)
            .with_context(|| format!("cannot use the file store {url}"))?;
        Ok(BlobStore {
            store: Arc::from(store),
            prefix,
        })
    }

    fn path(&self, key: &str) -> Path {
        // Two levels of fan-out keep directories small on a local disk.
        let shard = key.get(..2).unwrap_or("00");
        self.prefix.clone().join(shard).join(key)
    }

    /// The SHA-256 of a local file, read in pieces.
    pub async fn digest(file: &LocalPath) -> std::io::Result<BlobKey> {
        let mut reader = tokio::fs::File::open(file).await?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; 256 * 1024];
        loop {
            let read = reader.read(&mut buffer).await?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
        Ok(format!("{:x}", hasher.finalize()))
    }

    pub async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        match self.store.head(&self.path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(error).context("the file store did not answer"),
        }
    }

    /// Stores a local file under `key` (its digest), unless it is stored already.
    pub async fn put_file(&self, key: &str, file: &LocalPath) -> anyhow::Result<()> {
        if self.exists(key).await? {
            return Ok(());
        }
        let upload = self
            .store
            .put_multipart(&self.path(key))
            .await
            .context("the file store refused a new file")?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PIECE_BYTES);
        let mut reader = tokio::fs::File::open(file)
            .await
            .context("cannot read a staged upload")?;
        let mut buffer = vec![0; PIECE_BYTES];
        loop {
            let read = match reader.read(&mut buffer).await {
                Ok(read) => read,
                Err(error) => {
                    let _ = writer.abort().await;
                    return Err(error).context("cannot read a staged upload");
                }
            };
            if read == 0 {
                break;
            }
            // At most two pieces in flight: memory stays bounded however large the file.
            writer
                .wait_for_capacity(2)
                .await
                .context("the file store failed during an upload")?;
            writer.write(&buffer[..read]);
        }
        writer
            .finish()
            .await
            .context("the file store could not complete a file")?;
        Ok(())
    }

    /// Stores a small file held in memory (a thumbnail).
    pub async fn put_bytes(&self, key: &str, bytes: Bytes) -> anyhow::Result<()> {
        if self.exists(key).await? {
            return Ok(());
        }
        self.store
            .put(&self.path(key), PutPayload::from(bytes))
            .await
            .context("the file store refused a file")?;
        Ok(())
    }

    /// The bytes of `range` (or all) of a stored file, as a stream of pieces.
    pub async fn get(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> anyhow::Result<BoxStream<'static, std::io::Result<Bytes>>> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self
            .store
            .get_opts(&self.path(key), options)
            .await
            .context("the file store could not read a file")?;
        Ok(result
            .into_stream()
            .map(|piece| piece.map_err(std::io::Error::other))
            .boxed())
    }

    /// Reads a whole stored file into memory (thumbnails only: they are small).
    pub async fn read_small(&self, key: &str) -> anyhow::Result<Bytes> {
        let result = self
            .store
            .get(&self.path(key))
            .await
            .context("the file store could not read a file")?;
        result
            .bytes()
            .await
            .context("the file store could not read a file")
    }

    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error).context("the file store could not delete a file"),
        }
    }
}
