// The profile dialog: display name, status text, and a new picture, previewed locally (blob:
// URL) before anything is uploaded.

import { avatarElement, forgetAvatar, setPicture } from "./avatar";
import { byId, setText, show } from "./dom";
import { commands, errorMessage, type User } from "./ipc";

/** What the server accepts, checked here too so the user hears at once, not after an upload. */
const MAX_AVATAR_BYTES = 5 * 1024 * 1024;
const AVATAR_TYPES = new Set(["image/png", "image/jpeg", "image/webp"]);

export class ProfileDialog {
  private readonly dialog = byId("profile-dialog", HTMLDialogElement);
  private readonly form = byId("profile-form", HTMLFormElement);
  private readonly preview = byId("profile-avatar-preview", HTMLElement);
  private readonly fileInput = byId("profile-avatar-input", HTMLInputElement);
  private readonly displayName = byId("profile-display-name", HTMLInputElement);
  private readonly statusText = byId("profile-status", HTMLInputElement);
  private readonly error = byId("profile-error", HTMLElement);
  private readonly save = byId("profile-save", HTMLButtonElement);
  private readonly onSaved: (user: User) => void;
  private me: User | null = null;
  private file: File | null = null;
  private previewUrl: string | null = null;

  constructor(onSaved: (user: User) => void) {
    this.onSaved = onSaved;
    this.fileInput.addEventListener("change", () => this.picked());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.submit();
    });
    byId("profile-cancel", HTMLButtonElement).addEventListener("click", () => this.dialog.close());
    this.dialog.addEventListener("close", () => this.reset());
  }

  open(me: User): void {
    this.me = me;
    this.reset();
    this.displayName.value = me.display_name;
    this.statusText.value = me.status_text;
    this.renderPreview();
    this.dialog.showModal();
    this.displayName.focus();
  }

  close(): void {
    if (this.dialog.open) {
      this.dialog.close();
    }
  }

  private reset(): void {
    if (this.previewUrl !== null) {
      URL.revokeObjectURL(this.previewUrl);
      this.previewUrl = null;
    }
    this.file = null;
    this.fileInput.value = "";
    this.setError("");
    this.save.disabled = false;
  }

  private renderPreview(): void {
    const me = this.me;
    if (me === null) {
      return;
    }
    const name = this.displayName.value.trim() || me.display_name;
    const avatar = avatarElement(name, this.previewUrl === null ? me.avatar_url : null, me.id, "large");
    if (this.previewUrl !== null) {
      setPicture(avatar, this.previewUrl);
    }
    this.preview.replaceChildren(avatar);
  }

  private picked(): void {
    const file = this.fileInput.files?.[0] ?? null;
    this.setError("");
    if (file === null) {
      return;
    }
    if (!AVATAR_TYPES.has(file.type)) {
      this.fileInput.value = "";
      this.setError("Choose a PNG, JPEG or WebP picture.");
      return;
    }
    if (file.size > MAX_AVATAR_BYTES) {
      this.fileInput.value = "";
      const mib = (file.size / (1024 * 1024)).toFixed(1);
      this.setError(`That picture is ${mib} MiB; the limit is 5 MiB. Choose a smaller one.`);
      return;
    }
    if (this.previewUrl !== null) {
      URL.revokeObjectURL(this.previewUrl);
    }
    this.file = file;
    this.previewUrl = URL.createObjectURL(file);
    this.renderPreview();
  }

  private async submit(): Promise<void> {
    const me = this.me;
    if (me === null) {
      return;
    }
    const displayName = this.displayName.value.trim();
    if (displayName === "") {
      this.setError("Enter a display name.");
      this.displayName.focus();
      return;
    }
    this.save.disabled = true;
    this.setError("");
    try {
      let user = await commands.updateProfile(displayName, this.statusText.value.trim());
      if (this.file !== null) {
        const bytes = Array.from(new Uint8Array(await this.file.arrayBuffer()));
        user = await commands.uploadAvatar(bytes, this.file.type);
        // The picture behind an avatar URL may change without the URL changing.
        forgetAvatar(me.avatar_url);
        forgetAvatar(user.avatar_url);
      }
      this.me = user;
      this.onSaved(user);
      this.dialog.close();
    } catch (error: unknown) {
      this.setError(errorMessage(error));
      this.save.disabled = false;
    }
  }

  private setError(text: string): void {
    setText(this.error, text);
    show(this.error, text !== "");
  }
}
