// The open conversation's header: who it is with (avatar, title, presence or typing line) and
// what can be done with them from there (back to the list, call, block). Apart from the chat
// view because it never looks at the messages, only at the ConversationView, which the chat view
// owns and this reads at each use.

import { accountCommands } from "./account-ipc";
import { avatarElement } from "./avatar";
import { confirmAction } from "./confirm-dialog";
import { byId, setText, show } from "./dom";
import { lastSeen, plural, typingText } from "./format";
import { icon } from "./icons";
import { commands, errorMessage, type CallKind, type ConversationView } from "./ipc";
import type { TypingTracker } from "./typing";

export type ChatHeaderOptions = {
  /** The conversation shown, if any. */
  conversation: () => ConversationView | null;
  typing: TypingTracker;
  /** Shows a transient error or outcome. */
  notify: (message: string) => void;
  /** The back button. */
  onClose: () => void;
  /** A call button of a direct conversation: call the other member. */
  onCall: (peerId: string, kind: CallKind) => void;
};

/** The line under the title, and the tooltip that goes with it (null: none). */
export function subtitleOf(
  conversation: ConversationView,
  now: number = Date.now(),
): { text: string; tooltip: string | null } {
  if (conversation.kind !== "direct") {
    return {
      text: plural(conversation.members.length, "member", "members"),
      tooltip: conversation.members.map((member) => member.display_name).join(", "),
    };
  }
  const peer = conversation.members.find((member) => member.id === conversation.peer_id);
  let text = "";
  if (conversation.online) {
    text = "Online";
  } else if (peer?.presence?.last_seen_at !== undefined && peer.presence.last_seen_at !== null) {
    text = lastSeen(peer.presence.last_seen_at, now);
  } else if (peer !== undefined && peer.status_text !== "") {
    text = peer.status_text;
  }
  return { text, tooltip: null };
}

export class ChatHeader {
  private readonly options: ChatHeaderOptions;
  private readonly root = byId("chat", HTMLElement);
  private readonly avatarSlot = byId("chat-avatar", HTMLElement);
  private readonly title = byId("chat-title", HTMLElement);
  private readonly subtitle = byId("chat-subtitle", HTMLElement);
  private readonly typingLine = byId("typing-indicator", HTMLElement);
  private readonly callButtons = byId("chat-call-buttons", HTMLElement);
  private readonly blockButton = byId("chat-block", HTMLButtonElement);
  private readonly muteButton = byId("chat-mute", HTMLButtonElement);
  /** Who I blocked, loaded when a direct conversation is first shown. */
  private blockedIds: Set<string> | null = null;

  constructor(options: ChatHeaderOptions) {
    this.options = options;
    byId("chat-back", HTMLButtonElement).addEventListener("click", () => options.onClose());
    for (const [id, kind] of [
      ["call-voice", "voice"],
      ["call-video", "video"],
    ] as const) {
      byId(id, HTMLButtonElement).addEventListener("click", () => {
        const conversation = options.conversation();
        const peerId = conversation?.kind === "direct" ? conversation.peer_id : null;
        if (peerId !== null && peerId !== undefined) {
          options.onCall(peerId, kind);
        }
      });
    }
    this.blockButton.addEventListener("click", () => void this.toggleBlock());
    this.muteButton.addEventListener("click", () => void this.toggleMute());
    options.typing.subscribe((conversationId) => {
      if (conversationId === options.conversation()?.id) {
        this.renderTyping();
      }
    });
  }

  private async toggleMute(): Promise<void> {
    const conversation = this.options.conversation();
    if (conversation === null) {
      return;
    }
    try {
      // The conversation's new view (muted or not) comes back as an event and re-renders this.
      await commands.muteConversation(conversation.id, !conversation.muted);
    } catch (error: unknown) {
      this.options.notify(`Could not change notifications: ${errorMessage(error)}`);
    }
  }

  /** Blocks may have changed elsewhere (the account dialog): read them again when next shown. */
  forgetBlocked(): void {
    this.blockedIds = null;
  }

  render(): void {
    const conversation = this.options.conversation();
    if (conversation === null) {
      return;
    }
    setText(this.title, conversation.title);
    this.avatarSlot.replaceChildren(
      avatarElement(conversation.title, conversation.avatar_url, conversation.peer_id ?? conversation.id, "medium"),
    );
    this.root.dataset["online"] = String(conversation.online);
    const subtitle = subtitleOf(conversation);
    if (subtitle.tooltip === null) {
      this.subtitle.removeAttribute("title");
    } else {
      this.subtitle.title = subtitle.tooltip;
    }
    this.subtitle.classList.toggle("online", conversation.kind === "direct" && conversation.online);
    setText(this.subtitle, subtitle.text);
    const muted = conversation.muted;
    this.muteButton.replaceChildren(icon(muted ? "bell-off" : "bell", 20));
    this.muteButton.setAttribute("aria-pressed", String(muted));
    this.muteButton.setAttribute("aria-label", muted ? "Unmute" : "Mute");
    this.muteButton.title = muted
      ? "Muted: only messages that mention you notify. Click to unmute"
      : "Mute: no notifications except when you are mentioned";
    // Calls are one to one: only a direct conversation has someone to call.
    show(this.callButtons, conversation.kind === "direct" && conversation.peer_id !== null);
    const peerId = conversation.kind === "direct" ? conversation.peer_id : null;
    if (peerId === null || peerId === undefined) {
      show(this.blockButton, false);
    } else if (this.blockedIds === null) {
      show(this.blockButton, false);
      void this.loadBlocked();
    } else {
      const blocked = this.blockedIds.has(peerId);
      setText(this.blockButton, blocked ? "Unblock" : "Block");
      this.blockButton.title = blocked
        ? "They can message and call you again"
        : "They can no longer message or call you";
      show(this.blockButton, true);
    }
  }

  renderTyping(): void {
    const id = this.options.conversation()?.id;
    const text = id === undefined ? "" : typingText(this.options.typing.names(id));
    setText(this.typingLine, text);
    show(this.typingLine, text !== "");
    // The typing line takes the place of the presence line while someone types.
    this.subtitle.classList.toggle("covered", text !== "");
  }

  private async loadBlocked(): Promise<void> {
    try {
      const users = await accountCommands.blockedUsers();
      this.blockedIds = new Set(users.map((user) => user.id));
      this.render();
    } catch {
      // Offline: the button shows once the list can be read.
    }
  }

  private async toggleBlock(): Promise<void> {
    const conversation = this.options.conversation();
    const peerId = conversation?.kind === "direct" ? conversation.peer_id : null;
    if (conversation === null || peerId === null || peerId === undefined || this.blockedIds === null) {
      return;
    }
    const blocked = this.blockedIds.has(peerId);
    if (!blocked) {
      const sure = await confirmAction({
        title: `Block ${conversation.title}?`,
        text: "They will not be able to message or call you, and will not be told. You can unblock them later.",
        confirmLabel: "Block",
        danger: true,
      });
      if (!sure) {
        return;
      }
    }
    try {
      if (blocked) {
        await accountCommands.unblockUser(peerId);
        this.blockedIds.delete(peerId);
      } else {
        await accountCommands.blockUser(peerId);
        this.blockedIds.add(peerId);
      }
      this.render();
      this.options.notify(blocked ? `${conversation.title} is unblocked.` : `${conversation.title} is blocked.`);
    } catch (error: unknown) {
      this.options.notify(errorMessage(error));
    }
  }
}
