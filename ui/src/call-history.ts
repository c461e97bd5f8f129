// The "Calls" panel of the sidebar: my calls, newest first, as Rust keeps them (`call_history`,
// page by page). Each row can call the person back with the same kind of call, or open our
// conversation. The list is read again whenever it is shown and when a call ends.

import { avatarElement } from "./avatar";
import { byId, h, setText, show } from "./dom";
import { fullDateTime, relativeTime } from "./format";
import { icon } from "./icons";
import { commands, errorMessage, type CallHistoryEntry, type CallKind } from "./ipc";

/** Load the next page once the list is scrolled this close to its end. */
const LOAD_MORE_MARGIN_PX = 200;

export type CallHistoryOptions = {
  onCall: (peerId: string, kind: CallKind) => void;
  onOpenConversation: (conversationId: string) => void;
};

export class CallHistory {
  private readonly panel = byId("call-history", HTMLElement);
  private readonly list = byId("call-history-list", HTMLUListElement);
  private readonly status = byId("call-history-status", HTMLElement);
  private readonly more = byId("call-history-more", HTMLButtonElement);
  private entries: CallHistoryEntry[] = [];
  private hasMore = false;
  private loaded = false;
  /** Requests run one after the other, so pages are never merged out of order. */
  private queue: Promise<void> = Promise.resolve();
  private loadingMore = false;
  /** Increases on sign-out; answers for the earlier session are dropped. */
  private generation = 0;

  constructor(options: CallHistoryOptions) {
    this.more.addEventListener("click", () => this.loadMore());
    this.panel.addEventListener("scroll", () => {
      const panel = this.panel;
      if (panel.scrollTop + panel.clientHeight >= panel.scrollHeight - LOAD_MORE_MARGIN_PX) {
        this.loadMore();
      }
    });
    this.list.addEventListener("click", (event) => {
      const target = event.target instanceof Element ? event.target.closest<HTMLElement>("[data-action]") : null;
      const row = target?.closest<HTMLElement>("[data-call-id]");
      const entry = this.entries.find((known) => known.call_id === row?.dataset["callId"]);
      if (target === null || entry === undefined) {
        return;
      }
      if (target.dataset["action"] === "call-back") {
        options.onCall(entry.peer_id, entry.kind);
      } else if (target.dataset["action"] === "open" && entry.conversation_id !== null) {
        options.onOpenConversation(entry.conversation_id);
      }
    });
    // "5 min" ages.
    setInterval(() => {
      if (!this.panel.hidden) {
        this.render();
      }
    }, 30_000);
  }

  /** The panel became visible: show the newest calls. */
  shown(): void {
    if (!this.loaded) {
      this.render();
    }
    this.refresh();
  }

  /** A call ended: it is in the history now. */
  callEnded(): void {
    if (this.loaded) {
      this.refresh();
    }
  }

  /** Signed out. */
  clear(): void {
    this.generation += 1;
    this.entries = [];
    this.hasMore = false;
    this.loaded = false;
    this.loadingMore = false;
    this.queue = Promise.resolve();
    this.list.replaceChildren();
    show(this.status, false);
    show(this.more, false);
  }

  // -------------------------------------------------------------------------------------------

  /** Reads the newest page and merges it with what is shown (older pages stay). */
  private refresh(): void {
    this.enqueue(async (generation) => {
      const page = await commands.callHistory(null);
      if (generation !== this.generation) {
        return;
      }
      if (!this.loaded || !page.has_more) {
        // The first page, or a page holding the whole history: it is the list.
        this.entries = page.calls;
        this.hasMore = page.has_more;
      } else {
        const fresh = new Set(page.calls.map((entry) => entry.call_id));
        this.entries = [...page.calls, ...this.entries.filter((entry) => !fresh.has(entry.call_id))].sort(
          (a, b) => b.started_at - a.started_at,
        );
      }
      this.loaded = true;
    });
  }

  private loadMore(): void {
    const last = this.entries[this.entries.length - 1];
    if (!this.loaded || !this.hasMore || this.loadingMore || last === undefined) {
      return;
    }
    this.loadingMore = true;
    this.render();
    this.enqueue(async (generation) => {
      try {
        const page = await commands.callHistory(last.started_at);
        if (generation !== this.generation) {
          return;
        }
        const known = new Set(this.entries.map((entry) => entry.call_id));
        this.entries = [...this.entries, ...page.calls.filter((entry) => !known.has(entry.call_id))];
        this.hasMore = page.has_more;
      } finally {
        if (generation === this.generation) {
          this.loadingMore = false;
        }
      }
    });
  }

  private enqueue(load: (generation: number) => Promise<void>): void {
    const generation = this.generation;
    this.queue = this.queue.then(async () => {
      if (generation !== this.generation) {
        return;
      }
      try {
        await load(generation);
        if (generation === this.generation) {
          this.render();
        }
      } catch (error: unknown) {
        if (generation === this.generation) {
          this.render(`Could not load calls: ${errorMessage(error)}`);
        }
      }
    });
  }

  private render(error?: string): void {
    // The rows are rebuilt: give focus back to the same button of the same call.
    const focused = document.activeElement;
    const focusedRow = focused instanceof HTMLElement && this.list.contains(focused)
      ? focused.closest<HTMLElement>("[data-call-id]")?.dataset["callId"]
      : undefined;
    const focusedAction = focused instanceof HTMLElement ? focused.dataset["action"] : undefined;

    this.list.replaceChildren(...this.entries.map((entry) => renderEntry(entry)));

    if (focusedRow !== undefined && focusedAction !== undefined) {
      for (const row of this.list.children) {
        if (row instanceof HTMLElement && row.dataset["callId"] === focusedRow) {
          row.querySelector<HTMLElement>(`[data-action="${focusedAction}"]`)?.focus();
        }
      }
    }

    let status = "";
    if (error !== undefined) {
      status = error;
    } else if (this.loaded && this.entries.length === 0) {
      status = "No calls yet.";
    } else if (!this.loaded) {
      status = "Loading calls…";
    }
    setText(this.status, status);
    this.status.classList.toggle("error", error !== undefined);
    show(this.status, status !== "");
    show(this.more, this.loaded && this.hasMore);
    this.more.disabled = this.loadingMore;
    setText(this.more, this.loadingMore ? "Loading…" : "Load more");
  }
}

function renderEntry(entry: CallHistoryEntry): HTMLLIElement {
  const kindLabel = entry.kind === "video" ? "Video call" : "Voice call";
  const main = h(
    entry.conversation_id === null ? "div" : "button",
    { class: "call-entry-open" },
    avatarElement(entry.peer_name, entry.peer_avatar_url, entry.peer_id, "medium"),
    h(
      "span",
      { class: "call-entry-text" },
      h(
        "span",
        { class: "call-entry-top" },
        h("span", { class: "call-entry-name", text: entry.peer_name }),
        h("time", {
          class: "call-entry-time",
          text: relativeTime(entry.started_at),
          attrs: { datetime: new Date(entry.started_at).toISOString(), title: fullDateTime(entry.started_at) },
        }),
      ),
      h(
        "span",
        { class: "call-entry-summary" },
        icon(entry.direction === "incoming" ? "incoming" : "outgoing", 14),
        h("span", { text: entry.summary }),
      ),
    ),
  );
  if (main instanceof HTMLButtonElement) {
    main.type = "button";
    main.dataset["action"] = "open";
    main.setAttribute("aria-label", `${entry.peer_name}, ${entry.summary}, ${fullDateTime(entry.started_at)}: open conversation`);
  }
  const callBack = h("button", {
    class: "icon-button call-back",
    attrs: {
      type: "button",
      "data-testid": "call-back",
      "data-action": "call-back",
      "aria-label": `${kindLabel} ${entry.peer_name}`,
      title: `${kindLabel} ${entry.peer_name}`,
    },
  });
  callBack.appendChild(icon(entry.kind === "video" ? "video" : "phone", 20));
  return h(
    "li",
    {
      class: entry.missed ? "call-entry missed" : "call-entry",
      dataset: { callId: entry.call_id, kind: entry.kind, direction: entry.direction },
      attrs: { "data-testid": "call-history-entry" },
    },
    main,
    callBack,
  );
}
