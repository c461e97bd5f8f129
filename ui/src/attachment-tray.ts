// Files about to be sent, above the composer: added with the attach button (the system's file
// picker), by dropping them on the window, or by pasting (a screenshot, a copied file). Each
// conversation keeps its own; they go with the next message, whose text may then be empty.
// Rust holds the files themselves: the page only knows their ids, names and sizes.

import { fileIcon } from "./attachments";
import { byId, h, show } from "./dom";
import { fileSize } from "./format";
import { icon } from "./icons";
import { commands, errorMessage, type StagedFile } from "./ipc";

/** As the server allows per message. */
export const MAX_FILES_PER_MESSAGE = 10;

type Tray = { files: StagedFile[]; previews: Map<string, string> };

export class AttachmentTray {
  private readonly element = byId("attachment-tray", HTMLElement);
  private readonly dropOverlay = byId("drop-overlay", HTMLElement);
  private readonly trays = new Map<string, Tray>();
  private conversationId: string | null = null;

  constructor(
    composerBox: HTMLTextAreaElement,
    private readonly notify: (text: string) => void,
  ) {
    byId("attach", HTMLButtonElement).addEventListener("click", () => void this.pick());
    composerBox.addEventListener("paste", (event) => this.paste(event));
    this.element.addEventListener("click", (event) => {
      const remove = event.target instanceof Element ? event.target.closest<HTMLElement>("[data-remove]") : null;
      const id = remove?.dataset["remove"];
      if (id !== undefined) {
        this.remove(id);
      }
    });
    this.render();
  }

  /** Shows another conversation's files (null: none open). */
  setConversation(conversationId: string | null): void {
    this.conversationId = conversationId;
    this.render();
  }

  /** The ids of the open conversation's files, in order. */
  ids(): string[] {
    return this.current()?.files.map((file) => file.id) ?? [];
  }

  count(): number {
    return this.current()?.files.length ?? 0;
  }

  /** The files went with a message: they are the outbox's now. */
  sent(conversationId: string, ids: readonly string[]): void {
    const tray = this.trays.get(conversationId);
    if (tray === undefined) {
      return;
    }
    tray.files = tray.files.filter((file) => !ids.includes(file.id));
    for (const id of ids) {
      const preview = tray.previews.get(id);
      if (preview !== undefined) {
        URL.revokeObjectURL(preview);
        tray.previews.delete(id);
      }
    }
    this.render();
  }

  /** Signed out: every conversation's files are taken back. */
  clearAll(): void {
    for (const tray of this.trays.values()) {
      for (const file of tray.files) {
        commands.unstageFile(file.id).catch(() => {
          // Rust forgets them with the run anyway.
        });
      }
      for (const preview of tray.previews.values()) {
        URL.revokeObjectURL(preview);
      }
    }
    this.trays.clear();
    this.render();
  }

  /** Files are dragged over the window. */
  dragging(over: boolean): void {
    show(this.dropOverlay, over && this.conversationId !== null);
  }

  /** Files were dropped on the window (Rust staged them). */
  dropped(files: readonly StagedFile[]): void {
    show(this.dropOverlay, false);
    this.add(files);
  }

  private current(): Tray | undefined {
    return this.conversationId === null ? undefined : this.trays.get(this.conversationId);
  }

  private add(files: readonly StagedFile[], previews: ReadonlyMap<string, string> = new Map()): void {
    const conversationId = this.conversationId;
    if (conversationId === null) {
      for (const file of files) {
        void commands.unstageFile(file.id).catch(() => undefined);
      }
      this.notify("Open a conversation to send files.");
      return;
    }
    let tray = this.trays.get(conversationId);
    if (tray === undefined) {
      tray = { files: [], previews: new Map() };
      this.trays.set(conversationId, tray);
    }
    for (const file of files) {
      if (tray.files.length >= MAX_FILES_PER_MESSAGE) {
        void commands.unstageFile(file.id).catch(() => undefined);
        this.notify(`A message carries at most ${MAX_FILES_PER_MESSAGE} files: send these first.`);
        break;
      }
      tray.files.push(file);
      const preview = previews.get(file.id);
      if (preview !== undefined) {
        tray.previews.set(file.id, preview);
      }
    }
    this.render();
  }

  private remove(id: string): void {
    const tray = this.current();
    if (tray === undefined) {
      return;
    }
    tray.files = tray.files.filter((file) => file.id !== id);
    const preview = tray.previews.get(id);
    if (preview !== undefined) {
      URL.revokeObjectURL(preview);
      tray.previews.delete(id);
    }
    commands.unstageFile(id).catch((error: unknown) => this.notify(errorMessage(error)));
    this.render();
  }

  private async pick(): Promise<void> {
    if (this.conversationId === null) {
      return;
    }
    try {
      this.add(await commands.pickFiles());
    } catch (error: unknown) {
      this.notify(`Could not add files: ${errorMessage(error)}`);
    }
  }

  /** A pasted picture or file is attached; pasted text goes in the box as usual. */
  private paste(event: ClipboardEvent): void {
    const files = [...(event.clipboardData?.files ?? [])];
    if (files.length === 0 || this.conversationId === null) {
      return;
    }
    if ((event.clipboardData?.getData("text/plain") ?? "") === "") {
      event.preventDefault();
    }
    void (async () => {
      for (const file of files) {
        try {
          const staged = await commands.stagePasted(pastedName(file), await file.arrayBuffer());
          const previews = new Map<string, string>();
          if (file.type.startsWith("image/")) {
            previews.set(staged.id, URL.createObjectURL(file));
          }
          this.add([staged], previews);
        } catch (error: unknown) {
          this.notify(`Could not attach ${file.name === "" ? "the pasted file" : file.name}: ${errorMessage(error)}`);
        }
      }
    })();
  }

  private render(): void {
    const tray = this.current();
    this.element.replaceChildren();
    for (const file of tray?.files ?? []) {
      const preview = tray?.previews.get(file.id);
      const thumb =
        preview !== undefined
          ? h("img", { class: "tray-file-preview", attrs: { src: preview, alt: "" } })
          : h("span", { class: "tray-file-icon" }, icon(fileIcon(file.content_type, file.name), 20));
      const remove = h("button", {
        class: "icon-button tray-file-remove",
        attrs: { type: "button", "aria-label": `Remove ${file.name}`, title: "Remove" },
        dataset: { remove: file.id },
      });
      remove.appendChild(icon("close", 14));
      this.element.appendChild(
        h(
          "div",
          { class: "tray-file", attrs: { role: "listitem" }, dataset: { stagedId: file.id } },
          thumb,
          h(
            "span",
            { class: "tray-file-text" },
            h("span", { class: "tray-file-name", text: file.name, attrs: { title: file.name } }),
            h("span", { class: "tray-file-size", text: fileSize(file.size) }),
          ),
          remove,
        ),
      );
    }
    show(this.element, (tray?.files.length ?? 0) > 0);
  }
}

/** A pasted file's name: its own, or for a screenshot (which comes as "image.png") one that
 * says when it was pasted. */
export function pastedName(file: { name: string; type: string }, now = new Date()): string {
  const extension = file.type.startsWith("image/") ? (file.type.slice("image/".length).split("+")[0] ?? "png") : "";
  if (file.name !== "" && file.name !== "image.png") {
    return file.name;
  }
  const pad = (value: number): string => String(value).padStart(2, "0");
  const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}.${pad(now.getMinutes())}.${pad(now.getSeconds())}`;
  return extension === "" ? `Pasted file ${stamp}` : `Pasted image ${stamp}.${extension === "jpeg" ? "jpg" : extension}`;
}
