// The conversation list in the sidebar: one row per ConversationView, as Rust sent it (title,
// unread count, online, last message). The only thing decided here is the display order, by
// last_activity_at, newest first, as the contract asks.
//
// Rows are keyed by conversation id and rebuilt only when their conversation changed, so focus
// and scroll survive the frequent updates. The list is a listbox with a roving tabindex:
// Tab reaches the selected (or first) row, arrows move, Enter or Space opens.

import { filesSummary } from "./attachments";
import { avatarElement } from "./avatar";
import { icon } from "./icons";
import { h, show } from "./dom";
import { fullDateTime, relativeTime, typingText } from "./format";
import type { ConversationView, PresenceChange, User } from "./ipc";
import type { TypingTracker } from "./typing";

type RowView = { conversation: ConversationView; element: HTMLLIElement; typing: string };

export type ConversationListOptions = {
  onOpen: (conversationId: string) => void;
  typing: TypingTracker;
};

export class ConversationList {
  private readonly listElement: HTMLUListElement;
  private readonly emptyElement: HTMLElement;
  private readonly options: ConversationListOptions;
  private conversations: ConversationView[] = [];
  private readonly rows = new Map<string, RowView>();
  private selectedId: string | null = null;
  private loaded = false;

  constructor(listElement: HTMLUListElement, emptyElement: HTMLElement, options: ConversationListOptions) {
    this.listElement = listElement;
    this.emptyElement = emptyElement;
    this.options = options;
    listElement.setAttribute("role", "listbox");
    listElement.addEventListener("click", (event) => {
      const row = this.rowOf(event.target);
      if (row !== null) {
        this.open(row);
      }
    });
    listElement.addEventListener("keydown", (event) => this.handleKey(event));
    options.typing.subscribe((conversationId) => {
      if (this.rows.has(conversationId)) {
        this.render();
      }
    });
    // Relative times ("5 min") age; refresh them without waiting for an event.
    setInterval(() => this.refreshTimes(), 30_000);
  }

  get(conversationId: string): ConversationView | undefined {
    return this.conversations.find((conversation) => conversation.id === conversationId);
  }

  all(): readonly ConversationView[] {
    return this.conversations;
  }

  setAll(conversations: readonly ConversationView[]): void {
    this.conversations = sortByActivity([...conversations]);
    this.loaded = true;
    this.render();
  }

  /** Replaces (or adds) a conversation by id and re-sorts. */
  upsert(conversation: ConversationView): void {
    const others = this.conversations.filter((known) => known.id !== conversation.id);
    const at = this.conversations.findIndex((known) => known.id === conversation.id);
    // Stable sort keeps ties in their current order; a changed row takes its old place first.
    others.splice(at < 0 ? 0 : at, 0, conversation);
    this.conversations = sortByActivity(others);
    this.render();
  }

  remove(conversationId: string): void {
    this.conversations = this.conversations.filter((known) => known.id !== conversationId);
    if (this.selectedId === conversationId) {
      this.selectedId = null;
    }
    this.render();
  }

  /**
   * A contact came online or went offline. For a direct conversation with them, that is what
   * `online` means (contract: "direct: the other member is online"), so the dot follows at once;
   * a group's `online` is left to Rust's next ConversationView.
   */
  applyPresence(change: PresenceChange): void {
    let changed = false;
    this.conversations = this.conversations.map((conversation) => {
      if (!conversation.members.some((member) => member.id === change.user_id)) {
        return conversation;
      }
      changed = true;
      const members = conversation.members.map(
        (member): User =>
          member.id === change.user_id
            ? { ...member, presence: { online: change.online, last_seen_at: change.last_seen_at } }
            : member,
      );
      const online =
        conversation.kind === "direct" && conversation.peer_id === change.user_id
          ? change.online
          : conversation.online;
      return { ...conversation, members, online };
    });
    if (changed) {
      this.render();
    }
  }

  setSelected(conversationId: string | null): void {
    this.selectedId = conversationId;
    for (const [id, row] of this.rows) {
      const selected = id === conversationId;
      row.element.setAttribute("aria-selected", String(selected));
      row.element.classList.toggle("selected", selected);
    }
    this.updateTabStops();
  }

  clear(): void {
    this.conversations = [];
    this.selectedId = null;
    this.loaded = false;
    this.render();
  }

  // -------------------------------------------------------------------------------------------

  private render(): void {
    const seen = new Set<string>();
    let previous: Element | null = null;
    const focused = document.activeElement;
    for (const conversation of this.conversations) {
      seen.add(conversation.id);
      const typing = typingText(this.options.typing.names(conversation.id));
      let row = this.rows.get(conversation.id);
      if (row === undefined || row.conversation !== conversation || row.typing !== typing) {
        const element = this.renderRow(conversation, typing);
        const hadFocus = row !== undefined && row.element.contains(focused);
        if (row !== undefined) {
          row.element.replaceWith(element);
        }
        row = { conversation, element, typing };
        this.rows.set(conversation.id, row);
        if (hadFocus) {
          element.focus();
        }
      }
      const expected: Element | null =
        previous === null ? this.listElement.firstElementChild : previous.nextElementSibling;
      if (expected !== row.element) {
        this.listElement.insertBefore(row.element, expected);
      }
      previous = row.element;
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.element.remove();
        this.rows.delete(id);
      }
    }
    show(this.emptyElement, this.loaded && this.conversations.length === 0);
    this.updateTabStops();
  }

  private renderRow(conversation: ConversationView, typing: string): HTMLLIElement {
    const selected = conversation.id === this.selectedId;
    const element = h("li", {
      class: selected ? "conversation selected" : "conversation",
      attrs: { role: "option", "aria-selected": String(selected), tabindex: "-1" },
      dataset: { conversationId: conversation.id, kind: conversation.kind },
    });
    if (conversation.unread_count > 0) {
      element.classList.add("has-unread");
    }

    const dot = h("span", { class: conversation.online ? "presence-dot online" : "presence-dot" });
    if (conversation.online) {
      dot.appendChild(h("span", { class: "visually-hidden", text: "Online" }));
    }
    const avatar = h(
      "span",
      { class: "conversation-avatar" },
      avatarElement(conversation.title, conversation.avatar_url, conversation.peer_id ?? conversation.id),
      dot,
    );

    const time = h("time", {
      class: "conversation-time",
      text: relativeTime(conversation.last_activity_at),
      attrs: {
        datetime: new Date(conversation.last_activity_at).toISOString(),
        title: fullDateTime(conversation.last_activity_at),
      },
      dataset: { at: String(conversation.last_activity_at) },
    });

    const preview = typing !== "" ? { text: typing, muted: true } : previewOf(conversation);
    const previewElement = h("span", {
      class: typing !== "" ? "conversation-preview typing" : "conversation-preview",
      text: preview.text,
    });
    if (preview.muted) {
      previewElement.classList.add("muted");
    }

    const bottom = h("div", { class: "conversation-bottom" }, previewElement);
    if (conversation.muted) {
      const bell = h("span", { class: "conversation-muted", attrs: { role: "img", "aria-label": "Muted", title: "Muted" } });
      bell.appendChild(icon("bell-off", 14));
      bottom.appendChild(bell);
      element.classList.add("is-muted");
    }
    if (conversation.unread_count > 0) {
      bottom.appendChild(
        h("span", {
          class: "unread-badge",
          text: String(conversation.unread_count),
          attrs: { "aria-label": `${conversation.unread_count} unread` },
        }),
      );
    }

    element.append(
      avatar,
      h(
        "div",
        { class: "conversation-main" },
        h("div", { class: "conversation-top" }, h("span", { class: "conversation-title", text: conversation.title }), time),
        bottom,
      ),
    );
    return element;
  }

  private refreshTimes(): void {
    const now = Date.now();
    for (const time of this.listElement.querySelectorAll<HTMLElement>("time.conversation-time")) {
      const at = Number(time.dataset["at"]);
      if (Number.isFinite(at)) {
        time.textContent = relativeTime(at, now);
      }
    }
  }

  private rowOf(target: EventTarget | null): HTMLLIElement | null {
    if (!(target instanceof Element)) {
      return null;
    }
    const row = target.closest<HTMLLIElement>("li.conversation");
    return row !== null && this.listElement.contains(row) ? row : null;
  }

  private open(row: HTMLLIElement): void {
    const id = row.dataset["conversationId"];
    if (id !== undefined) {
      row.focus();
      this.options.onOpen(id);
    }
  }

  /** One row is in the tab order: the focused or selected one, else the first. */
  private updateTabStops(): void {
    const rows = [...this.rows.values()].map((row) => row.element);
    const focused = rows.find((row) => row === document.activeElement);
    const stop =
      focused ?? rows.find((row) => row.dataset["conversationId"] === this.selectedId) ?? this.listElement.firstElementChild;
    for (const row of rows) {
      row.tabIndex = row === stop ? 0 : -1;
    }
  }

  private handleKey(event: KeyboardEvent): void {
    const row = this.rowOf(event.target);
    if (row === null) {
      return;
    }
    let next: Element | null;
    switch (event.key) {
      case "ArrowDown":
        next = row.nextElementSibling;
        break;
      case "ArrowUp":
        next = row.previousElementSibling;
        break;
      case "Home":
        next = this.listElement.firstElementChild;
        break;
      case "End":
        next = this.listElement.lastElementChild;
        break;
      case "Enter":
      case " ":
        event.preventDefault();
        this.open(row);
        return;
      default:
        return;
    }
    event.preventDefault();
    if (next instanceof HTMLLIElement) {
      next.focus();
      this.updateTabStops();
    }
  }
}

function sortByActivity(conversations: ConversationView[]): ConversationView[] {
  // Array.prototype.sort is stable: equal times keep their order.
  return conversations.sort((a, b) => b.last_activity_at - a.last_activity_at);
}

function previewOf(conversation: ConversationView): { text: string; muted: boolean } {
  const message = conversation.last_message;
  if (message === null) {
    return { text: "No messages yet", muted: true };
  }
  if (message.deleted_at !== null) {
    return { text: "Message deleted", muted: true };
  }
  const prefix = message.mine ? "You: " : conversation.kind === "group" ? `${message.sender_name}: ` : "";
  // One line: newlines and runs of spaces would break the row's layout.
  const text = message.body.replace(/\s+/gu, " ").trim();
  return { text: prefix + (text === "" ? filesSummary(message) : text), muted: false };
}
