// Sidebar search: people (`search_users`) and messages (`search_messages`) as you type. While
// the box holds a query the results replace the conversation list. Answers to older queries are
// dropped, so a slow answer never overwrites a newer one.

import { avatarElement } from "./avatar";
import { debounce, h, highlighted, show } from "./dom";
import { fullDateTime, relativeTime } from "./format";
import { commands, errorMessage, type SearchHit, type User } from "./ipc";

const DEBOUNCE_MS = 250;

export type SearchOptions = {
  onUser: (user: User) => void;
  onHit: (hit: SearchHit) => void;
  /** Called when the results are shown or hidden (the conversation list is the other view). */
  onActiveChange: (active: boolean) => void;
};

export class SearchPanel {
  private readonly input: HTMLInputElement;
  private readonly results: HTMLElement;
  private readonly options: SearchOptions;
  private generation = 0;
  private readonly run = debounce((query: string) => void this.search(query), DEBOUNCE_MS);

  constructor(input: HTMLInputElement, results: HTMLElement, options: SearchOptions) {
    this.input = input;
    this.results = results;
    this.options = options;

    input.addEventListener("input", () => this.changed());
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && input.value !== "") {
        event.preventDefault();
        this.clear();
      } else if (event.key === "ArrowDown") {
        const first = this.items()[0];
        if (first !== undefined) {
          event.preventDefault();
          first.focus();
        }
      } else if (event.key === "Enter") {
        event.preventDefault();
        this.items()[0]?.click();
      }
    });
    results.addEventListener("keydown", (event) => this.handleKey(event));
    results.addEventListener("click", (event) => {
      const item = event.target instanceof Element ? event.target.closest<HTMLElement>(".search-item") : null;
      item?.dispatchEvent(new CustomEvent("choose"));
    });
  }

  clear(): void {
    this.input.value = "";
    this.changed();
  }

  private changed(): void {
    const query = this.input.value.trim();
    this.generation += 1;
    if (query === "") {
      this.run.cancel();
      this.results.replaceChildren();
      this.setActive(false);
      return;
    }
    this.setActive(true);
    if (this.results.childElementCount === 0) {
      this.results.replaceChildren(h("p", { class: "search-status", text: "Searching…" }));
    }
    this.run(query);
  }

  private setActive(active: boolean): void {
    if (this.results.hidden === active) {
      show(this.results, active);
      this.options.onActiveChange(active);
    }
  }

  private async search(query: string): Promise<void> {
    const generation = this.generation;
    const [users, hits] = await Promise.allSettled([
      commands.searchUsers(query),
      commands.searchMessages(query),
    ]);
    if (generation !== this.generation) {
      return;
    }
    const sections: HTMLElement[] = [];
    if (users.status === "fulfilled") {
      if (users.value.length > 0) {
        sections.push(this.section("People", users.value.map((user) => this.userItem(user))));
      }
    } else {
      sections.push(h("p", { class: "search-status error", text: errorMessage(users.reason) }));
    }
    if (hits.status === "fulfilled") {
      if (hits.value.length > 0) {
        sections.push(this.section("Messages", hits.value.map((hit) => this.hitItem(hit, query))));
      }
    } else {
      sections.push(h("p", { class: "search-status error", text: errorMessage(hits.reason) }));
    }
    if (sections.length === 0) {
      sections.push(h("p", { class: "search-status", text: `No results for “${query}”` }));
    }
    this.results.replaceChildren(...sections);
  }

  private section(title: string, items: HTMLElement[]): HTMLElement {
    const id = `search-section-${title.toLowerCase()}`;
    return h(
      "section",
      { class: "search-section" },
      h("h3", { class: "search-section-title", text: title, attrs: { id } }),
      h("ul", { class: "search-list", attrs: { role: "listbox", "aria-labelledby": id } }, ...items),
    );
  }

  private userItem(user: User): HTMLElement {
    const item = h(
      "li",
      {
        class: "search-item search-user",
        attrs: { role: "option", tabindex: "-1", "aria-selected": "false" },
        dataset: { userId: user.id },
      },
      avatarElement(user.display_name, user.avatar_url, user.id, "small"),
      h(
        "span",
        { class: "search-item-text" },
        h("span", { class: "search-item-title", text: user.display_name }),
        h("span", { class: "search-item-detail", text: `@${user.username}` }),
      ),
    );
    item.addEventListener("choose", () => this.options.onUser(user));
    return item;
  }

  private hitItem(hit: SearchHit, query: string): HTMLElement {
    const message = hit.message;
    const sender = message.mine ? "You" : message.sender_name;
    const snippet = h("span", { class: "search-item-detail search-snippet" });
    snippet.append(`${sender}: `, ...highlighted(message.body.replace(/\s+/gu, " "), query));
    const item = h(
      "li",
      {
        class: "search-item search-message",
        attrs: { role: "option", tabindex: "-1", "aria-selected": "false" },
        dataset: { conversationId: hit.conversation_id, clientId: message.client_id },
      },
      h(
        "span",
        { class: "search-item-text" },
        h(
          "span",
          { class: "search-item-top" },
          h("span", { class: "search-item-title", text: hit.conversation_title }),
          h("time", {
            class: "search-item-time",
            text: relativeTime(message.created_at),
            attrs: { title: fullDateTime(message.created_at) },
          }),
        ),
        snippet,
      ),
    );
    item.addEventListener("choose", () => this.options.onHit(hit));
    return item;
  }

  private items(): HTMLElement[] {
    return [...this.results.querySelectorAll<HTMLElement>(".search-item")];
  }

  private handleKey(event: KeyboardEvent): void {
    const items = this.items();
    const current = items.findIndex((item) => item === document.activeElement);
    if (current < 0) {
      return;
    }
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        items[Math.min(current + 1, items.length - 1)]?.focus();
        break;
      case "ArrowUp":
        event.preventDefault();
        if (current === 0) {
          this.input.focus();
        } else {
          items[current - 1]?.focus();
        }
        break;
      case "Enter":
      case " ":
        event.preventDefault();
        items[current]?.click();
        break;
      case "Escape":
        event.preventDefault();
        this.clear();
        this.input.focus();
        break;
      default:
        break;
    }
  }
}
