//! Sending and fetching files: an upload goes in pieces and resumes where the server stands
//! after a cut (tus 1.0), so at most one piece is ever sent twice; a download is written beside
//! its destination and resumes with a range, then takes its name once complete.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use backon::{ExponentialBuilder, Retryable};
use natter_protocol::{Attachment, AttachmentId};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::api::{Api, ApiError, UploadTarget};

/// Bytes per upload request: small enough that a cut costs little, large enough that the
/// round trips do not dominate.
pub const PIECE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Local {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("the download stopped at byte {got} of {expected}")]
    Incomplete { got: u64, expected: u64 },
}

fn local(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError::Local {
        path: path.to_owned(),
        source,
    }
}

/// A file's name as sent: the last part of its path.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned())
}

/// The type a file's extension suggests; the server looks at a picture's bytes itself.
pub fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .map(|extension| extension.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "pdf" => "application/pdf",
        "txt" | "md" | "log" => "text/plain",
        "zip" => "application/zip",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// Retries a request that failed for a reason that may pass (unreachable, 5xx, throttled).
fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(10))
        .with_max_times(8)
        .with_jitter()
}

/// Uploads the file at `path`, continuing `resume` when given (an upload started before a
/// restart). `started` hears of the target once it exists (to keep it for a resume);
/// `progress` of the bytes the server has. Answers the attachment's id.
pub async fn upload(
    api: &Api,
    path: &Path,
    resume: Option<UploadTarget>,
    started: impl FnOnce(&UploadTarget),
    progress: impl Fn(u64, u64),
) -> Result<AttachmentId, FileError> {
    let length = tokio::fs::metadata(path).await.map_err(local(path))?.len();
    let (target, mut offset) = match resume {
        Some(target) => {
            let offset = (|| api.upload_offset(&target))
                .retry(backoff())
                .sleep(tokio::time::sleep)
                .when(ApiError::is_retryable)
                .await?;
            (target, offset)
        }
        None => {
            let target = api
                .create_upload(length, &file_name(path), content_type(path))
                .await?;
            started(&target);
            (target, 0)
        }
    };
    let mut file = tokio::fs::File::open(path).await.map_err(local(path))?;
    let mut buffer = vec![0; PIECE_BYTES];
    progress(offset, length);
    while offset < length {
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(local(path))?;
        let wanted =
            usize::try_from((length - offset).min(PIECE_BYTES as u64)).unwrap_or(PIECE_BYTES);
        file.read_exact(&mut buffer[..wanted])
            .await
            .map_err(local(path))?;
        let piece = bytes::Bytes::copy_from_slice(&buffer[..wanted]);
        offset = match api.upload_piece(&target, offset, piece).await {
            Ok(offset) => offset,
            Err(error) if error.is_retryable() => {
                // Cut: ask where the server stands and go on from there.
                tracing::debug!(%error, offset, "an upload piece failed; resuming");
                (|| api.upload_offset(&target))
                    .retry(backoff())
                    .sleep(tokio::time::sleep)
                    .when(ApiError::is_retryable)
                    .await?
            }
            Err(error) => return Err(error.into()),
        };
        progress(offset, length);
    }
    Ok(target.id)
}

/// Downloads an attachment to `destination`, through `<destination>.part`, resuming a part
/// left by an earlier try. `progress` hears the bytes written.
pub async fn download(
    api: &Api,
    attachment: &Attachment,
    destination: &Path,
    progress: impl Fn(u64, u64),
) -> Result<(), FileError> {
    let mut part = destination.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    let expected = attachment.size;
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&part)
        .await
        .map_err(local(&part))?;
    let mut got = file.metadata().await.map_err(local(&part))?.len();
    if got > expected {
        file.set_len(0).await.map_err(local(&part))?;
        got = 0;
    }
    let mut attempts = 0;
    while got < expected {
        let response = match api.download(&attachment.url, got).await {
            Ok(response) => response,
            Err(error) if error.is_retryable() && attempts < 8 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(250 << attempts.min(5))).await;
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        if got > 0 && response.status() != reqwest::StatusCode::PARTIAL_CONTENT {
            // The server sent it whole: start the part again.
            file.set_len(0).await.map_err(local(&part))?;
            got = 0;
        }
        let mut response = response;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    file.write_all(&chunk).await.map_err(local(&part))?;
                    got += chunk.len() as u64;
                    progress(got, expected);
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::debug!(%error, got, "a download was cut; resuming");
                    attempts += 1;
                    break;
                }
            }
        }
        if attempts > 8 {
            break;
        }
    }
    file.flush().await.map_err(local(&part))?;
    file.sync_all().await.map_err(local(&part))?;
    drop(file);
    if got != expected {
        return Err(FileError::Incomplete { got, expected });
    }
    tokio::fs::rename(&part, destination)
        .await
        .map_err(local(destination))?;
    Ok(())
}

/// A path in `directory` for `name` that does not exist yet: `name`, then `name (1)`, … (a
/// file's name from another person never overwrites anything, nor leaves the directory).
pub fn free_path(directory: &Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | ':' | '\0') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let safe = match safe.trim_start_matches('.') {
        "" => "file".to_owned(),
        trimmed => trimmed.to_owned(),
    };
    let (stem, extension) = match safe.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem.to_owned(), format!(".{extension}")),
        _ => (safe.clone(), String::new()),
    };
    let mut candidate = directory.join(&safe);
    let mut index = 1;
    while candidate.exists() {
        candidate = directory.join(format!("{stem} ({index}){extension}"));
        index += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_from_someone_else_stays_in_the_directory_and_overwrites_nothing() {
        let directory = tempfile::tempdir().expect("a directory");
        assert_eq!(
            free_path(directory.path(), "../../etc/passwd"),
            directory.path().join("_.._etc_passwd")
        );
        assert_eq!(
            free_path(directory.path(), ".bashrc"),
            directory.path().join("bashrc")
        );
        std::fs::write(directory.path().join("report.pdf"), b"x").expect("a file");
        assert_eq!(
            free_path(directory.path(), "report.pdf"),
            directory.path().join("report (1).pdf")
        );
    }
}
