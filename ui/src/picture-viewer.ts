// The picture viewer: a message's picture over the whole window, fitted at first, zoomed with
// the buttons, + and -, or Ctrl and the wheel (0 fits it again); the arrows go to the
// conversation's previous and next pictures, Save downloads it, Escape closes. The thumbnail
// shows at once and the picture itself replaces it when it has come.

import { pictureUrl } from "./attachments";
import { byId, setText } from "./dom";
import { commands, errorMessage, type Attachment, type MessageView } from "./ipc";

export type ViewedPicture = { messageId: string; attachment: Attachment; senderName: string };

/** The pictures of these messages in order (deleted ones left out), and where the picture
 * `attachmentId` of message `messageId` is among them (0 if it is not). */
export function picturesOf(
  messages: readonly MessageView[],
  messageId: string | null,
  attachmentId: string | undefined,
): { pictures: ViewedPicture[]; index: number } {
  const pictures: ViewedPicture[] = [];
  for (const message of messages) {
    const id = message.id;
    if (id !== null && message.deleted_at === null) {
      for (const attachment of message.attachments.filter((file) => file.image !== null)) {
        pictures.push({ messageId: id, attachment, senderName: message.sender_name });
      }
    }
  }
  const index = pictures.findIndex(
    (picture) => picture.messageId === messageId && picture.attachment.id === attachmentId,
  );
  return { pictures, index: Math.max(0, index) };
}

const ZOOM_STEP = 1.25;
const ZOOM_MAX = 8;

export class PictureViewer {
  private readonly dialog = byId("picture-viewer", HTMLDialogElement);
  private readonly stage = byId("picture-viewer-stage", HTMLElement);
  private readonly image = byId("picture-viewer-image", HTMLImageElement);
  private readonly caption = byId("picture-viewer-caption", HTMLElement);
  private readonly previous = byId("picture-viewer-previous", HTMLButtonElement);
  private readonly next = byId("picture-viewer-next", HTMLButtonElement);
  private pictures: ViewedPicture[] = [];
  private index = 0;
  /** 0: fitted to the window; otherwise the scale of the picture's own pixels. */
  private zoom = 0;
  private shown = 0;

  constructor(private readonly notify: (text: string) => void) {
    byId("picture-viewer-close", HTMLButtonElement).addEventListener("click", () => this.dialog.close());
    this.previous.addEventListener("click", () => this.go(-1));
    this.next.addEventListener("click", () => this.go(1));
    byId("picture-viewer-zoom-in", HTMLButtonElement).addEventListener("click", () => this.zoomBy(ZOOM_STEP));
    byId("picture-viewer-zoom-out", HTMLButtonElement).addEventListener("click", () => this.zoomBy(1 / ZOOM_STEP));
    byId("picture-viewer-save", HTMLButtonElement).addEventListener("click", () => this.save());
    this.image.addEventListener("dblclick", () => this.setZoom(this.zoom === 0 ? 1 : 0));
    this.dialog.addEventListener("keydown", (event) => this.key(event));
    this.stage.addEventListener(
      "wheel",
      (event) => {
        if (event.ctrlKey) {
          event.preventDefault();
          this.zoomBy(event.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP);
        }
      },
      { passive: false },
    );
    this.dialog.addEventListener("close", () => {
      this.image.removeAttribute("src");
      this.pictures = [];
    });
  }

  /** Shows `pictures[index]`, with the others a step away. */
  open(pictures: ViewedPicture[], index: number): void {
    if (pictures[index] === undefined) {
      return;
    }
    this.pictures = pictures;
    this.index = index;
    if (!this.dialog.open) {
      this.dialog.showModal();
    }
    this.show();
  }

  private go(step: number): void {
    const next = this.index + step;
    if (next >= 0 && next < this.pictures.length) {
      this.index = next;
      this.show();
    }
  }

  private show(): void {
    const picture = this.pictures[this.index];
    if (picture === undefined) {
      return;
    }
    this.shown += 1;
    const shown = this.shown;
    const { attachment } = picture;
    this.setZoom(0);
    this.image.alt = attachment.name;
    this.image.removeAttribute("src");
    setText(this.caption, `${picture.senderName} · ${attachment.name} (${this.index + 1} of ${this.pictures.length})`);
    this.previous.disabled = this.index === 0;
    this.next.disabled = this.index === this.pictures.length - 1;
    this.dialog.dataset["attachmentId"] = attachment.id;
    delete this.dialog.dataset["loaded"];
    delete this.image.dataset["full"];
    void pictureUrl(picture.messageId, attachment, false).then((url) => {
      if (url !== null && shown === this.shown && this.image.dataset["full"] !== "true") {
        this.image.src = url;
      }
    });
    void pictureUrl(picture.messageId, attachment, true).then((url) => {
      if (url !== null && shown === this.shown) {
        this.image.src = url;
        this.image.dataset["full"] = "true";
        this.dialog.dataset["loaded"] = "true";
      }
    });
  }

  private zoomBy(factor: number): void {
    // From fitted, zooming starts from the scale the picture is shown at.
    const natural = this.image.naturalWidth;
    const current = this.zoom === 0 && natural > 0 ? this.image.clientWidth / natural : this.zoom || 1;
    const next = Math.min(ZOOM_MAX, current * factor);
    this.setZoom(next <= fittedScale(this.image, this.stage) ? 0 : next);
  }

  private setZoom(zoom: number): void {
    this.zoom = zoom;
    this.stage.classList.toggle("zoomed", zoom !== 0);
    if (zoom === 0) {
      this.image.style.width = "";
      this.image.style.height = "";
    } else {
      this.image.style.width = `${Math.round(this.image.naturalWidth * zoom)}px`;
      this.image.style.height = `${Math.round(this.image.naturalHeight * zoom)}px`;
    }
  }

  private save(): void {
    const picture = this.pictures[this.index];
    if (picture === undefined) {
      return;
    }
    commands
      .downloadAttachment(picture.messageId, picture.attachment.id)
      .then(() => this.notify(`Saving ${picture.attachment.name} to your Downloads folder.`))
      .catch((error: unknown) => this.notify(`Could not save the picture: ${errorMessage(error)}`));
  }

  private key(event: KeyboardEvent): void {
    if (event.key === "ArrowLeft") {
      this.go(-1);
    } else if (event.key === "ArrowRight") {
      this.go(1);
    } else if (event.key === "+" || event.key === "=") {
      this.zoomBy(ZOOM_STEP);
    } else if (event.key === "-") {
      this.zoomBy(1 / ZOOM_STEP);
    } else if (event.key === "0") {
      this.setZoom(0);
    } else {
      return;
    }
    event.preventDefault();
  }
}

/** The scale at which the picture fits the stage (at most its own size). */
function fittedScale(image: HTMLImageElement, stage: HTMLElement): number {
  if (image.naturalWidth === 0 || image.naturalHeight === 0) {
    return 1;
  }
  return Math.min(1, stage.clientWidth / image.naturalWidth, stage.clientHeight / image.naturalHeight);
}
