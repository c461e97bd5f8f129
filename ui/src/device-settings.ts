// Settings → Audio & video: the default camera, microphone and speaker (`use_device`, which also
// switches them in a call in progress), with a live check while the section is open: the
// camera's picture (frame stream `preview`), the microphone's level (natter://mic-level) and a
// test tone on the speaker. Rust runs the test between start_device_test and stop_device_test.

import { DEVICE_KINDS, DEVICE_LABELS, devicesOf, fillDeviceSelect, selectedDevice } from "./device-select";
import { byId, setText, show } from "./dom";
import { commands, errorMessage, type AppStateView, type DeviceKind, type DevicesView, type Settings } from "./ipc";
import { VideoRenderer } from "./video-renderer";

export class DeviceSettings {
  private readonly onState: (state: AppStateView) => void;
  private readonly selects: Record<DeviceKind, HTMLSelectElement> = {
    camera: byId("setting-camera", HTMLSelectElement),
    microphone: byId("setting-microphone", HTMLSelectElement),
    speaker: byId("setting-speaker", HTMLSelectElement),
  };
  private readonly preview = byId("device-preview", HTMLCanvasElement);
  private readonly meter = byId("mic-level", HTMLElement);
  private readonly meterBar = byId("mic-level-bar", HTMLElement);
  private readonly testSpeaker = byId("test-speaker", HTMLButtonElement);
  private readonly error = byId("device-error", HTMLElement);
  private settings: Settings | null = null;
  private devices: DevicesView | null = null;
  private renderer: VideoRenderer | null = null;
  /** Whether the section is open (then the device test runs). */
  private open = false;
  /** Starts and stops of the test, in order: a quick close and reopen must not interleave. */
  private test: Promise<void> = Promise.resolve();
  private testRunning = false;

  constructor(onState: (state: AppStateView) => void) {
    this.onState = onState;
    for (const kind of DEVICE_KINDS) {
      const select = this.selects[kind];
      select.addEventListener("change", () => void this.choose(kind, selectedDevice(select)));
    }
    this.testSpeaker.addEventListener("click", () => {
      commands.testSpeaker(selectedDevice(this.selects.speaker)).catch((error: unknown) => {
        this.showError(`Could not play the test tone: ${errorMessage(error)}`);
      });
    });
  }

  /** The section was opened: list the devices and start the test. */
  async show(settings: Settings): Promise<void> {
    this.settings = settings;
    this.open = true;
    this.showError(null);
    this.restartTest();
    try {
      const devices = await commands.devices();
      if (this.open) {
        this.devices = devices;
        this.renderSelects();
      }
    } catch (error: unknown) {
      this.showError(`Could not list the devices: ${errorMessage(error)}`);
    }
  }

  /** The section was left or the dialog closed: the camera and microphone are let go. */
  hide(): void {
    if (!this.open) {
      return;
    }
    this.open = false;
    this.runTest(false);
  }

  /** Settings changed elsewhere (natter://state, or a device chosen in a call). */
  settingsChanged(settings: Settings): void {
    this.settings = settings;
    if (this.open && this.devices !== null) {
      this.renderSelects();
    }
  }

  /** natter://mic-level: the peak of the last 50 ms, 0…1. */
  micLevel(level: number): void {
    if (!this.testRunning) {
      return;
    }
    const clamped = Math.min(1, Math.max(0, level));
    this.meterBar.style.transform = `scaleX(${clamped})`;
    this.meter.setAttribute("aria-valuenow", String(Math.round(clamped * 100)));
  }

  // -------------------------------------------------------------------------------------------

  private renderSelects(): void {
    for (const kind of DEVICE_KINDS) {
      const devices = this.devices === null ? [] : devicesOf(this.devices, kind);
      fillDeviceSelect(this.selects[kind], devices, this.settings?.[kind] ?? null);
    }
  }

  private async choose(kind: DeviceKind, id: string | null): Promise<void> {
    try {
      const state = await commands.useDevice(kind, id);
      this.showError(null);
      this.onState(state);
      if (kind !== "speaker") {
        this.restartTest();
      }
    } catch (error: unknown) {
      this.showError(`Could not use that ${DEVICE_LABELS[kind].toLowerCase()}: ${errorMessage(error)}`);
      this.renderSelects();
    }
  }

  /** Runs the test with the devices chosen in the selects (stopping the one before, if any). */
  private restartTest(): void {
    this.runTest(false);
    this.runTest(true);
  }

  private runTest(start: boolean): void {
    this.test = this.test.then(async () => {
      if (start && !this.open) {
        return;
      }
      try {
        if (start) {
          await commands.startDeviceTest(this.chosen("camera"), this.chosen("microphone"));
          this.testRunning = true;
          if (this.open && this.renderer === null) {
            this.renderer = new VideoRenderer(this.preview, "preview");
          }
        } else {
          this.renderer?.dispose();
          this.renderer = null;
          this.micLevel(0);
          if (this.testRunning) {
            this.testRunning = false;
            await commands.stopDeviceTest();
          }
        }
      } catch (error: unknown) {
        this.showError(`Device test: ${errorMessage(error)}`);
      }
    });
  }

  /** The device chosen in a select; until the devices are listed, the kept setting. */
  private chosen(kind: DeviceKind): string | null {
    const select = this.selects[kind];
    return select.options.length > 0 ? selectedDevice(select) : (this.settings?.[kind] ?? null);
  }

  private showError(message: string | null): void {
    setText(this.error, message ?? "");
    show(this.error, message !== null);
  }
}
