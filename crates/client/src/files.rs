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

/// A file to send: where it is on this device, the name it goes by (its own by default), and
/// whether it is a copy the app made for the message (removed once sent or discarded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileToSend {
    pub path: PathBuf,
    pub name: Option<String>,
    pub owned: bool,
}

impl From<PathBuf> for FileToSend {
    fn from(path: PathBuf) -> Self {
        Self {
            path,
            name: None,
            owned: false,
        }
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

/// Uploads the file at `path` as `name`, continuing `resume` when given (an upload started before a
/// restart). `started` hears of the target once it exists, before any byte goes (to keep it
/// for a resume or a cancel);
/// `progress` of the bytes the server has. Answers the attachment's id.
pub async fn upload(
    api: &Api,
    path: &Path,
    name: &str,
    resume: Option<UploadTarget>,
    started: impl AsyncFnOnce(&UploadTarget),
    progress: impl Fn(u64, u64),
) -> Result<AttachmentId, FileError> {
    let length = tokio::fs::metadata(path).await.map_err(local(path))?.len();
    let where_it_stands = |target: UploadTarget| async move {
        let stands = (|| api.upload_offset(&target))
            .retry(backoff())
            .sleep(tokio::time::sleep)
            .when(ApiError::is_retryable)
            .await;
        (target, stands)
    };
    let resumed = match resume {
        Some(target) => match where_it_stands(target).await {
            // The same file (by length) as when it started: go on from where the server is.
            (target, Ok((offset, declared))) if declared == length => Some((target, offset)),
            (_, Ok(_)) => None,
            (_, Err(error)) if error.is_not_found() => None,
            (_, Err(error)) => return Err(error.into()),
        },
        None => None,
    };
    let (target, mut offset) = match resumed {
        Some(resumed) => resumed,
        None => {
            let target = api
                .create_upload(length, name, content_type(Path::new(name)))
                .await?;
            started(&target).await;
            (target, 0)
        }
    };
    let mut file = tokio::fs::File::open(path).await.map_err(local(path))?;
    let mut buffer = vec![0; PIECE_BYTES];
    progress(offset, length);
    // The piece that ends the upload must be answered once, even an empty one (a file of no
    // bytes, or a resume that finds every byte there but no answer to the last piece).
    let mut finished = false;
    let mut refusals = 0;
    while !finished {
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(local(path))?;
        let wanted =
            usize::try_from((length - offset).min(PIECE_BYTES as u64)).unwrap_or(PIECE_BYTES);
        file.read_exact(&mut buffer[..wanted])
            .await
            .map_err(local(path))?;
        let piece = bytes::Bytes::copy_from_slice(&buffer[..wanted]);
        match api.upload_piece(&target, offset, piece).await {
            Ok(now) => {
                offset = now;
                finished = offset == length;
            }
            // A cut, or (409) a piece the server still holds from a cut connection or stands
            // elsewhere: ask where it stands and go on from there.
            Err(error) if error.is_retryable() || error.is_conflict() => {
                refusals += 1;
                if refusals > 20 {
                    return Err(error.into());
                }
                tracing::debug!(%error, offset, "an upload piece failed; resuming");
                if error.is_conflict() {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                let (_, stands) = where_it_stands(target.clone()).await;
                offset = stands?.0;
            }
            Err(error) => return Err(error.into()),
        }
        progress(offset, length);
    }
    Ok(target.id)
}

/// Where a download of `attachment` into `directory` is written until complete: it is the
/// attachment's own, so a part of another file by the same name is never resumed.
pub fn part_path(directory: &Path, attachment: AttachmentId) -> PathBuf {
    directory.join(format!(".{attachment}.natter-part"))
}

/// Downloads an attachment to `destination` through a part file beside it, resuming a part
/// left by an earlier try. `progress` hears the bytes written. Answers where the file is: a
/// free name beside `destination` if a file took that name meanwhile.
pub async fn download(
    api: &Api,
    attachment: &Attachment,
    destination: &Path,
    progress: impl Fn(u64, u64),
) -> Result<PathBuf, FileError> {
    let directory = destination.parent().unwrap_or(Path::new("."));
    let part = part_path(directory, attachment.id);
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
    while got < expected && attempts <= 8 {
        let response = match api.download(&attachment.url, got).await {
            Ok(response) => response,
            Err(error) if error.is_retryable() => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(250 << attempts.min(5))).await;
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        let resumes_here = response.status() == reqwest::StatusCode::PARTIAL_CONTENT
            && response
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("bytes "))
                .and_then(|value| value.split('-').next())
                .and_then(|start| start.parse::<u64>().ok())
                == Some(got);
        if got > 0 && !resumes_here {
            // Not the range asked for: start the part again from what came.
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
    }
    file.flush().await.map_err(local(&part))?;
    file.sync_all().await.map_err(local(&part))?;
    drop(file);
    if got != expected {
        return Err(FileError::Incomplete { got, expected });
    }
    // Never over a file that appeared meanwhile.
    let destination = if destination.exists() {
        free_path(directory, &file_name(destination))
    } else {
        destination.to_owned()
    };
    tokio::fs::rename(&part, &destination)
        .await
        .map_err(local(&destination))?;
    Ok(destination)
}

/// A path in `directory` for `name` that does not exist yet: `name`, then `name (1)`, … (a
/// file's name from another person never overwrites anything, nor leaves the directory).
pub fn free_path(directory: &Path, name: &str) -> PathBuf {
    let safe = safe_name(name);
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

/// Names Windows keeps for devices, with any extension (`NUL.txt` is the null device).
const WINDOWS_DEVICES: [&str; 22] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// A name that is an ordinary file name on Windows, macOS and Linux: no folders, no characters
/// those systems refuse or that disguise the name (bidirectional overrides), no device name,
/// no leading dot (hidden) or trailing dot or space, and short enough for a suffix.
fn safe_name(name: &str) -> String {
    let mut safe: String = name
        .chars()
        .filter(|c| !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '<' | '>' | '"' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    safe = safe
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' '])
        .to_owned();
    let stem = safe.split('.').next().unwrap_or("").to_ascii_lowercase();
    if WINDOWS_DEVICES.contains(&stem.trim_end()) {
        safe.insert(0, '_');
    }
    // 255 bytes is every system's limit; room is left for " (99)".
    while safe.len() > 200 {
        safe.pop();
    }
    if safe.is_empty() {
        "file".to_owned()
    } else {
        safe
    }
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
            free_path(directory.path(), "NUL.txt"),
            directory.path().join("_NUL.txt")
        );
        assert_eq!(
            free_path(directory.path(), "invoice\u{202e}fdp.exe"),
            directory.path().join("invoicefdp.exe")
        );
        assert_eq!(
            free_path(directory.path(), "what?.txt. "),
            directory.path().join("what_.txt")
        );
        assert_eq!(
            free_path(directory.path(), "..."),
            directory.path().join("file")
        );
        assert!(
            free_path(directory.path(), &"é".repeat(300))
                .file_name()
                .is_some_and(|name| name.len() <= 200)
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
