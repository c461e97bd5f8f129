// The call screen of the main window: it covers the workspace from the moment I call someone or
// answer until shortly after the call ended. Everything shown is the CallScreenView (and CallStatsScreenView) Rust
// sends; the buttons send intents (hang_up, set_muted, set_camera, use_device, set_fullscreen).
// Ringing for an incoming call is not shown here: the call window (incoming-window.ts) does it.

import { avatarElement } from "./avatar";
import { DEVICE_KINDS, DEVICE_LABELS, devicesOf, fillDeviceSelect, selectedDevice } from "./device-select";
import { byId, h, setText, show } from "./dom";
import { callDuration } from "./format";
import { icon, type IconName } from "./icons";
import {
  commands,
  errorMessage,
  type AppStateView,
  type CallStatsScreenView,
  type CallScreenView,
  type DeviceKind,
  type DevicesView,
  type Settings,
} from "./ipc";
import { VideoRenderer } from "./video-renderer";

/** How long "Call ended · 3:02" (or "Declined", …) stays before the conversation comes back. */
const ENDED_MS = 2000;

export type CallScreenOptions = {
  /** Shows a transient error. */
  notify: (message: string) => void;
  /** `use_device` answers with the AppStateView (the settings keep the device). */
  onState: (state: AppStateView) => void;
};

function inCall(call: CallScreenView | null): call is CallScreenView {
  return call !== null && (call.phase === "connecting" || call.phase === "connected");
}

/** Whether a key press goes to a text field (then M is a letter, not "mute"). */
function isTyping(target: EventTarget | null): boolean {
  if (target instanceof HTMLInputElement) {
    return !["button", "checkbox", "radio", "range", "submit", "reset"].includes(target.type);
  }
  return (
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement ||
    (target instanceof HTMLElement && target.isContentEditable)
  );
}

function controlButton(testId: string, label: string, iconName: IconName, extraClass = ""): HTMLButtonElement {
  const button = h("button", {
    class: `call-control ${extraClass}`.trim(),
    attrs: { type: "button", "aria-label": label, title: label, "data-testid": testId },
  });
  button.appendChild(icon(iconName, 24));
  return button;
}

export class CallScreen {
  private readonly options: CallScreenOptions;
  private readonly appFrame = byId("app-frame", HTMLElement);

  // Elements, built once.
  private readonly root: HTMLElement;
  private readonly remoteVideo: HTMLCanvasElement;
  private readonly localVideo: HTMLCanvasElement;
  private readonly peer: HTMLElement;
  private readonly peerAvatar: HTMLElement;
  private readonly peerName: HTMLElement;
  private readonly status: HTMLElement;
  private readonly cameraOffHint: HTMLElement;
  private readonly cameraOffText: HTMLElement;
  private readonly topName: HTMLElement;
  private readonly timer: HTMLElement;
  private readonly quality: HTMLElement;
  private readonly peerMuted: HTMLElement;
  private readonly peerMutedText: HTMLElement;
  private readonly reconnecting: HTMLElement;
  private readonly controls: HTMLElement;
  private readonly muteButton: HTMLButtonElement;
  private readonly cameraButton: HTMLButtonElement;
  private readonly devicesButton: HTMLButtonElement;
  private readonly fullscreenButton: HTMLButtonElement;
  private readonly hangUpButton: HTMLButtonElement;
  private readonly hangUpCaption: HTMLElement;
  private readonly devicesPanel: HTMLElement;
  private readonly deviceSelects: Record<DeviceKind, HTMLSelectElement>;
  /** The devices listed when the menu was last opened. */
  private devices: DevicesView | null = null;

  /** The call on screen, also while its ended text shows; null when the screen is closed. */
  private call: CallScreenView | null = null;
  private stats: CallStatsScreenView | null = null;
  private settings: Settings | null = null;
  /** Whose avatar is shown, so it is rebuilt only when that changes. */
  private avatarKey = "";
  private remote: VideoRenderer | null = null;
  private local: VideoRenderer | null = null;
  private tick: ReturnType<typeof setInterval> | undefined;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;
  private fullscreen = false;
  private active = false;
  /** natter://call events received; a current_call answer that an event overtook is dropped. */
  private events = 0;
  /** The call of the latest event: a start_call answer for it is older than the event. */
  private lastEventCallId: string | null = null;
  /** Focus before the screen opened, given back when it closes. */
  private focusBefore: Element | null = null;

  constructor(options: CallScreenOptions) {
    this.options = options;

    this.remoteVideo = h("canvas", {
      class: "call-remote-video",
      attrs: { "data-testid": "remote-video", "aria-hidden": "true" },
    });
    this.localVideo = h("canvas", {
      class: "call-local-video",
      attrs: { "data-testid": "local-video", "aria-label": "My camera", role: "img" },
    });
    this.peerAvatar = h("span", { class: "call-peer-avatar" });
    this.peerName = h("h2", { class: "call-peer-name", attrs: { "data-testid": "call-peer-name" } });
    this.status = h("p", { class: "call-status", attrs: { "data-testid": "call-status", role: "status" } });
    this.cameraOffText = h("span");
    this.cameraOffHint = h(
      "p",
      { class: "call-hint", attrs: { "data-testid": "peer-camera-off" } },
      icon("video-off", 16),
      this.cameraOffText,
    );
    this.peer = h("div", { class: "call-peer" }, this.peerAvatar, this.peerName, this.status, this.cameraOffHint);

    this.topName = h("span", { class: "call-top-name" });
    this.timer = h("span", { class: "call-timer", attrs: { "data-testid": "call-timer", role: "timer" } });
    this.quality = h(
      "span",
      { class: "call-quality", attrs: { "data-testid": "call-quality", role: "img" } },
      h("span", { class: "call-quality-bar" }),
      h("span", { class: "call-quality-bar" }),
      h("span", { class: "call-quality-bar" }),
    );
    this.peerMutedText = h("span");
    this.peerMuted = h(
      "span",
      { class: "call-badge", attrs: { "data-testid": "peer-muted" } },
      icon("mic-off", 14),
      this.peerMutedText,
    );
    this.reconnecting = h("span", {
      class: "call-badge call-badge-warning",
      text: "Reconnecting…",
      attrs: { "data-testid": "call-reconnecting", role: "status" },
    });
    const top = h(
      "div",
      { class: "call-top" },
      this.topName,
      this.timer,
      this.quality,
      this.peerMuted,
      this.reconnecting,
    );

    this.muteButton = controlButton("call-mute", "Mute", "mic");
    this.cameraButton = controlButton("call-camera", "Turn camera off", "video");
    this.devicesButton = controlButton("call-devices", "Devices", "sliders");
    this.devicesButton.setAttribute("aria-expanded", "false");
    this.devicesButton.setAttribute("aria-haspopup", "true");
    this.fullscreenButton = controlButton("call-fullscreen", "Full screen", "fullscreen");
    this.hangUpButton = controlButton("call-hangup", "Hang up", "hangup", "call-hangup");
    this.hangUpCaption = h("span", { class: "call-control-caption", attrs: { "aria-hidden": "true" } });
    this.controls = h(
      "div",
      { class: "call-controls", attrs: { role: "toolbar", "aria-label": "Call controls" } },
      this.muteButton,
      this.cameraButton,
      this.devicesButton,
      this.fullscreenButton,
      h("span", { class: "call-hangup-group" }, this.hangUpButton, this.hangUpCaption),
    );

    const deviceSelect = (kind: DeviceKind): HTMLSelectElement => {
      const select = h("select", { attrs: { "data-testid": `call-device-${kind}` } });
      select.addEventListener("change", () => void this.useDevice(kind, selectedDevice(select)));
      return select;
    };
    this.deviceSelects = {
      microphone: deviceSelect("microphone"),
      camera: deviceSelect("camera"),
      speaker: deviceSelect("speaker"),
    };
    this.devicesPanel = h("div", {
      class: "call-devices",
      attrs: { role: "group", "aria-label": "Devices", "data-testid": "call-device-menu" },
    });
    for (const kind of DEVICE_KINDS) {
      this.devicesPanel.appendChild(
        h(
          "label",
          { class: "call-device-row", dataset: { kind } },
          h("span", { text: DEVICE_LABELS[kind] }),
          this.deviceSelects[kind],
        ),
      );
    }
    show(this.devicesPanel, false);

    this.root = h(
      "div",
      {
        class: "call-screen",
        attrs: { "data-testid": "call-screen", role: "dialog", "aria-modal": "true", "aria-label": "Call" },
      },
      h("div", { class: "call-stage" }, this.remoteVideo, this.peer, this.localVideo, top),
      this.devicesPanel,
      this.controls,
    );
    show(this.root, false);
    document.body.appendChild(this.root);

    this.hangUpButton.addEventListener("click", () => void this.hangUp());
    this.muteButton.addEventListener("click", () => void this.toggleMute());
    this.cameraButton.addEventListener("click", () => void this.toggleCamera());
    this.fullscreenButton.addEventListener("click", () => void this.setFullscreen(!this.fullscreen));
    this.devicesButton.addEventListener("click", () => {
      if (this.devicesPanel.hidden) {
        void this.openDevices();
      } else {
        this.closeDevices(true);
      }
    });
    document.addEventListener("pointerdown", (event) => {
      const target = event.target;
      if (
        !this.devicesPanel.hidden &&
        target instanceof Node &&
        !this.devicesPanel.contains(target) &&
        !this.devicesButton.contains(target)
      ) {
        this.closeDevices(false);
      }
    });
    document.addEventListener("keydown", (event) => this.handleKey(event));
  }

  // --- from the workspace -----------------------------------------------------------------------

  /** Signed in (or Rust asked to catch up): a call may already be in progress. */
  start(): void {
    this.active = true;
    void this.refresh();
  }

  /** Signed out: nothing of a call stays on screen. */
  reset(): void {
    this.active = false;
    this.close();
  }

  settingsChanged(settings: Settings): void {
    this.settings = settings;
  }

  /** natter://call */
  callChanged(call: CallScreenView): void {
    this.events += 1;
    this.lastEventCallId = call.call_id;
    if (this.active) {
      this.apply(call);
    }
  }

  /** The answer of start_call; an event about the same call may have come first and be newer. */
  callStarted(call: CallScreenView): void {
    if (this.active && this.lastEventCallId !== call.call_id) {
      this.apply(call);
    }
  }

  /** natter://call-stats */
  statsChanged(stats: CallStatsScreenView): void {
    if (this.call?.call_id === stats.call_id) {
      this.stats = stats;
      this.renderQuality();
    }
  }

  // -------------------------------------------------------------------------------------------

  private async refresh(): Promise<void> {
    const events = this.events;
    let call: CallScreenView | null;
    try {
      call = await commands.currentCall();
    } catch (error: unknown) {
      console.warn("current_call failed", error);
      return;
    }
    if (events !== this.events || !this.active) {
      return;
    }
    if (call !== null) {
      this.apply(call);
    } else if (this.call !== null && this.call.phase !== "ended") {
      // The call ended while its event was missed.
      this.close();
    }
  }

  private apply(call: CallScreenView): void {
    const shown = this.call !== null && this.call.call_id === call.call_id;
    if (call.phase === "incoming") {
      // Ringing belongs to the call window; here the workspace stays usable.
      this.close();
      return;
    }
    if (call.phase === "ended") {
      // Only a call that was on screen says how it ended (a call declined in the call window,
      // or missed, never opened this screen).
      if (shown && this.call?.phase !== "ended") {
        this.call = call;
        this.render();
        this.stopMedia();
        this.closeTimer = setTimeout(() => this.close(), ENDED_MS);
      }
      return;
    }
    if (!shown) {
      this.close();
      this.open(call);
    }
    this.call = call;
    this.render();
  }

  private open(call: CallScreenView): void {
    this.call = call;
    this.stats = null;
    this.focusBefore = document.activeElement;
    // A modal dialog would sit above the call and keep it from being used (and the settings'
    // device test would hold the camera): the call takes over.
    for (const dialog of document.querySelectorAll<HTMLDialogElement>("dialog[open]")) {
      dialog.close();
    }
    // What is behind the call is out of reach of Tab and screen readers while it lasts.
    this.appFrame.inert = true;
    show(this.root, true);
    this.hangUpButton.focus();
  }

  private close(): void {
    if (this.closeTimer !== undefined) {
      clearTimeout(this.closeTimer);
      this.closeTimer = undefined;
    }
    if (this.call === null) {
      return;
    }
    this.stopMedia();
    this.closeDevices(false);
    if (this.fullscreen) {
      void this.setFullscreen(false);
    }
    this.call = null;
    this.stats = null;
    this.avatarKey = "";
    show(this.root, false);
    this.appFrame.inert = false;
    if (this.focusBefore instanceof HTMLElement && this.focusBefore.isConnected) {
      this.focusBefore.focus();
    }
    this.focusBefore = null;
  }

  /** Stops the pictures and the timer (the call ended or the screen closes). */
  private stopMedia(): void {
    this.remote?.dispose();
    this.remote = null;
    this.local?.dispose();
    this.local = null;
    delete this.root.dataset["remoteFrame"];
    if (this.tick !== undefined) {
      clearInterval(this.tick);
      this.tick = undefined;
    }
  }

  // --- rendering --------------------------------------------------------------------------------

  private render(): void {
    const call = this.call;
    if (call === null) {
      return;
    }
    const live = inCall(call);
    const video = call.kind === "video";
    this.root.dataset["phase"] = call.phase;
    this.root.dataset["kind"] = call.kind;
    this.root.setAttribute("aria-label", `Call with ${call.peer_name}`);

    const avatarKey = `${call.peer_id}\n${call.peer_avatar_url ?? ""}\n${call.peer_name}`;
    if (avatarKey !== this.avatarKey) {
      this.avatarKey = avatarKey;
      this.peerAvatar.replaceChildren(avatarElement(call.peer_name, call.peer_avatar_url, call.peer_id, "large"));
    }
    setText(this.peerName, call.peer_name);
    setText(this.topName, call.peer_name);

    let status = "";
    if (call.phase === "outgoing") {
      status = call.ringing ? "Ringing…" : "Calling…";
    } else if (call.phase === "ended") {
      status = call.ended_text ?? "Call ended";
    }
    setText(this.status, status);
    show(this.status, status !== "");

    // Pictures: the peer's while their camera is on, mine (mirrored, small) while mine is.
    const showRemote = live && video && call.peer_camera_on;
    const showLocal = live && video && call.camera_on;
    this.root.dataset["remoteVideo"] = String(showRemote);
    show(this.remoteVideo, showRemote);
    show(this.localVideo, showLocal);
    if (live && video) {
      this.startVideo();
    }
    show(this.cameraOffHint, live && video && !call.peer_camera_on);
    setText(this.cameraOffText, `${call.peer_name}'s camera is off`);

    show(this.peerMuted, live && call.peer_muted);
    setText(this.peerMutedText, `${call.peer_name} is muted`);
    show(this.reconnecting, live && call.reconnecting);

    show(this.timer, live);
    this.renderTimer();
    if (live && this.tick === undefined) {
      this.tick = setInterval(() => this.renderTimer(), 1000);
    }
    this.renderQuality();

    // Controls: while it rings I can only cancel; in the call everything; once ended nothing.
    show(this.controls, call.phase !== "ended");
    show(this.muteButton, live);
    show(this.cameraButton, live && video);
    show(this.devicesButton, live);
    show(this.fullscreenButton, live);
    if (!live) {
      this.closeDevices(false);
    }
    // A voice call has no camera to switch.
    this.devicesPanel.dataset["kind"] = call.kind;

    this.muteButton.setAttribute("aria-pressed", String(call.muted));
    this.muteButton.replaceChildren(icon(call.muted ? "mic-off" : "mic", 24));
    // The button says what it will do: a camera that is off (turned off, or none opened)
    // offers to turn on, never to turn off.
    const cameraAction = call.camera_on ? "Turn camera off" : "Turn camera on";
    this.cameraButton.setAttribute("aria-label", cameraAction);
    this.cameraButton.title = cameraAction;
    this.cameraButton.dataset["off"] = String(!call.camera_on);
    this.cameraButton.replaceChildren(icon(call.camera_on ? "video" : "video-off", 24));

    const hangUpLabel = call.phase === "outgoing" ? "Cancel" : "Hang up";
    this.hangUpButton.setAttribute("aria-label", hangUpLabel);
    this.hangUpButton.title = hangUpLabel;
    setText(this.hangUpCaption, hangUpLabel);
  }

  /** Starts pulling pictures for a video call (once; the renderers pause while hidden). */
  private startVideo(): void {
    if (this.remote === null) {
      delete this.root.dataset["remoteFrame"];
      this.remote = new VideoRenderer(this.remoteVideo, "remote", {
        // Until the first picture the avatar stays visible instead of a black canvas.
        onFirstPicture: () => {
          this.root.dataset["remoteFrame"] = "true";
        },
      });
    }
    if (this.local === null) {
      // No picture until my camera sends one: a machine without a camera shows no black box.
      this.localVideo.classList.add("awaiting-picture");
      this.local = new VideoRenderer(this.localVideo, "local", {
        onFirstPicture: () => this.localVideo.classList.remove("awaiting-picture"),
      });
    }
  }

  private renderTimer(): void {
    const connectedAt = this.call?.connected_at ?? null;
    setText(this.timer, connectedAt === null ? "Connecting…" : callDuration(Date.now() - connectedAt));
  }

  private renderQuality(): void {
    const stats = this.stats;
    const visible = stats !== null && inCall(this.call);
    show(this.quality, visible);
    if (stats === null) {
      return;
    }
    this.quality.dataset["quality"] = stats.quality;
    const rtt = stats.rtt_ms === null ? "round trip unknown" : `round trip ${Math.round(stats.rtt_ms)} ms`;
    const loss = `${(stats.loss_fraction * 100).toFixed(1)} % loss`;
    const label = `Connection ${stats.quality}: ${rtt}, ${loss}`;
    this.quality.title = label;
    this.quality.setAttribute("aria-label", label);
  }

  // --- intents ----------------------------------------------------------------------------------

  private async hangUp(): Promise<void> {
    try {
      await commands.hangUp();
    } catch (error: unknown) {
      this.options.notify(`Could not hang up: ${errorMessage(error)}`);
    }
  }

  /** Shows the new state at once (Rust's next CallScreenView confirms it); resyncs on failure. */
  private async toggleMute(): Promise<void> {
    const call = this.call;
    if (!inCall(call)) {
      return;
    }
    const muted = !call.muted;
    this.call = { ...call, muted };
    this.render();
    try {
      await commands.setMuted(muted);
    } catch (error: unknown) {
      this.options.notify(`Could not ${muted ? "mute" : "unmute"}: ${errorMessage(error)}`);
      void this.refresh();
    }
  }

  private async toggleCamera(): Promise<void> {
    const call = this.call;
    if (!inCall(call) || call.kind !== "video") {
      return;
    }
    const on = !call.camera_on;
    this.call = { ...call, camera_on: on };
    this.render();
    try {
      await commands.setCamera(on);
    } catch (error: unknown) {
      this.options.notify(`Could not turn the camera ${on ? "on" : "off"}: ${errorMessage(error)}`);
      void this.refresh();
    }
  }

  private async setFullscreen(on: boolean): Promise<void> {
    const previous = this.fullscreen;
    this.fullscreen = on;
    this.renderFullscreen();
    try {
      await commands.setFullscreen(on);
    } catch (error: unknown) {
      this.fullscreen = previous;
      this.renderFullscreen();
      this.options.notify(`Could not ${on ? "enter" : "leave"} full screen: ${errorMessage(error)}`);
    }
  }

  private renderFullscreen(): void {
    const label = this.fullscreen ? "Leave full screen" : "Full screen";
    this.fullscreenButton.setAttribute("aria-label", label);
    this.fullscreenButton.title = label;
    this.fullscreenButton.setAttribute("aria-pressed", String(this.fullscreen));
    this.fullscreenButton.replaceChildren(icon(this.fullscreen ? "fullscreen-exit" : "fullscreen", 24));
    this.root.classList.toggle("fullscreen", this.fullscreen);
  }

  private async openDevices(): Promise<void> {
    show(this.devicesPanel, true);
    this.devicesButton.setAttribute("aria-expanded", "true");
    try {
      // Asked each time: devices come and go.
      const devices = await commands.devices();
      if (this.devicesPanel.hidden) {
        return;
      }
      this.devices = devices;
      for (const kind of DEVICE_KINDS) {
        this.showDevice(kind);
      }
      this.deviceSelects.microphone.focus();
    } catch (error: unknown) {
      this.closeDevices(true);
      this.options.notify(`Could not list the devices: ${errorMessage(error)}`);
    }
  }

  private closeDevices(returnFocus: boolean): void {
    if (this.devicesPanel.hidden) {
      return;
    }
    show(this.devicesPanel, false);
    this.devicesButton.setAttribute("aria-expanded", "false");
    if (returnFocus) {
      this.devicesButton.focus();
    }
  }

  private async useDevice(kind: DeviceKind, id: string | null): Promise<void> {
    try {
      this.options.onState(await commands.useDevice(kind, id));
    } catch (error: unknown) {
      this.options.notify(`Could not switch the ${DEVICE_LABELS[kind].toLowerCase()}: ${errorMessage(error)}`);
      this.showDevice(kind);
    }
  }

  /** Shows the kept choice of a device in its select. */
  private showDevice(kind: DeviceKind): void {
    const devices = this.devices === null ? [] : devicesOf(this.devices, kind);
    fillDeviceSelect(this.deviceSelects[kind], devices, this.settings?.[kind] ?? null);
  }

  private handleKey(event: KeyboardEvent): void {
    if (this.call === null || event.defaultPrevented) {
      return;
    }
    if (event.key === "Escape") {
      if (!this.devicesPanel.hidden) {
        event.preventDefault();
        this.closeDevices(true);
      } else if (this.fullscreen) {
        event.preventDefault();
        void this.setFullscreen(false);
      }
      return;
    }
    if (
      (event.key === "m" || event.key === "M") &&
      !event.ctrlKey &&
      !event.metaKey &&
      !event.altKey &&
      !event.repeat &&
      inCall(this.call) &&
      !isTyping(event.target)
    ) {
      event.preventDefault();
      void this.toggleMute();
    }
  }
}
