// The small always-on-top window that rings for an incoming call (index.html#call, opened and
// closed by Rust). It shows who calls and offers Accept (with or without video) and Decline; once
// the call is no longer ringing here it shows nothing, and Rust closes the window.

import { avatarElement } from "./avatar";
import { h, setText, show } from "./dom";
import { icon } from "./icons";
import { commands, errorMessage, on, type CallScreenView } from "./ipc";

export class IncomingCallWindow {
  private readonly root: HTMLElement;
  private readonly avatarSlot: HTMLElement;
  private readonly name: HTMLElement;
  private readonly kind: HTMLElement;
  private readonly error: HTMLElement;
  private readonly acceptVideo: HTMLButtonElement;
  private readonly acceptVoice: HTMLButtonElement;
  private readonly acceptVoiceCaption: HTMLElement;
  private readonly decline: HTMLButtonElement;
  private call: CallScreenView | null = null;
  /** natter://call events received; a current_call answer that an event overtook is dropped. */
  private events = 0;
  /** An answer is on its way: the buttons stay disabled until Rust says what happened. */
  private busy = false;

  constructor(parent: HTMLElement) {
    this.avatarSlot = h("span", { class: "incoming-avatar" });
    this.name = h("h1", { class: "incoming-name", attrs: { "data-testid": "incoming-name" } });
    this.kind = h("p", { class: "incoming-kind", attrs: { "data-testid": "incoming-kind" } });
    this.error = h("p", { class: "incoming-error", attrs: { role: "alert" } });
    this.acceptVoiceCaption = h("span", { text: "Accept", attrs: { "aria-hidden": "true" } });
    this.acceptVideo = this.button("accept-video", "Accept with video", h("span", { text: "Video", attrs: { "aria-hidden": "true" } }), "video", "accept");
    this.acceptVoice = this.button("accept-voice", "Accept", this.acceptVoiceCaption, "phone", "accept");
    this.decline = this.button("decline", "Decline", h("span", { text: "Decline", attrs: { "aria-hidden": "true" } }), "hangup", "decline");
    this.root = h(
      "main",
      { class: "incoming", attrs: { "data-testid": "incoming-call", "aria-label": "Incoming call" } },
      h("div", { class: "incoming-caller" }, this.avatarSlot, h("div", { class: "incoming-text" }, this.name, this.kind)),
      this.error,
      h("div", { class: "incoming-actions" }, this.acceptVideo, this.acceptVoice, this.decline),
    );
    show(this.error, false);
    show(this.root, false);
    parent.appendChild(this.root);

    this.acceptVideo.addEventListener("click", () => void this.accept(true));
    this.acceptVoice.addEventListener("click", () => void this.accept(false));
    this.decline.addEventListener("click", () => void this.answer(() => commands.declineCall()));
  }

  /** Follows natter://call and asks for the call that made Rust open this window. */
  async start(): Promise<void> {
    await on("natter://call", (call) => {
      this.events += 1;
      this.render(call);
    });
    const events = this.events;
    const call = await commands.currentCall();
    if (events === this.events) {
      this.render(call);
    }
  }

  private button(
    testId: string,
    label: string,
    caption: HTMLElement,
    iconName: "video" | "phone" | "hangup",
    style: "accept" | "decline",
  ): HTMLButtonElement {
    return h(
      "button",
      {
        class: `incoming-button incoming-${style}`,
        attrs: { type: "button", "aria-label": label, title: label, "data-testid": testId },
      },
      icon(iconName, 22),
      caption,
    );
  }

  private render(call: CallScreenView | null): void {
    const ringing = call !== null && call.phase === "incoming";
    const changed = call?.call_id !== this.call?.call_id;
    this.call = ringing ? call : null;
    show(this.root, ringing);
    if (!ringing) {
      return;
    }
    if (changed) {
      this.busy = false;
      show(this.error, false);
      this.avatarSlot.replaceChildren(avatarElement(call.peer_name, call.peer_avatar_url, call.peer_id, "medium"));
      // No button takes the focus: a key pressed while typing elsewhere must not answer.
    }
    const video = call.kind === "video";
    this.root.dataset["kind"] = call.kind;
    setText(this.name, call.peer_name);
    setText(this.kind, video ? "Incoming video call" : "Incoming voice call");
    document.title = `${call.peer_name}: ${video ? "incoming video call" : "incoming voice call"}`;
    show(this.acceptVideo, video);
    // Answering a video call with my camera off is "voice": the label says so.
    const voiceLabel = video ? "Accept voice only" : "Accept";
    this.acceptVoice.setAttribute("aria-label", voiceLabel);
    this.acceptVoice.title = voiceLabel;
    setText(this.acceptVoiceCaption, video ? "Voice" : "Accept");
    for (const button of [this.acceptVideo, this.acceptVoice, this.decline]) {
      button.disabled = this.busy;
    }
  }

  private async accept(video: boolean): Promise<void> {
    await this.answer(async () => {
      await commands.acceptCall(video);
      // The call goes on in the main window.
      await commands.showMainWindow();
    });
  }

  private async answer(send: () => Promise<unknown>): Promise<void> {
    if (this.call === null || this.busy) {
      return;
    }
    this.busy = true;
    this.render(this.call);
    try {
      await send();
    } catch (error: unknown) {
      setText(this.error, errorMessage(error));
      show(this.error, true);
      this.busy = false;
      if (this.call !== null) {
        this.render(this.call);
      }
    }
  }
}
