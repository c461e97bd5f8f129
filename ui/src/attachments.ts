// Files in messages: pictures inline at their own aspect ratio (sized before they load, so
// nothing jumps), other files as cards that download to the Downloads folder and open with
// the system's app, and my files still going up with their progress. Where each transfer
// stands is kept here as Rust reports it; the cards on screen are updated in place, so a
// progress event never re-renders the message list.

import { h } from "./dom";
import { fileSize } from "./format";
import { icon, type IconName } from "./icons";
import {
  commands,
  errorMessage,
  type Attachment,
  type DownloadView,
  type MessageView,
  type UploadProgress,
} from "./ipc";

/** Pictures are shown within this box, keeping their aspect ratio. */
const PICTURE_BOX_PX = 320;
/** An animated picture up to this size plays inline (its file is fetched); a larger one shows
 * its first picture until opened. */
const INLINE_ANIMATION_MAX_BYTES = 8 * 1024 * 1024;
const FILE_CARD_HEIGHT_PX = 64;

// --- where transfers stand -------------------------------------------------------------------

const uploads = new Map<string, { sent: number; total: number }>();
const downloads = new Map<string, DownloadView>();

function uploadKey(clientId: string, file: number): string {
  return `${clientId}:${file}`;
}

/** A queued file moved: its progress bar follows. */
export function uploadProgress(progress: UploadProgress): void {
  const key = uploadKey(progress.client_id, progress.file);
  uploads.set(key, { sent: progress.sent, total: progress.total });
  for (const bar of document.querySelectorAll<HTMLElement>(`[data-upload="${CSS.escape(key)}"]`)) {
    setProgress(bar, progress.sent, progress.total);
  }
}

/** A download moved or ended: its card's controls follow. */
export function downloadChanged(download: DownloadView): void {
  if (download.state === "cancelled") {
    downloads.delete(download.attachment_id);
  } else {
    downloads.set(download.attachment_id, download);
  }
  for (const actions of document.querySelectorAll<HTMLElement>(
    `.file-card[data-attachment-id="${CSS.escape(download.attachment_id)}"] .file-card-actions`,
  )) {
    actions.replaceWith(renderFileActions(download.attachment_id));
  }
}

function setProgress(bar: HTMLElement, done: number, total: number): void {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const fill = bar.querySelector<HTMLElement>(".progress-fill");
  if (fill !== null) {
    fill.style.width = `${(fraction * 100).toFixed(1)}%`;
  }
  bar.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
  bar.title = `${fileSize(done)} of ${fileSize(total)}`;
}

function progressBar(label: string, done: number, total: number): HTMLElement {
  const bar = h(
    "div",
    {
      class: "progress",
      attrs: { role: "progressbar", "aria-label": label, "aria-valuemin": "0", "aria-valuemax": "100" },
    },
    h("div", { class: "progress-fill" }),
  );
  setProgress(bar, done, total);
  return bar;
}

// --- pictures --------------------------------------------------------------------------------

const pictureUrls = new Map<string, Promise<string | null>>();

function blobOf(data: unknown, type: string): Blob | null {
  if (data instanceof ArrayBuffer) {
    return new Blob([data], { type });
  }
  if (data instanceof Uint8Array) {
    return new Blob([new Uint8Array(data)], { type });
  }
  return null;
}

/** A blob: URL of a message's picture (its thumbnail, or with `full` the file), fetched once. */
export function pictureUrl(messageId: string, attachment: Attachment, full: boolean): Promise<string | null> {
  const key = `${attachment.id}:${full ? "full" : "thumbnail"}`;
  let url = pictureUrls.get(key);
  if (url === undefined) {
    url = commands
      .attachmentPicture(messageId, attachment.id, full)
      .then((data: unknown) => {
        const blob = blobOf(data, full ? attachment.content_type : "image/jpeg");
        if (blob === null) {
          throw new Error("attachment_picture: unexpected payload");
        }
        return URL.createObjectURL(blob);
      })
      .catch((error: unknown) => {
        console.warn("a picture could not be loaded", error);
        // Not kept: the next time it is drawn, it is asked for again.
        pictureUrls.delete(key);
        return null;
      });
    pictureUrls.set(key, url);
  }
  return url;
}

/** The size a picture is shown at: its own, shrunk to fit the box. */
export function pictureSize(width: number, height: number, box = PICTURE_BOX_PX): { width: number; height: number } {
  if (width <= 0 || height <= 0) {
    return { width: box, height: box };
  }
  const scale = Math.min(1, box / width, box / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

function renderPicture(messageId: string, attachment: Attachment): HTMLElement {
  const image = attachment.image;
  const size = pictureSize(image?.width ?? 0, image?.height ?? 0);
  const button = h("button", {
    class: "message-picture",
    attrs: { type: "button", "data-action": "view-picture", title: attachment.name, "aria-label": `Picture ${attachment.name}` },
    dataset: { attachmentId: attachment.id },
  });
  button.style.width = `${size.width}px`;
  button.style.height = `${size.height}px`;
  const img = h("img", { attrs: { alt: attachment.name, draggable: "false" } });
  img.hidden = true;
  button.appendChild(img);
  if (image?.animated === true) {
    button.appendChild(h("span", { class: "message-picture-badge", text: "GIF", attrs: { "aria-hidden": "true" } }));
  }
  const playsInline = image?.animated === true && attachment.size <= INLINE_ANIMATION_MAX_BYTES;
  void pictureUrl(messageId, attachment, playsInline).then((url) => {
    if (url !== null) {
      img.src = url;
      img.hidden = false;
    } else {
      button.classList.add("unavailable");
    }
  });
  return button;
}

// --- files -----------------------------------------------------------------------------------

/** The icon of a file's type. */
export function fileIcon(contentType: string, name: string): IconName {
  const extension = name.includes(".") ? (name.split(".").pop() ?? "").toLowerCase() : "";
  if (contentType.startsWith("image/") || ["jpg", "jpeg", "png", "gif", "webp"].includes(extension)) {
    return "image";
  }
  if (contentType.startsWith("audio/")) {
    return "music";
  }
  if (contentType.startsWith("video/")) {
    return "film";
  }
  if (["zip", "gz", "tgz", "7z", "rar", "xz", "bz2", "tar"].includes(extension) || contentType.includes("zip")) {
    return "archive";
  }
  if (contentType.startsWith("text/") || ["pdf", "doc", "docx", "odt", "rtf", "md", "txt"].includes(extension)) {
    return "file-text";
  }
  return "file";
}

function actionButton(action: string, label: string, iconName: IconName | null, title = label): HTMLElement {
  const button = h("button", {
    class: "file-card-button",
    attrs: { type: "button", "data-action": action, title },
  });
  if (iconName !== null) {
    button.appendChild(icon(iconName, 16));
  }
  button.appendChild(h("span", { text: label }));
  return button;
}

function renderFileActions(attachmentId: string): HTMLElement {
  const actions = h("div", { class: "file-card-actions" });
  const download = downloads.get(attachmentId);
  if (download === undefined || download.state === "failed") {
    if (download?.error !== null && download?.error !== undefined) {
      actions.appendChild(h("span", { class: "file-card-error", text: "Download failed", attrs: { title: download.error } }));
    }
    actions.appendChild(actionButton("download", download === undefined ? "Download" : "Try again", "download"));
  } else if (download.state === "running") {
    actions.append(
      progressBar("Downloading", download.received, download.total),
      actionButton("cancel-download", "Cancel", null, "Stop the download"),
    );
  } else {
    actions.append(
      actionButton("open-download", "Open", "open-external", "Open with the system's app"),
      actionButton("show-download", "Show in folder", "folder"),
    );
  }
  return actions;
}

function renderFileCard(attachment: Attachment): HTMLElement {
  return h(
    "div",
    { class: "file-card", dataset: { attachmentId: attachment.id } },
    h("span", { class: "file-card-icon" }, icon(fileIcon(attachment.content_type, attachment.name), 22)),
    h(
      "div",
      { class: "file-card-text" },
      h("span", { class: "file-card-name", text: attachment.name, attrs: { title: attachment.name } }),
      h("span", { class: "file-card-meta", text: fileSize(attachment.size) }),
    ),
    renderFileActions(attachment.id),
  );
}

function renderPendingFile(message: MessageView, index: number): HTMLElement {
  const file = message.pending_files[index];
  if (file === undefined) {
    return h("div");
  }
  const progress = uploads.get(uploadKey(message.client_id, index));
  const status = file.uploaded
    ? h("span", { class: "file-card-meta", text: "Uploaded" })
    : message.state === "failed"
      ? h("span", { class: "file-card-error", text: "Not sent" })
      : progress === undefined
        ? h("span", { class: "file-card-meta", text: "Waiting to upload" })
        : null;
  const card = h(
    "div",
    { class: "file-card pending" },
    h("span", { class: "file-card-icon" }, icon(fileIcon("", file.name), 22)),
    h(
      "div",
      { class: "file-card-text" },
      h("span", { class: "file-card-name", text: file.name, attrs: { title: file.name } }),
      h("span", { class: "file-card-meta", text: fileSize(file.size) }),
    ),
    h("div", { class: "file-card-actions" }, status),
  );
  if (!file.uploaded && message.state !== "failed") {
    const bar = progressBar(`Uploading ${file.name}`, progress?.sent ?? 0, progress?.total ?? file.size);
    bar.dataset["upload"] = uploadKey(message.client_id, index);
    card.querySelector(".file-card-actions")?.prepend(bar);
  }
  return card;
}

/** The files of a message: its pictures, then its other files; or, while it is on its way,
 * the files going up with a Cancel for the message. Null when it has none. */
export function renderAttachments(message: MessageView): HTMLElement | null {
  if (message.deleted_at !== null) {
    return null;
  }
  if (message.pending_files.length > 0) {
    const box = h("div", { class: "message-files" });
    message.pending_files.forEach((_, index) => box.appendChild(renderPendingFile(message, index)));
    if (message.state === "sending") {
      box.appendChild(
        h("button", {
          class: "link-button message-cancel-upload",
          text: "Cancel",
          attrs: { type: "button", "data-action": "discard", title: "Stop sending this message and its files" },
        }),
      );
    }
    return box;
  }
  if (message.attachments.length === 0 || message.id === null) {
    return null;
  }
  const messageId = message.id;
  const pictures = message.attachments.filter((attachment) => attachment.image !== null);
  const others = message.attachments.filter((attachment) => attachment.image === null);
  const box = h("div", { class: "message-files" });
  if (pictures.length > 0) {
    box.appendChild(h("div", { class: "message-pictures" }, ...pictures.map((picture) => renderPicture(messageId, picture))));
  }
  for (const attachment of others) {
    box.appendChild(renderFileCard(attachment));
  }
  return box;
}

/** The height a message's files take, for the list's estimate before it is drawn. */
export function attachmentsHeight(message: MessageView): number {
  if (message.deleted_at !== null) {
    return 0;
  }
  if (message.pending_files.length > 0) {
    return message.pending_files.length * (FILE_CARD_HEIGHT_PX + 6) + 24;
  }
  let height = 0;
  for (const attachment of message.attachments) {
    height +=
      attachment.image === null
        ? FILE_CARD_HEIGHT_PX + 6
        : pictureSize(attachment.image.width, attachment.image.height).height + 6;
  }
  return height;
}

/** The attachment a clicked element belongs to. */
export function attachmentOf(message: MessageView, target: HTMLElement): Attachment | undefined {
  const id = target.closest<HTMLElement>("[data-attachment-id]")?.dataset["attachmentId"];
  return message.attachments.find((attachment) => attachment.id === id);
}

/** Runs a file card's button; answers false for an action that is not one of them. */
export function runFileAction(action: string, message: MessageView, target: HTMLElement, notify: (text: string) => void): boolean {
  const attachment = attachmentOf(message, target);
  const fail = (what: string) => (error: unknown) => notify(`${what}: ${errorMessage(error)}`);
  if (attachment === undefined || message.id === null) {
    return false;
  }
  if (action === "download") {
    commands.downloadAttachment(message.id, attachment.id).catch(fail("Could not download the file"));
  } else if (action === "cancel-download") {
    commands.cancelDownload(attachment.id).catch(fail("Could not stop the download"));
  } else if (action === "open-download") {
    commands.openDownload(attachment.id).catch((error: unknown) => {
      // Moved or deleted since: offer the download again.
      downloadChanged({ attachment_id: attachment.id, state: "cancelled", received: 0, total: 0, error: null });
      fail("Could not open the file")(error);
    });
  } else if (action === "show-download") {
    commands.showDownload(attachment.id).catch(fail("Could not show the file"));
  } else {
    return false;
  }
  return true;
}

/** What a message without text carries, in a few words: "📎 Picture", "📎 report.pdf",
 * "📎 3 files". */
export function filesSummary(message: MessageView): string {
  const names = message.attachments.length > 0 ? message.attachments.map((file) => file.name) : message.pending_files.map((file) => file.name);
  if (names.length === 0) {
    return "";
  }
  const pictures = message.attachments.filter((file) => file.image !== null).length;
  if (pictures === names.length) {
    return pictures === 1 ? "📎 Picture" : `📎 ${pictures} pictures`;
  }
  return names.length === 1 ? `📎 ${names[0] ?? ""}` : `📎 ${names.length} files`;
}
