// The settings dialog. Each change is sent at once with `set_settings`; what is shown afterwards
// is the Settings that Rust answers with.

import { byId, setText, show } from "./dom";
import { commands, errorMessage, type AppState, type Settings, type Theme } from "./ipc";

const THEMES: readonly Theme[] = ["system", "light", "dark"];

export class SettingsDialog {
  private readonly dialog = byId("settings-dialog", HTMLDialogElement);
  private readonly notifications = byId("setting-notifications", HTMLInputElement);
  private readonly closeToTray = byId("setting-close-to-tray", HTMLInputElement);
  private readonly theme = byId("setting-theme", HTMLSelectElement);
  private readonly error = byId("settings-error", HTMLElement);
  private readonly onState: (state: AppState) => void;
  private settings: Settings | null = null;

  constructor(onState: (state: AppState) => void) {
    this.onState = onState;
    for (const control of [this.notifications, this.closeToTray, this.theme]) {
      control.addEventListener("change", () => void this.changed());
    }
    byId("settings-form", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      this.dialog.close();
    });
  }

  open(settings: Settings): void {
    this.show(settings);
    setText(this.error, "");
    show(this.error, false);
    this.dialog.showModal();
    this.notifications.focus();
  }

  close(): void {
    if (this.dialog.open) {
      this.dialog.close();
    }
  }

  /** Settings changed elsewhere (natter://state). */
  show(settings: Settings): void {
    this.settings = settings;
    this.notifications.checked = settings.notifications;
    this.closeToTray.checked = settings.close_to_tray;
    this.theme.value = settings.theme;
  }

  private async changed(): Promise<void> {
    const previous = this.settings;
    const theme = THEMES.find((candidate) => candidate === this.theme.value) ?? "system";
    const wanted: Settings = {
      notifications: this.notifications.checked,
      close_to_tray: this.closeToTray.checked,
      theme,
    };
    try {
      const state = await commands.setSettings(wanted);
      show(this.error, false);
      this.onState(state);
    } catch (error: unknown) {
      setText(this.error, errorMessage(error));
      show(this.error, true);
      if (previous !== null) {
        this.show(previous);
      }
    }
  }
}
