// The admin dialog, shown only to admins: users (search, promote, disable, reset password,
// delete), every invite, open reports, the audit log and the server's figures. The server
// decides who is an admin; to anyone else these commands answer "not found".

import { accountCommands, adminCommands } from "./account-ipc";
import { confirmAction } from "./confirm-dialog";
import { byId, debounce, h, setText, show } from "./dom";
import { fullDateTime, relativeTime } from "./format";
import { errorMessage, type AdminUser, type AuditEntry, type Invite, type JsonValue, type Report } from "./ipc";

type Tab = "users" | "invites" | "reports" | "audit" | "stats";

const TABS: readonly { tab: Tab; label: string }[] = [
  { tab: "users", label: "Users" },
  { tab: "invites", label: "Invites" },
  { tab: "reports", label: "Reports" },
  { tab: "audit", label: "Audit log" },
  { tab: "stats", label: "Server" },
];

function actionButton(text: string, testId: string, danger = false): HTMLButtonElement {
  return h("button", {
    class: danger ? "secondary danger" : "secondary",
    text,
    attrs: { type: "button" },
    dataset: { testid: testId },
  });
}

export class AdminDialog {
  private readonly dialog = byId("admin-dialog", HTMLDialogElement);
  private readonly tabs = byId("admin-tabs", HTMLElement);
  private readonly panel = byId("admin-panel", HTMLElement);
  private readonly status = byId("admin-status", HTMLElement);
  private current: Tab = "users";
  /** Increases on every tab change: answers for an earlier tab are dropped. */
  private generation = 0;

  constructor() {
    byId("admin-close", HTMLButtonElement).addEventListener("click", () => this.dialog.close());
    this.tabs.replaceChildren(
      ...TABS.map(({ tab, label }) => {
        const button = h("button", {
          class: "tab",
          text: label,
          attrs: { type: "button", role: "tab", "aria-selected": "false" },
          dataset: { testid: `admin-tab-${tab}`, tab },
        });
        button.addEventListener("click", () => void this.show(tab));
        return button;
      }),
    );
    this.dialog.addEventListener("close", () => this.panel.replaceChildren());
  }

  async open(): Promise<void> {
    this.dialog.showModal();
    await this.show("users");
  }

  close(): void {
    if (this.dialog.open) {
      this.dialog.close();
    }
  }

  private say(text: string, failed = false): void {
    setText(this.status, text);
    this.status.classList.toggle("form-error", failed);
    show(this.status, text !== "");
  }

  private async show(tab: Tab): Promise<void> {
    this.current = tab;
    const generation = ++this.generation;
    for (const button of this.tabs.querySelectorAll<HTMLElement>("[role=tab]")) {
      button.setAttribute("aria-selected", String(button.dataset["tab"] === tab));
    }
    this.say("");
    this.panel.replaceChildren(h("p", { class: "form-note", text: "Loading…" }));
    try {
      const content = await this.build(tab);
      if (generation === this.generation) {
        this.panel.replaceChildren(...content);
      }
    } catch (error: unknown) {
      if (generation === this.generation) {
        this.panel.replaceChildren();
        this.say(errorMessage(error), true);
      }
    }
  }

  private build(tab: Tab): Promise<Node[]> {
    switch (tab) {
      case "users":
        return this.users();
      case "invites":
        return this.invites();
      case "reports":
        return this.reports();
      case "audit":
        return this.audit();
      case "stats":
        return this.stats();
    }
  }

  /** Runs an admin action and redraws the current tab; a refusal is said plainly. */
  private async act(action: () => Promise<string | null>): Promise<void> {
    try {
      const done = await action();
      const tab = this.current;
      await this.show(tab);
      if (done !== null) {
        this.say(done);
      }
    } catch (error: unknown) {
      this.say(errorMessage(error), true);
    }
  }

  // --- users ------------------------------------------------------------------------------------

  private async users(): Promise<Node[]> {
    const search = h("input", {
      attrs: { type: "search", placeholder: "Search by username or name", "aria-label": "Search users" },
      dataset: { testid: "admin-user-search" },
    });
    const list = h("ul", { class: "account-list", dataset: { testid: "admin-user-list" } });
    const more = actionButton("Load more", "admin-users-more");
    let cursor: string | null = null;
    const load = async (append: boolean): Promise<void> => {
      const page = await adminCommands.users(search.value.trim(), append ? cursor : null);
      cursor = page.next_cursor;
      const rows = page.users.map((user) => this.userRow(user));
      if (append) {
        list.append(...rows);
      } else {
        list.replaceChildren(...rows);
      }
      show(more, cursor !== null);
    };
    const reload = debounce(() => {
      load(false).catch((error: unknown) => this.say(errorMessage(error), true));
    }, 250);
    search.addEventListener("input", () => reload());
    more.addEventListener("click", () => {
      load(true).catch((error: unknown) => this.say(errorMessage(error), true));
    });
    await load(false);
    return [search, list, more];
  }

  private userRow(user: AdminUser): HTMLElement {
    const facts = [
      user.is_admin ? "admin" : null,
      user.disabled ? "disabled" : null,
      user.totp_enabled ? "two-factor" : null,
      user.online ? "online" : user.last_seen_at !== null ? `seen ${relativeTime(user.last_seen_at)}` : null,
      `${user.sessions} device${user.sessions === 1 ? "" : "s"}`,
    ].filter((fact): fact is string => fact !== null);
    const promote = actionButton(user.is_admin ? "Remove admin" : "Make admin", "admin-toggle-admin");
    promote.addEventListener("click", () => {
      void this.act(async () => {
        await adminCommands.updateUser(user.id, { isAdmin: !user.is_admin });
        return null;
      });
    });
    const disable = actionButton(user.disabled ? "Enable" : "Disable", "admin-toggle-disabled", !user.disabled);
    disable.addEventListener("click", () => {
      void this.act(async () => {
        if (!user.disabled) {
          const sure = await confirmAction({
            title: `Disable ${user.username}?`,
            text: "They are signed out everywhere at once and cannot sign in until enabled again.",
            confirmLabel: "Disable",
            danger: true,
          });
          if (!sure) {
            return null;
          }
        }
        await adminCommands.updateUser(user.id, { disabled: !user.disabled });
        return null;
      });
    });
    const reset = actionButton("Reset password", "admin-reset-password");
    reset.addEventListener("click", () => {
      void this.act(async () => {
        const code = await adminCommands.resetPassword(user.id);
        return `Reset code for ${user.username}: ${code.code} (valid until ${fullDateTime(code.expires_at)}). Give it to them privately; they enter it under \u201cForgot password?\u201d.`;
      });
    });
    const twoFactor = actionButton("Turn off two-factor", "admin-reset-two-factor");
    twoFactor.hidden = !user.totp_enabled;
    twoFactor.addEventListener("click", () => {
      void this.act(async () => {
        const sure = await confirmAction({
          title: `Turn off two-factor sign-in for ${user.username}?`,
          text: "For someone who lost their phone and their recovery codes: make sure it is them first. They then sign in with their password alone.",
          confirmLabel: "Turn off",
          danger: true,
        });
        if (!sure) {
          return null;
        }
        await adminCommands.resetTwoFactor(user.id);
        return `${user.username} signs in with the password alone now.`;
      });
    });
    const remove = actionButton("Delete", "admin-delete-user", true);
    remove.addEventListener("click", () => {
      void this.act(async () => {
        const sure = await confirmAction({
          title: `Delete ${user.username}?`,
          text: "The account is removed and signed out everywhere; its messages stay, shown as from \u201cDeleted account\u201d. This cannot be undone.",
          confirmLabel: "Delete",
          danger: true,
        });
        if (!sure) {
          return null;
        }
        await adminCommands.deleteUser(user.id);
        return `${user.username} is deleted.`;
      });
    });
    return h(
      "li",
      { class: "account-row", dataset: { testid: "admin-user-row", username: user.username } },
      h(
        "div",
        { class: "account-row-text" },
        h("span", { class: "account-row-title", text: `${user.display_name} (@${user.username})` }),
        h("span", { class: "hint", text: facts.join(" · ") }),
      ),
      h("div", { class: "row-actions" }, promote, disable, reset, twoFactor, remove),
    );
  }

  // --- invites ----------------------------------------------------------------------------------

  private async invites(): Promise<Node[]> {
    const invites = await adminCommands.invites();
    const create = actionButton("Create a one-use invite (7 days)", "admin-invite-create");
    create.addEventListener("click", () => {
      void this.act(async () => {
        const invite = await accountCommands.createInvite(1, 168, "");
        return `Invite code: ${invite.code} · link: ${invite.link}`;
      });
    });
    return [create, h("ul", { class: "account-list" }, ...invites.map((invite) => this.inviteRow(invite)))];
  }

  private inviteRow(invite: Invite): HTMLElement {
    const usable = !invite.revoked && invite.uses < invite.max_uses && invite.expires_at > Date.now();
    const row = h(
      "li",
      { class: "account-row" },
      h(
        "div",
        { class: "account-row-text" },
        h("span", { class: "account-row-title", text: `${invite.code_hint}… ${invite.note}`.trim() }),
        h("span", {
          class: "hint",
          text: `${invite.uses} of ${invite.max_uses} used · ${invite.revoked ? "revoked" : `expires ${fullDateTime(invite.expires_at)}`}`,
        }),
      ),
    );
    if (usable) {
      const revoke = actionButton("Revoke", "admin-invite-revoke");
      revoke.addEventListener("click", () => {
        void this.act(async () => {
          await accountCommands.revokeInvite(invite.id);
          return null;
        });
      });
      row.appendChild(revoke);
    }
    return row;
  }

  // --- reports, audit, stats --------------------------------------------------------------------

  private async reports(): Promise<Node[]> {
    const reports = await adminCommands.reports(true);
    if (reports.length === 0) {
      return [h("p", { class: "form-note", text: "No open reports." })];
    }
    return [h("ul", { class: "account-list", dataset: { testid: "admin-reports" } }, ...reports.map((report) => this.reportRow(report)))];
  }

  private reportRow(report: Report): HTMLElement {
    const resolve = actionButton("Mark handled", "admin-report-resolve");
    resolve.addEventListener("click", () => {
      void this.act(async () => {
        await adminCommands.resolveReport(report.id);
        return null;
      });
    });
    return h(
      "li",
      { class: "account-row" },
      h(
        "div",
        { class: "account-row-text" },
        h("span", { class: "account-row-title", text: `@${report.sender_username}: \u201c${report.message_body}\u201d` }),
        h("span", { class: "hint", text: `Reported by @${report.reporter_username} ${relativeTime(report.created_at)}: ${report.reason}` }),
      ),
      resolve,
    );
  }

  private async audit(): Promise<Node[]> {
    const list = h("ul", { class: "account-list audit-list", dataset: { testid: "admin-audit" } });
    const more = actionButton("Load more", "admin-audit-more");
    let cursor: string | null = null;
    const load = async (): Promise<void> => {
      const page = await adminCommands.audit(cursor);
      cursor = page.next_cursor;
      list.append(...page.entries.map((entry) => this.auditRow(entry)));
      show(more, cursor !== null);
    };
    more.addEventListener("click", () => {
      load().catch((error: unknown) => this.say(errorMessage(error), true));
    });
    await load();
    return [list, more];
  }

  private auditRow(entry: AuditEntry): HTMLElement {
    const shown = (value: JsonValue | undefined): string =>
      typeof value === "string" ? value : JSON.stringify(value ?? null);
    // The server writes an object, but the type allows any JSON: show anything else as it is.
    const detail =
      entry.detail === null
        ? ""
        : typeof entry.detail === "object" && !Array.isArray(entry.detail)
          ? Object.entries(entry.detail)
              .map(([key, value]) => `${key}: ${shown(value)}`)
              .join(", ")
          : shown(entry.detail);
    return h(
      "li",
      { class: "account-row" },
      h(
        "div",
        { class: "account-row-text" },
        h("span", { class: "account-row-title", text: `${entry.actor_name} · ${entry.action}` }),
        h("span", { class: "hint", text: `${fullDateTime(entry.at)}${detail === "" ? "" : ` · ${detail}`}` }),
      ),
    );
  }

  private async stats(): Promise<Node[]> {
    const stats = await adminCommands.stats();
    const rows: [string, string][] = [
      ["Sign-up", stats.signup],
      ["Accounts", `${stats.users} (${stats.admins} admin, ${stats.disabled_users} disabled)`],
      ["Online now", `${stats.users_online} people, ${stats.connections} connections`],
      ["Signed-in devices", String(stats.sessions)],
      ["Conversations", String(stats.conversations)],
      ["Messages", String(stats.messages)],
      ["Open reports", String(stats.open_reports)],
      ["Version", stats.version],
      ["Up for", `${Math.floor(stats.uptime_seconds / 3600)} h ${Math.floor((stats.uptime_seconds % 3600) / 60)} min`],
    ];
    return [
      h(
        "dl",
        { class: "stats-list", dataset: { testid: "admin-stats" } },
        ...rows.flatMap(([term, value]) => [h("dt", { text: term }), h("dd", { text: value })]),
      ),
    ];
  }
}
