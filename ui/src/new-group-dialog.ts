// The "New group" dialog: a name and members picked from `search_users`.

import { avatarElement } from "./avatar";
import { byId, debounce, h, setText, show } from "./dom";
import { commands, errorMessage, type ConversationView, type User } from "./ipc";

const DEBOUNCE_MS = 250;

export class NewGroupDialog {
  private readonly dialog = byId("new-group-dialog", HTMLDialogElement);
  private readonly name = byId("group-name", HTMLInputElement);
  private readonly search = byId("group-member-search", HTMLInputElement);
  private readonly results = byId("group-member-results", HTMLUListElement);
  private readonly selectedList = byId("group-selected-members", HTMLUListElement);
  private readonly error = byId("group-error", HTMLElement);
  private readonly create = byId("group-create", HTMLButtonElement);
  private readonly onCreated: (conversation: ConversationView) => void;
  private readonly selected = new Map<string, User>();
  private found: User[] = [];
  private meId: string | null = null;
  private generation = 0;
  private readonly runSearch = debounce((query: string) => void this.searchUsers(query), DEBOUNCE_MS);

  constructor(onCreated: (conversation: ConversationView) => void) {
    this.onCreated = onCreated;
    this.search.addEventListener("input", () => {
      this.generation += 1;
      const query = this.search.value.trim();
      if (query === "") {
        this.runSearch.cancel();
        this.found = [];
        this.renderResults();
      } else {
        this.runSearch(query);
      }
    });
    this.search.addEventListener("keydown", (event) => {
      // Enter picks the first match instead of submitting the form.
      if (event.key === "Enter") {
        event.preventDefault();
        const first = this.found.find((user) => !this.selected.has(user.id));
        if (first !== undefined) {
          this.add(first);
        }
      }
    });
    this.results.addEventListener("click", (event) => {
      const button = event.target instanceof Element ? event.target.closest<HTMLElement>("[data-user-id]") : null;
      const user = this.found.find((candidate) => candidate.id === button?.dataset["userId"]);
      if (user !== undefined) {
        this.add(user);
      }
    });
    this.selectedList.addEventListener("click", (event) => {
      const button = event.target instanceof Element ? event.target.closest<HTMLElement>("[data-remove-user-id]") : null;
      const id = button?.dataset["removeUserId"];
      if (id !== undefined) {
        this.selected.delete(id);
        this.renderSelected();
        this.renderResults();
        this.search.focus();
      }
    });
    byId("new-group-form", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      void this.submit();
    });
    byId("group-cancel", HTMLButtonElement).addEventListener("click", () => this.dialog.close());
  }

  open(meId: string | null): void {
    this.meId = meId;
    this.generation += 1;
    this.runSearch.cancel();
    this.selected.clear();
    this.found = [];
    this.name.value = "";
    this.search.value = "";
    this.setError("");
    this.create.disabled = false;
    this.renderSelected();
    this.renderResults();
    this.dialog.showModal();
    this.name.focus();
  }

  close(): void {
    if (this.dialog.open) {
      this.dialog.close();
    }
  }

  private async searchUsers(query: string): Promise<void> {
    const generation = this.generation;
    try {
      const users = await commands.searchUsers(query);
      if (generation === this.generation) {
        this.found = users.filter((user) => user.id !== this.meId);
        this.setError("");
        this.renderResults();
      }
    } catch (error: unknown) {
      if (generation === this.generation) {
        this.setError(errorMessage(error));
      }
    }
  }

  private add(user: User): void {
    this.selected.set(user.id, user);
    this.search.value = "";
    this.found = [];
    this.renderSelected();
    this.renderResults();
    this.search.focus();
  }

  private renderResults(): void {
    const items = this.found
      .filter((user) => !this.selected.has(user.id))
      .map((user) =>
        h(
          "li",
          {},
          h(
            "button",
            { class: "member-option", attrs: { type: "button" }, dataset: { userId: user.id } },
            avatarElement(user.display_name, user.avatar_url, user.id, "small"),
            h("span", { class: "member-name", text: user.display_name }),
            h("span", { class: "member-username", text: `@${user.username}` }),
          ),
        ),
      );
    this.results.replaceChildren(...items);
    show(this.results, items.length > 0);
  }

  private renderSelected(): void {
    const chips = [...this.selected.values()].map((user) =>
      h(
        "li",
        { class: "member-chip", dataset: { userId: user.id } },
        h("span", { text: user.display_name }),
        h("button", {
          class: "chip-remove",
          text: "×",
          attrs: { type: "button", "aria-label": `Remove ${user.display_name}` },
          dataset: { removeUserId: user.id },
        }),
      ),
    );
    this.selectedList.replaceChildren(...chips);
    show(this.selectedList, chips.length > 0);
  }

  private async submit(): Promise<void> {
    const name = this.name.value.trim();
    if (name === "") {
      this.setError("Enter a name for the group.");
      this.name.focus();
      return;
    }
    this.create.disabled = true;
    this.setError("");
    try {
      const conversation = await commands.createGroup(name, [...this.selected.keys()]);
      this.dialog.close();
      this.onCreated(conversation);
    } catch (error: unknown) {
      this.setError(errorMessage(error));
      this.create.disabled = false;
    }
  }

  private setError(text: string): void {
    setText(this.error, text);
    show(this.error, text !== "");
  }
}
