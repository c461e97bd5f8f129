// The settings dialog. Each change is sent at once with `set_settings` (devices with
// `use_device`); what is shown afterwards is the Settings that Rust answers with. Two sections,
// as tabs: General, and Audio & video (device-settings.ts), whose device test runs only while it
// is the section shown.

import { DeviceSettings } from "./device-settings";
import { byId, setText, show } from "./dom";
import { commands, errorMessage, type AppStateView, type Settings, type Theme } from "./ipc";
import { Tabs } from "./tabs";

const THEMES: readonly Theme[] = ["system", "light", "dark"];

type Section = "general" | "devices";

export class SettingsDialog {
  private readonly dialog = byId("settings-dialog", HTMLDialogElement);
  private readonly notifications = byId("setting-notifications", HTMLInputElement);
  private readonly closeToTray = byId("setting-close-to-tray", HTMLInputElement);
  private readonly startAtLogin = byId("setting-start-at-login", HTMLInputElement);
  private readonly theme = byId("setting-theme", HTMLSelectElement);
  private readonly error = byId("settings-error", HTMLElement);
  private readonly tabs = new Tabs<Section>(
    [
      ["general", byId("settings-tab-general", HTMLButtonElement)],
      ["devices", byId("settings-tab-devices", HTMLButtonElement)],
    ],
    (section) => this.select(section),
  );
  private readonly panels: Record<Section, HTMLElement> = {
    general: byId("settings-general", HTMLElement),
    devices: byId("settings-devices", HTMLElement),
  };
  private readonly devices: DeviceSettings;
  private readonly onState: (state: AppStateView) => void;
  private settings: Settings | null = null;
  private section: Section = "general";

  constructor(onState: (state: AppStateView) => void) {
    this.onState = onState;
    this.devices = new DeviceSettings(onState);
    for (const control of [this.notifications, this.closeToTray, this.startAtLogin, this.theme]) {
      control.addEventListener("change", () => void this.changed());
    }
    byId("settings-form", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      this.dialog.close();
    });
    // However the dialog closes (Done, Escape, sign-out, a call taking over), the camera and
    // microphone of the device test are let go.
    this.dialog.addEventListener("close", () => this.devices.hide());
  }

  open(settings: Settings): void {
    this.show(settings);
    setText(this.error, "");
    show(this.error, false);
    this.select("general");
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
    this.startAtLogin.checked = settings.start_at_login;
    this.theme.value = settings.theme;
    this.devices.settingsChanged(settings);
  }

  /** natter://mic-level */
  micLevel(level: number): void {
    this.devices.micLevel(level);
  }

  private select(section: Section): void {
    if (section === this.section && this.dialog.open) {
      return;
    }
    this.section = section;
    this.tabs.mark(section);
    show(this.panels.general, section === "general");
    show(this.panels.devices, section === "devices");
    if (section === "devices" && this.settings !== null) {
      void this.devices.show(this.settings);
    } else {
      this.devices.hide();
    }
  }

  private async changed(): Promise<void> {
    const previous = this.settings;
    const theme = THEMES.find((candidate) => candidate === this.theme.value) ?? "system";
    const wanted: Settings = {
      notifications: this.notifications.checked,
      close_to_tray: this.closeToTray.checked,
      start_at_login: this.startAtLogin.checked,
      theme,
      // Not edited here (use_device keeps them), but set_settings takes the whole Settings.
      camera: previous?.camera ?? null,
      microphone: previous?.microphone ?? null,
      speaker: previous?.speaker ?? null,
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
