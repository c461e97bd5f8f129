// Answering a message: the bar above the composer that says which message a reply answers, the
// emoji picker of reactions, and the @mention suggestions while typing. The chat view decides
// what they apply to; these only show and collect.

import { byId, h, setText, show } from "./dom";
import type { MessageView, User } from "./ipc";
import { PopupMenu } from "./menu";

/** The reactions offered in the picker: the ones chat apps put first. */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🎉", "🙏", "👀"] as const;

/** The message the composer's next message answers, shown above it with a way to cancel. */
export class ReplyBar {
  private readonly bar = byId("reply-bar", HTMLElement);
  private readonly sender = byId("reply-bar-sender", HTMLElement);
  private readonly excerpt = byId("reply-bar-excerpt", HTMLElement);
  private target: MessageView | null = null;

  constructor(onCancel: () => void) {
    byId("reply-cancel", HTMLButtonElement).addEventListener("click", () => {
      this.clear();
      onCancel();
    });
  }

  /** The id of the message being answered, if any. */
  replyTo(): string | null {
    return this.target?.id ?? null;
  }

  set(message: MessageView): void {
    this.target = message;
    setText(this.sender, message.sender_name);
    setText(this.excerpt, message.body.replace(/\s+/gu, " ").slice(0, 140));
    show(this.bar, true);
  }

  clear(): void {
    this.target = null;
    show(this.bar, false);
  }
}

/** The reaction picker: a row of emoji next to the message. */
export class ReactionPicker {
  private readonly menu = new PopupMenu(byId("reaction-menu", HTMLElement));

  open(trigger: HTMLElement, onPick: (emoji: string) => void): void {
    this.menu.open(
      trigger,
      trigger,
      onPick,
      QUICK_REACTIONS.map((emoji) => ({ label: emoji, action: emoji })),
    );
  }

  close(): void {
    this.menu.close(false);
  }
}

/** The `@word` being typed at the caret (without the @), or null. */
export function mentionAt(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const match = /(?:^|[^a-z0-9_.@-])@([a-z0-9_.-]*)$/iu.exec(before);
  if (match === null) {
    return null;
  }
  const query = match[1] ?? "";
  return { start: caret - query.length - 1, query: query.toLowerCase() };
}

/** Members whose username or display name starts with the query, me left out, at most 6. */
export function suggestions(members: readonly User[], query: string, myId: string): User[] {
  const wanted = query.toLowerCase();
  return members
    .filter((member) => member.id !== myId)
    .filter(
      (member) =>
        member.username.startsWith(wanted) ||
        member.display_name
          .toLowerCase()
          .split(/\s+/u)
          .some((word) => word.startsWith(wanted)),
    )
    .slice(0, 6);
}

/** Suggests members while an `@name` is typed in the composer; Enter or Tab takes one. */
export class MentionSuggest {
  private readonly list = byId("mention-suggestions", HTMLElement);
  private readonly box: HTMLTextAreaElement;
  private readonly members: () => { members: readonly User[]; myId: string };
  private shown: User[] = [];
  private active = 0;
  private start = 0;

  constructor(box: HTMLTextAreaElement, members: () => { members: readonly User[]; myId: string }) {
    this.box = box;
    this.members = members;
    box.addEventListener("input", () => this.update());
    box.addEventListener("click", () => this.update());
    box.addEventListener("blur", () => this.hide());
    // Before the composer's own keydown (Enter sends): the parent's capture phase runs first.
    (box.parentElement ?? box).addEventListener(
      "keydown",
      (event) => {
        if (event.target === box) {
          this.handleKey(event);
        }
      },
      { capture: true },
    );
    this.list.addEventListener("mousedown", (event) => {
      // Keep the focus in the box; pick on mousedown, before blur hides the list.
      event.preventDefault();
      const item = event.target instanceof Element ? event.target.closest<HTMLElement>("[data-index]") : null;
      const index = Number(item?.dataset["index"]);
      if (Number.isInteger(index)) {
        this.pick(index);
      }
    });
  }

  isOpen(): boolean {
    return !this.list.hidden;
  }

  hide(): void {
    this.shown = [];
    show(this.list, false);
  }

  private update(): void {
    const at = mentionAt(this.box.value, this.box.selectionStart);
    const { members, myId } = this.members();
    this.shown = at === null ? [] : suggestions(members, at.query, myId);
    if (at === null || this.shown.length === 0) {
      this.hide();
      return;
    }
    this.start = at.start;
    this.active = Math.min(this.active, this.shown.length - 1);
    this.render();
  }

  private render(): void {
    this.list.replaceChildren(
      ...this.shown.map((member, index) =>
        h(
          "li",
          {
            class: index === this.active ? "mention-suggestion active" : "mention-suggestion",
            attrs: { role: "option", "aria-selected": String(index === this.active) },
            dataset: { index: String(index), username: member.username },
          },
          h("span", { class: "mention-suggestion-name", text: member.display_name }),
          h("span", { class: "mention-suggestion-username", text: `@${member.username}` }),
        ),
      ),
    );
    show(this.list, true);
  }

  private handleKey(event: KeyboardEvent): void {
    if (!this.isOpen()) {
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.shown.length) % this.shown.length;
      this.render();
    } else if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
      event.preventDefault();
      event.stopImmediatePropagation();
      this.pick(this.active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopImmediatePropagation();
      this.hide();
    }
  }

  private pick(index: number): void {
    const member = this.shown[index];
    if (member === undefined) {
      return;
    }
    const caret = this.box.selectionStart;
    const inserted = `@${member.username} `;
    this.box.setRangeText(inserted, this.start, caret, "end");
    this.hide();
    // The composer keeps its draft and size from input events.
    this.box.dispatchEvent(new Event("input", { bubbles: true }));
  }
}
