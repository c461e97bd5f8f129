// The banners above the app: the realtime connection (#connection-banner), the credential
// store warning (#credential-warning) and an update the server offers (#update-banner).

import { byId, setText, show } from "./dom";
import { commands, errorMessage, type ConnectionView, type UpdateView } from "./ipc";

/** How long "Back online" stays before the banner hides. */
const BACK_ONLINE_MS = 2500;

export class ConnectionBanner {
  private readonly element = byId("connection-banner", HTMLElement);
  private readonly text = byId("connection-banner-text", HTMLElement);
  private state: ConnectionView["state"] = "online";
  /** The "Back online" timeout or the countdown's interval (both are the same kind of id). */
  private timer: ReturnType<typeof setTimeout> | undefined;
  private enabled = false;
  /** Whether there was a connection to come back to: no "Back online" for the first connect. */
  private everConnected = false;
  private everOffline = false;
  /** The `seq` of the newest connection state seen (shown or not), over the app's life. */
  private newestSeq = -1;

  /** The banner only means something while signed in (there is no connection otherwise). */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    this.everConnected = false;
    this.everOffline = false;
    if (!enabled) {
      this.stopTimer();
      this.state = "online";
      this.element.dataset["state"] = "online";
      show(this.element, false);
    }
  }

  /**
   * A connection state from an event or from the `connection` command. An answer asked while
   * connecting can arrive after the event saying it is online: the older one is dropped, or the
   * banner would stay up for the whole session.
   */
  update(connection: ConnectionView): void {
    if (connection.seq < this.newestSeq) {
      return;
    }
    this.newestSeq = connection.seq;
    if (!this.enabled) {
      return;
    }
    const previous = this.state;
    this.state = connection.state;
    this.element.dataset["state"] = connection.state;
    this.stopTimer();
    switch (connection.state) {
      case "online":
        if (previous !== "online" && (this.everConnected || this.everOffline)) {
          setText(this.text, "Back online");
          show(this.element, true);
          this.timer = setTimeout(() => show(this.element, false), BACK_ONLINE_MS);
        } else {
          show(this.element, false);
        }
        this.everConnected = true;
        break;
      case "connecting":
        setText(this.text, "Connecting…");
        show(this.element, true);
        break;
      case "offline":
        this.everOffline = true;
        show(this.element, true);
        this.countDown(connection.retry_in_ms);
        break;
    }
  }

  private countDown(retryInMs: number | null): void {
    if (retryInMs === null) {
      setText(this.text, "Offline");
      return;
    }
    const retryAt = Date.now() + retryInMs;
    const tick = (): void => {
      const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
      setText(this.text, seconds > 0 ? `Offline — retrying in ${seconds}s` : "Offline — retrying…");
      if (seconds === 0) {
        this.stopTimer();
      }
    };
    tick();
    this.timer = setInterval(tick, 250);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

export class CredentialWarning {
  private readonly element = byId("credential-warning", HTMLElement);
  private readonly text = byId("credential-warning-text", HTMLElement);
  private dismissed: string | null = null;

  constructor() {
    byId("credential-warning-dismiss", HTMLButtonElement).addEventListener("click", () => {
      this.dismissed = this.text.textContent;
      show(this.element, false);
    });
  }

  update(warning: string | null): void {
    if (warning === null || warning === this.dismissed) {
      show(this.element, false);
      return;
    }
    setText(this.text, warning);
    show(this.element, true);
  }
}

/** An update the server offers: installing restarts the app, so it waits to be asked. */
export class UpdateBanner {
  private readonly element = byId("update-banner", HTMLElement);
  private readonly text = byId("update-banner-text", HTMLElement);
  private readonly install = byId("update-install", HTMLButtonElement);
  private dismissed: string | null = null;

  constructor() {
    this.install.addEventListener("click", () => void this.installNow());
    byId("update-dismiss", HTMLButtonElement).addEventListener("click", () => {
      this.dismissed = this.element.dataset["version"] ?? null;
      show(this.element, false);
    });
  }

  update(update: UpdateView | null): void {
    if (update === null || update.version === this.dismissed) {
      show(this.element, false);
      return;
    }
    this.element.dataset["version"] = update.version;
    setText(this.text, `Natter ${update.version} is available (you have ${update.current_version}).`);
    this.install.disabled = false;
    show(this.element, true);
  }

  private async installNow(): Promise<void> {
    this.install.disabled = true;
    setText(this.text, "Downloading the update…");
    try {
      await commands.installUpdate();
      // The app is restarting: this page goes with it.
      setText(this.text, "Restarting…");
    } catch (error: unknown) {
      setText(this.text, errorMessage(error));
      this.install.disabled = false;
    }
  }
}
