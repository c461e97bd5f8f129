//! The commands of files in the app (docs/desktop-ipc.md): thin calls into the [`FileDesk`]
//! and the client core.

use natter_client::{Client, view::MessageView};
use natter_protocol::{Attachment, AttachmentId, ConversationId, MessageId};
use tauri::{AppHandle, State, ipc::Response};
use tauri_plugin_dialog::DialogExt;
use uuid::Uuid;

use crate::{
    desktop::{Desktop, IpcError},
    file_desk::{self, FileDesk, FileDrag, FilesStaged, StagedFile},
    page_events,
};

type Result<T> = std::result::Result<T, IpcError>;

/// A pasted file larger than this is refused before it is copied (the server's own limit
/// usually stops it sooner).
const PASTED_MAX_BYTES: usize = 512 * 1024 * 1024;
/// A thumbnail is a JPEG of at most 640 pixels a side.
const THUMBNAIL_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// A picture shown whole in the viewer (beyond this, the viewer shows its thumbnail).
const PICTURE_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Opens the system's file picker; answers the files chosen, staged (none if cancelled).
#[tauri::command]
pub async fn pick_files(
    window: tauri::Window,
    desk: State<'_, FileDesk>,
) -> Result<Vec<StagedFile>> {
    let (chosen, picked) = tokio::sync::oneshot::channel();
    window
        .dialog()
        .file()
        .set_parent(&window)
        .set_title("Send files")
        .pick_files(move |paths| {
            let _ = chosen.send(paths);
        });
    let paths = picked.await.ok().flatten().unwrap_or_default();
    Ok(desk.stage(
        paths
            .into_iter()
            .filter_map(|path| path.into_path().ok())
            .collect(),
    ))
}

/// Keeps a pasted file (its bytes are the request's body, its name the `x-file-name`
/// header, percent-encoded) to send.
#[tauri::command]
pub async fn stage_pasted(
    desktop: State<'_, Desktop>,
    desk: State<'_, FileDesk>,
    request: tauri::ipc::Request<'_>,
) -> Result<StagedFile> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(IpcError::new(
            "invalid_file",
            "The pasted file came without its bytes.",
        ));
    };
    if bytes.len() > PASTED_MAX_BYTES {
        return Err(IpcError::new(
            "too_large",
            "The pasted file is too large: attach it from its folder instead.",
        ));
    }
    let name = request
        .headers()
        .get("x-file-name")
        .and_then(|value| value.to_str().ok())
        .map(|value| percent_encoding::percent_decode_str(value).decode_utf8_lossy())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "Pasted file".to_owned());
    let me = desktop.client().await?.me();
    desk.stage_copy(
        &file_desk::copies_folder(desktop.data_dir(), me.id),
        &name,
        bytes,
    )
}

/// Takes a staged file back.
#[tauri::command]
pub async fn unstage_file(desk: State<'_, FileDesk>, id: Uuid) -> Result<()> {
    desk.unstage(id);
    Ok(())
}

/// Sends staged files with a text (which may be empty) as one message, through the outbox.
#[tauri::command]
pub async fn send_files(
    desktop: State<'_, Desktop>,
    desk: State<'_, FileDesk>,
    conversation_id: ConversationId,
    body: String,
    reply_to: Option<MessageId>,
    files: Vec<Uuid>,
) -> Result<MessageView> {
    let to_send = desk.to_send(&files)?;
    let message = desktop
        .client()
        .await?
        .send_files(conversation_id, &body, reply_to, to_send)
        .await?;
    desk.sent(&files);
    Ok(message)
}

async fn attachment(
    client: &Client,
    message_id: MessageId,
    attachment_id: AttachmentId,
) -> Result<Attachment> {
    client
        .find_message(message_id)
        .await?
        .attachments
        .into_iter()
        .find(|attachment| attachment.id == attachment_id)
        .ok_or_else(|| IpcError::new("not_found", "That file is not in the message."))
}

/// A picture of a message, as bytes: its thumbnail (a JPEG), or with `full` the file itself.
#[tauri::command]
pub async fn attachment_picture(
    desktop: State<'_, Desktop>,
    message_id: MessageId,
    attachment_id: AttachmentId,
    full: bool,
) -> Result<Response> {
    let client = desktop.client().await?;
    let attachment = attachment(&client, message_id, attachment_id).await?;
    let image = attachment
        .image
        .as_ref()
        .ok_or_else(|| IpcError::new("not_a_picture", "That file is not a picture."))?;
    let (url, max) = if full {
        (attachment.url.as_str(), PICTURE_MAX_BYTES)
    } else {
        (image.thumbnail_url.as_str(), THUMBNAIL_MAX_BYTES)
    };
    let bytes = client.api().attachment_bytes(url, max).await?;
    Ok(Response::new(bytes))
}

/// Downloads a file of a message to the Downloads folder; `natter://download` events follow.
#[tauri::command]
pub async fn download_attachment(
    app: AppHandle,
    desktop: State<'_, Desktop>,
    desk: State<'_, FileDesk>,
    message_id: MessageId,
    attachment_id: AttachmentId,
) -> Result<()> {
    let client = desktop.client().await?;
    let attachment = attachment(&client, message_id, attachment_id).await?;
    let folder = file_desk::downloads_folder(&app)?;
    desk.start_download(&app, client, attachment, folder);
    Ok(())
}

#[tauri::command]
pub async fn cancel_download(
    app: AppHandle,
    desk: State<'_, FileDesk>,
    attachment_id: AttachmentId,
) -> Result<()> {
    desk.cancel_download(&app, attachment_id);
    Ok(())
}

fn downloaded(desk: &FileDesk, attachment_id: AttachmentId) -> Result<std::path::PathBuf> {
    desk.downloaded(attachment_id).ok_or_else(|| {
        IpcError::new(
            "not_downloaded",
            "The file is no longer where it was downloaded: download it again.",
        )
    })
}

/// Opens a downloaded file with the system's app for its type.
#[tauri::command]
pub async fn open_download(desk: State<'_, FileDesk>, attachment_id: AttachmentId) -> Result<()> {
    let path = downloaded(&desk, attachment_id)?;
    tauri_plugin_opener::open_path(&path, None::<&str>).map_err(|error| {
        tracing::warn!(%error, "a download did not open");
        IpcError::new(
            "open_failed",
            "The file could not be opened: no app on this computer opens this type.",
        )
    })
}

/// Shows a downloaded file in its folder.
#[tauri::command]
pub async fn show_download(desk: State<'_, FileDesk>, attachment_id: AttachmentId) -> Result<()> {
    let path = downloaded(&desk, attachment_id)?;
    tauri_plugin_opener::reveal_item_in_dir(&path).map_err(|error| {
        tracing::warn!(%error, "a download's folder did not open");
        IpcError::new("open_failed", "The folder could not be opened.")
    })
}

/// Files dragged over the window: the page shows where they will go, and gets them staged
/// when dropped.
pub fn on_drag_drop(app: &AppHandle, event: &tauri::DragDropEvent) {
    let desk = tauri::Manager::state::<FileDesk>(app);
    let emitted = match event {
        tauri::DragDropEvent::Enter { .. } => page_events::emit(app, &FileDrag { over: true }),
        tauri::DragDropEvent::Leave => page_events::emit(app, &FileDrag { over: false }),
        tauri::DragDropEvent::Drop { paths, .. } => {
            let files = desk.stage(paths.clone());
            page_events::emit(app, &FileDrag { over: false })
                .and_then(|()| page_events::emit(app, &FilesStaged { files }))
        }
        _ => Ok(()),
    };
    if let Err(error) = emitted {
        tracing::warn!(%error, "a drop was not shown");
    }
}

/// Signed in: the pasted copies no queued message needs any more go.
pub async fn sweep_copies(app: &AppHandle) {
    let desktop = tauri::Manager::state::<Desktop>(app).inner().clone();
    let desk = tauri::Manager::state::<FileDesk>(app).inner().clone();
    let Ok(client) = desktop.client().await else {
        return;
    };
    match client.queued_files().await {
        Ok(queued) => desk.sweep_copies(
            &file_desk::copies_folder(desktop.data_dir(), client.me().id),
            &queued,
        ),
        Err(error) => tracing::warn!(%error, "the pasted copies were not swept"),
    }
}
