//! Posting an outbox message for the session shell: its files go up first (each step kept in
//! the outbox, so a cut or a restart resumes), then the message; and giving one up, which
//! cancels its uploads on the server and removes the app's own copies of its files.

use std::sync::Arc;

use natter_protocol::{ClientMessageId, SendMessageRequest};
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{
    account_state::AccountState,
    api::ApiError,
    cache::CacheError,
    client::ClientEvent,
    session::{Input, OutgoingFile, OutgoingMessage, SendFailure},
};

/// Posts `message` in the background; the outcome comes back to the machine on `answers`.
pub(crate) fn spawn(
    shared: Arc<AccountState>,
    message: OutgoingMessage,
    answers: mpsc::UnboundedSender<Input>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let attachments = match upload_files(&shared, &message).await {
            Ok(attachments) => attachments,
            Err(failure) => {
                let _ = answers.send(Input::SendFailed {
                    client_id: message.client_id,
                    failure,
                });
                return;
            }
        };
        let request = SendMessageRequest {
            client_id: message.client_id,
            body: message.body.clone(),
            reply_to: message.reply_to,
            attachments,
        };
        let input = match shared
            .api
            .send_message(message.conversation_id, &request)
            .await
        {
            Ok(stored) => Input::SendSucceeded {
                client_id: message.client_id,
                message: stored,
            },
            Err(error) => Input::SendFailed {
                client_id: message.client_id,
                failure: send_failure(&error),
            },
        };
        let _ = answers.send(input);
    })
}

/// Removes a discarded message from the outbox and tells the app; its uploads are cancelled
/// on the server (their staged bytes freed at once rather than by the server's sweep) in the
/// background.
pub(crate) async fn discard(
    shared: &Arc<AccountState>,
    client_id: ClientMessageId,
) -> Result<(), CacheError> {
    let Some(crate::cache::OutboxEntry { message, .. }) =
        shared.cache.outbox_remove(client_id).await?
    else {
        return Ok(());
    };
    remove_copies(&message.files);
    shared.emit(ClientEvent::MessageDiscarded {
        conversation_id: message.conversation_id,
        client_id,
    });
    let api = shared.api.clone();
    tokio::spawn(async move {
        for target in message.files.iter().filter_map(|file| file.upload.as_ref()) {
            // A finished upload no message carries is deleted too; one a message took (the
            // post won the race) is refused, and stays with its message.
            if let Err(error) = api.cancel_upload(target).await {
                tracing::debug!(%error, id = %target.id, "an upload was not cancelled");
            }
        }
    });
    Ok(())
}

/// Removes the copies the app made for a message (pasted pictures) once they are not needed.
pub(crate) fn remove_copies(files: &[OutgoingFile]) {
    for file in files.iter().filter(|file| file.owned) {
        if let Err(error) = std::fs::remove_file(&file.path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(%error, path = %file.path.display(), "a copy of a sent file was not removed");
        }
    }
}

/// How a request's failure counts for the outbox.
fn send_failure(error: &ApiError) -> SendFailure {
    if error.is_unauthorized() {
        SendFailure::Unauthorized
    } else if let Some(wait) = error.retry_after() {
        SendFailure::Throttled {
            reason: error.to_string(),
            wait,
        }
    } else if error.is_retryable() {
        SendFailure::Retryable(error.to_string())
    } else {
        SendFailure::Rejected(error.to_string())
    }
}

/// Uploads a queued message's files that are not up yet (resuming a started upload), keeping
/// each step in the outbox so a restart goes on from there; answers their attachment ids.
async fn upload_files(
    shared: &Arc<AccountState>,
    message: &OutgoingMessage,
) -> Result<Vec<natter_protocol::AttachmentId>, SendFailure> {
    let mut files = message.files.clone();
    for index in 0..files.len() {
        if files[index].attachment.is_some() {
            continue;
        }
        let file = files[index].clone();
        let started = std::sync::Mutex::new(None);
        let kept = &files;
        let uploaded = crate::files::upload(
            &shared.api,
            &file.path,
            &file.name,
            file.upload.clone(),
            async |target: &crate::api::UploadTarget| {
                // Kept before any byte goes: a restart resumes it, a discard cancels it.
                let mut with_target = kept.clone();
                with_target[index].upload = Some(target.clone());
                if let Err(error) = shared
                    .cache
                    .outbox_files(message.client_id, &with_target)
                    .await
                {
                    tracing::warn!(%error, "a started upload was not kept");
                }
                if let Ok(mut started) = started.lock() {
                    *started = Some(target.clone());
                }
            },
            |sent, total| {
                shared.emit(ClientEvent::FileProgress {
                    conversation_id: message.conversation_id,
                    client_id: message.client_id,
                    file: index,
                    sent,
                    total,
                });
            },
        )
        .await;
        if let Some(target) = started.lock().ok().and_then(|mut started| started.take()) {
            files[index].upload = Some(target);
        }
        match uploaded {
            Ok(attachment) => files[index].attachment = Some(attachment),
            Err(error) => {
                // Where it got is kept, so the next try resumes.
                let _ = shared.cache.outbox_files(message.client_id, &files).await;
                return Err(match &error {
                    crate::files::FileError::Api(error) => send_failure(error),
                    crate::files::FileError::Local { .. }
                    | crate::files::FileError::Incomplete { .. } => {
                        SendFailure::Rejected(error.to_string())
                    }
                });
            }
        }
        if let Err(error) = shared.cache.outbox_files(message.client_id, &files).await {
            tracing::warn!(%error, "an upload's progress was not kept");
        }
    }
    Ok(files.iter().filter_map(|file| file.attachment).collect())
}
