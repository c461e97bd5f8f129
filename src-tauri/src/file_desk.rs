//! Files in the app. What the user is about to send (picked in the system's dialog, dropped on
//! the window, or pasted) is staged here and sent by its id: the page never names a path, so
//! a page that misbehaved could not send a file the user did not give. Downloads go to the
//! user's Downloads folder, one task per file with progress and cancel, and open with the
//! system's app or show in their folder.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use natter_client::{
    Client,
    files::{FileError, FileToSend},
};
use natter_protocol::{Attachment, AttachmentId, ClientMessageId, ConversationId};
use serde::Serialize;
use tauri::{AppHandle, Manager};
use uuid::Uuid;

use crate::{desktop::IpcError, page_events};

/// Progress events of a download are at most this frequent (a chunk is a few KiB).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// A file staged to be sent, as the page shows it above the composer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct StagedFile {
    pub id: Uuid,
    pub name: String,
    #[ts(type = "number")]
    pub size: u64,
    /// The type its name suggests (`image/…` for a picture).
    pub content_type: String,
}

/// Files dropped on the window, staged: the page adds them to the conversation shown.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct FilesStaged {
    pub files: Vec<StagedFile>,
}

/// Files are dragged over the window (`over`), or no longer.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct FileDrag {
    pub over: bool,
}

/// A queued message's file `file` (its index) is going up: `sent` of `total` bytes.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct UploadProgress {
    pub conversation_id: ConversationId,
    pub client_id: ClientMessageId,
    pub file: u32,
    #[ts(type = "number")]
    pub sent: u64,
    #[ts(type = "number")]
    pub total: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum DownloadState {
    Running,
    Done,
    Failed,
    Cancelled,
}

/// Where a download stands; `error` says why one failed.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DownloadView {
    pub attachment_id: AttachmentId,
    pub state: DownloadState,
    #[ts(type = "number")]
    pub received: u64,
    #[ts(type = "number")]
    pub total: u64,
    pub error: Option<String>,
}

struct Staged {
    path: PathBuf,
    name: String,
    size: u64,
    /// The app's own copy (pasted): removed when unstaged, or once sent.
    copy: bool,
}

enum Download {
    Running {
        task: tauri::async_runtime::JoinHandle<()>,
        part: PathBuf,
    },
    Done(PathBuf),
}

/// Managed by Tauri: the staged files and the downloads of this run.
#[derive(Clone, Default)]
pub struct FileDesk {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    staged: HashMap<Uuid, Staged>,
    downloads: HashMap<AttachmentId, Download>,
}

fn view_of(id: Uuid, staged: &Staged) -> StagedFile {
    StagedFile {
        id,
        name: staged.name.clone(),
        size: staged.size,
        content_type: natter_client::files::content_type(Path::new(&staged.name)).to_owned(),
    }
}

fn unknown_staged() -> IpcError {
    IpcError::new(
        "unknown_file",
        "That file is no longer ready to send: add it again.",
    )
}

impl FileDesk {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not take the files with it: the map is always consistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stages files the user gave (picked or dropped); folders and what cannot be read are
    /// left out, with the reason logged.
    pub fn stage(&self, paths: Vec<PathBuf>) -> Vec<StagedFile> {
        let mut inner = self.lock();
        let mut views = Vec::new();
        for path in paths {
            match std::fs::metadata(&path) {
                Ok(metadata) if metadata.is_file() => {
                    let id = Uuid::now_v7();
                    let staged = Staged {
                        name: natter_client::files::file_name(&path),
                        size: metadata.len(),
                        path,
                        copy: false,
                    };
                    views.push(view_of(id, &staged));
                    inner.staged.insert(id, staged);
                }
                Ok(_) => tracing::info!(path = %path.display(), "not a file: not staged"),
                Err(error) => tracing::warn!(%error, path = %path.display(), "not staged"),
            }
        }
        views
    }

    /// Stages a copy of pasted bytes, written in `directory` (the app's own, swept by
    /// [`sweep_copies`](Self::sweep_copies)).
    pub fn stage_copy(
        &self,
        directory: &Path,
        name: &str,
        bytes: &[u8],
    ) -> Result<StagedFile, IpcError> {
        let id = Uuid::now_v7();
        let path = directory.join(id.to_string());
        std::fs::create_dir_all(directory)
            .and_then(|()| std::fs::write(&path, bytes))
            .map_err(|error| {
                IpcError::new(
                    "file_not_written",
                    format!("The pasted file could not be kept for sending: {error}."),
                )
            })?;
        let staged = Staged {
            path,
            // A name from the page is a name, never a path.
            name: natter_client::files::file_name(Path::new(name)),
            size: bytes.len() as u64,
            copy: true,
        };
        let view = view_of(id, &staged);
        self.lock().staged.insert(id, staged);
        Ok(view)
    }

    /// The user took a staged file back.
    pub fn unstage(&self, id: Uuid) {
        if let Some(staged) = self.lock().staged.remove(&id)
            && staged.copy
        {
            remove_quietly(&staged.path);
        }
    }

    /// The staged files `ids`, to send (still staged until [`sent`](Self::sent)).
    pub fn to_send(&self, ids: &[Uuid]) -> Result<Vec<FileToSend>, IpcError> {
        let inner = self.lock();
        ids.iter()
            .map(|id| {
                let staged = inner.staged.get(id).ok_or_else(unknown_staged)?;
                Ok(FileToSend {
                    path: staged.path.clone(),
                    name: Some(staged.name.clone()),
                    owned: staged.copy,
                })
            })
            .collect()
    }

    /// The files went into the outbox, which now owns the copies among them.
    pub fn sent(&self, ids: &[Uuid]) {
        let mut inner = self.lock();
        for id in ids {
            inner.staged.remove(id);
        }
    }

    /// Removes the copies in `directory` that neither a queued message nor the composer needs
    /// (left by a crash, or by a message discarded while the app was closed).
    pub fn sweep_copies(&self, directory: &Path, queued: &[PathBuf]) {
        let Ok(entries) = std::fs::read_dir(directory) else {
            return;
        };
        let staged: Vec<PathBuf> = self
            .lock()
            .staged
            .values()
            .map(|staged| staged.path.clone())
            .collect();
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let needed = |kept: &PathBuf| {
                kept == &path || std::path::absolute(kept).is_ok_and(|kept| kept == path)
            };
            if !queued.iter().any(needed) && !staged.iter().any(needed) {
                remove_quietly(&path);
            }
        }
    }

    /// Where a finished download of this run is, if the file is still there.
    pub fn downloaded(&self, attachment_id: AttachmentId) -> Option<PathBuf> {
        match self.lock().downloads.get(&attachment_id) {
            Some(Download::Done(path)) if path.exists() => Some(path.clone()),
            _ => None,
        }
    }

    /// Starts downloading `attachment` into `directory` (nothing new if it is on its way);
    /// progress and the outcome come as `natter://download` events.
    pub fn start_download(
        &self,
        app: &AppHandle,
        client: Client,
        attachment: Attachment,
        directory: PathBuf,
    ) {
        let id = attachment.id;
        let mut inner = self.lock();
        if matches!(inner.downloads.get(&id), Some(Download::Running { .. })) {
            return;
        }
        let part = natter_client::files::part_path(&directory, id);
        let app = app.clone();
        let desk = self.clone();
        // Held while the task is spawned: its outcome is recorded after its start.
        let task = tauri::async_runtime::spawn(async move {
            let total = attachment.size;
            let last = Mutex::new(Instant::now() - PROGRESS_INTERVAL);
            let progress = |received: u64, total: u64| {
                let mut last = last
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if last.elapsed() >= PROGRESS_INTERVAL {
                    *last = Instant::now();
                    emit(&app, id, DownloadState::Running, received, total, None);
                }
            };
            let destination = natter_client::files::free_path(&directory, &attachment.name);
            let outcome = match std::fs::create_dir_all(&directory) {
                Ok(()) => client.download(&attachment, &destination, progress).await,
                Err(source) => Err(FileError::Local {
                    path: directory.clone(),
                    source,
                }),
            };
            let mut inner = desk.lock();
            match outcome {
                Ok(path) => {
                    mark_as_downloaded(&path);
                    inner.downloads.insert(id, Download::Done(path));
                    emit(&app, id, DownloadState::Done, total, total, None);
                }
                Err(error) => {
                    tracing::warn!(%error, %id, "a download failed");
                    inner.downloads.remove(&id);
                    emit(
                        &app,
                        id,
                        DownloadState::Failed,
                        0,
                        total,
                        Some(error.to_string()),
                    );
                }
            }
        });
        inner.downloads.insert(id, Download::Running { task, part });
    }

    /// Stops a download on its way and removes what it wrote.
    pub fn cancel_download(&self, app: &AppHandle, attachment_id: AttachmentId) {
        let mut inner = self.lock();
        if let Some(Download::Running { task, part }) = inner.downloads.remove(&attachment_id) {
            task.abort();
            remove_quietly(&part);
            emit(app, attachment_id, DownloadState::Cancelled, 0, 0, None);
        }
    }
}

fn emit(
    app: &AppHandle,
    attachment_id: AttachmentId,
    state: DownloadState,
    received: u64,
    total: u64,
    error: Option<String>,
) {
    let view = DownloadView {
        attachment_id,
        state,
        received,
        total,
        error,
    };
    if let Err(error) = page_events::emit(app, &view) {
        tracing::warn!(%error, "a download's progress was not shown");
    }
}

fn remove_quietly(path: &Path) {
    if let Err(error) = std::fs::remove_file(path)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(%error, path = %path.display(), "not removed");
    }
}

/// The user's Downloads folder (created if missing).
pub fn downloads_folder(app: &AppHandle) -> Result<PathBuf, IpcError> {
    app.path()
        .download_dir()
        .ok()
        .or_else(|| {
            app.path()
                .home_dir()
                .ok()
                .map(|home| home.join("Downloads"))
        })
        .ok_or_else(|| {
            IpcError::new(
                "no_downloads_folder",
                "There is no Downloads folder to save the file in.",
            )
        })
}

/// Where this account's pasted copies wait to be sent.
pub fn copies_folder(data_dir: &Path, account: natter_protocol::UserId) -> PathBuf {
    data_dir.join("outgoing").join(account.to_string())
}

/// Marks a downloaded file as coming from elsewhere, as browsers do, so the system asks before
/// running it: the Mark of the Web on Windows, the quarantine attribute on macOS.
fn mark_as_downloaded(path: &Path) {
    #[cfg(windows)]
    {
        let mut stream = path.as_os_str().to_owned();
        stream.push(":Zone.Identifier");
        if let Err(error) = std::fs::write(&stream, "[ZoneTransfer]\r\nZoneId=3\r\n") {
            tracing::warn!(%error, "a download was not marked as from the internet");
        }
    }
    #[cfg(target_os = "macos")]
    {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or(0);
        let marked = std::process::Command::new("/usr/bin/xattr")
            .args([
                "-w",
                "com.apple.quarantine",
                &format!("0081;{seconds:x};Natter;"),
            ])
            .arg(path)
            .status();
        if !marked.is_ok_and(|status| status.success()) {
            tracing::warn!("a download was not quarantined");
        }
    }
    #[cfg(not(any(windows, target_os = "macos")))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staged_copy_is_sent_by_id_and_the_sweep_keeps_what_is_needed() {
        let directory = tempfile::tempdir().expect("a directory");
        let desk = FileDesk::default();
        let pasted = desk
            .stage_copy(directory.path(), "image.png", b"picture")
            .expect("staged");
        assert_eq!(pasted.content_type, "image/png");
        let given = directory.path().join("notes.txt");
        std::fs::write(&given, b"notes").expect("a file");
        let picked = desk.stage(vec![given.clone(), directory.path().to_owned()]);
        assert_eq!(picked.len(), 1, "a folder is not staged");

        let files = desk
            .to_send(&[pasted.id, picked[0].id])
            .expect("both staged");
        assert_eq!(files[0].name.as_deref(), Some("image.png"));
        assert!(files[0].owned && !files[1].owned);
        assert!(desk.to_send(&[Uuid::now_v7()]).is_err(), "an unknown id");

        let stray = directory.path().join("left-by-a-crash");
        std::fs::write(&stray, b"x").expect("a file");
        desk.sweep_copies(directory.path(), &[]);
        assert!(!stray.exists(), "a copy nobody needs is removed");
        assert!(files[0].path.exists(), "a staged copy stays");
        assert!(given.exists());

        desk.sent(&[pasted.id]);
        desk.sweep_copies(directory.path(), std::slice::from_ref(&files[0].path));
        assert!(files[0].path.exists(), "a queued copy stays");
        desk.sweep_copies(directory.path(), &[]);
        assert!(!files[0].path.exists(), "sent: the copy goes");

        let second = desk
            .stage_copy(directory.path(), "again.png", b"picture")
            .expect("staged");
        let path = desk.to_send(&[second.id]).expect("staged")[0].path.clone();
        desk.unstage(second.id);
        assert!(!path.exists(), "a copy taken back is removed");
        assert!(given.exists(), "the user's own file is never removed");
    }
}
