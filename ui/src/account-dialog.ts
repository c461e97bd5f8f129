// The account dialog: my signed-in devices, password, two-factor sign-in, invites, blocked
// people, my data and deleting the account. Built here from the answers of Rust; every rule
// (who may invite, what a code must be) is the server's, and its refusals are shown as they are.

import { accountCommands } from "./account-ipc";
import { confirmAction } from "./confirm-dialog";
import { byId, h, setText, show } from "./dom";
import { fullDateTime, relativeTime } from "./format";
import {
  errorMessage,
  type AccountInfo,
  type AppStateView,
  type CreatedInviteView,
  type Invite,
  type SessionInfo,
  type User,
} from "./ipc";

type Options = {
  /** After deleting the account: the signed-out state. */
  onState: (state: AppStateView) => void;
};

/** A section's status line: what just happened, or why it failed. */
class StatusLine {
  readonly element = h("p", { class: "form-note", attrs: { role: "status" } });

  constructor() {
    show(this.element, false);
  }

  set(text: string, failed = false): void {
    setText(this.element, text);
    this.element.classList.toggle("form-error", failed);
    show(this.element, text !== "");
  }

  failed(error: unknown): void {
    this.set(errorMessage(error), true);
  }
}

function section(title: string, testId: string, ...children: Node[]): HTMLElement {
  return h("section", { class: "account-section stack", dataset: { testid: testId } }, h("h3", { text: title }), ...children);
}

function button(text: string, testId: string, kind: "primary" | "secondary" | "danger" = "secondary"): HTMLButtonElement {
  const classes = kind === "danger" ? "secondary danger" : kind;
  return h("button", { class: classes, text, attrs: { type: "button" }, dataset: { testid: testId } });
}

function labelled(label: string, input: HTMLInputElement | HTMLSelectElement): HTMLElement {
  const id = `account-${Math.random().toString(36).slice(2)}`;
  input.id = id;
  return h("div", { class: "stack" }, h("label", { text: label, attrs: { for: id } }), input);
}

function input(type: string, testId: string, autocomplete: string): HTMLInputElement {
  return h("input", { attrs: { type, autocomplete, spellcheck: "false" }, dataset: { testid: testId } });
}

/** Runs `action` with `trigger` disabled; reports a failure on `status`. */
async function busy(trigger: HTMLButtonElement, status: StatusLine, action: () => Promise<void>): Promise<void> {
  trigger.disabled = true;
  status.set("");
  try {
    await action();
  } catch (error: unknown) {
    status.failed(error);
  } finally {
    trigger.disabled = false;
  }
}

async function copy(text: string, status: StatusLine): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    status.set("Copied.");
  } catch {
    status.set("Copy it by hand: the clipboard is not available.", true);
  }
}

export class AccountDialog {
  private readonly dialog = byId("account-dialog", HTMLDialogElement);
  private readonly body = byId("account-dialog-body", HTMLElement);
  private readonly options: Options;
  private account: AccountInfo | null = null;
  /** Object URL of the two-factor QR code, revoked when replaced or closed. */
  private qrUrl: string | null = null;

  constructor(options: Options) {
    this.options = options;
    byId("account-close", HTMLButtonElement).addEventListener("click", () => this.dialog.close());
    this.dialog.addEventListener("close", () => {
      this.dropQr();
      this.body.replaceChildren();
    });
  }

  async open(): Promise<void> {
    this.body.replaceChildren(h("p", { class: "form-note", text: "Loading…" }));
    this.dialog.showModal();
    await this.render();
  }

  close(): void {
    if (this.dialog.open) {
      this.dialog.close();
    }
  }

  private async render(): Promise<void> {
    try {
      this.account = await accountCommands.account();
    } catch (error: unknown) {
      this.body.replaceChildren(h("p", { class: "form-error", text: errorMessage(error) }));
      return;
    }
    const account = this.account;
    this.body.replaceChildren(
      this.devices(),
      this.password(),
      this.twoFactor(account),
      ...(account.can_invite ? [this.invites()] : []),
      this.blocked(),
      this.data(),
      this.deletion(account),
    );
  }

  // --- signed-in devices ------------------------------------------------------------------------

  private devices(): HTMLElement {
    const list = h("ul", { class: "account-list", dataset: { testid: "session-list" } });
    const status = new StatusLine();
    const signOutOthers = button("Sign out all other devices", "sessions-revoke-others");
    const load = async (): Promise<void> => {
      const sessions = await accountCommands.sessions();
      list.replaceChildren(...sessions.map((session) => this.sessionRow(session, status, load)));
      signOutOthers.disabled = sessions.every((session) => session.current);
    };
    signOutOthers.addEventListener("click", () => {
      void busy(signOutOthers, status, async () => {
        const sure = await confirmAction({
          title: "Sign out all other devices?",
          text: "Every other device signed in to this account is signed out at once.",
          confirmLabel: "Sign out",
          danger: true,
        });
        if (sure) {
          await accountCommands.revokeOtherSessions();
          await load();
          status.set("Every other device is signed out.");
        }
      });
    });
    load().catch((error: unknown) => status.failed(error));
    return section("Signed-in devices", "account-devices", list, signOutOthers, status.element);
  }

  private sessionRow(session: SessionInfo, status: StatusLine, reload: () => Promise<void>): HTMLElement {
    const details = `Signed in ${fullDateTime(session.created_at)} · active ${relativeTime(session.last_used_at)}`;
    const row = h(
      "li",
      { class: "account-row", dataset: { testid: "session-row", sessionId: session.id } },
      h(
        "div",
        { class: "account-row-text" },
        h("span", { class: "account-row-title", text: session.device_name }),
        session.current ? h("span", { class: "tag", text: "This device" }) : null,
        h("span", { class: "hint", text: details }),
      ),
    );
    if (!session.current) {
      const revoke = button("Sign out", "session-revoke");
      revoke.addEventListener("click", () => {
        void busy(revoke, status, async () => {
          await accountCommands.revokeSession(session.id);
          await reload();
          status.set(`${session.device_name} is signed out.`);
        });
      });
      row.appendChild(revoke);
    }
    return row;
  }

  // --- password ---------------------------------------------------------------------------------

  private password(): HTMLElement {
    const current = input("password", "account-current-password", "current-password");
    const fresh = input("password", "account-new-password", "new-password");
    const others = h("input", { attrs: { type: "checkbox" }, dataset: { testid: "account-sign-out-others" } });
    const status = new StatusLine();
    const change = button("Change password", "account-change-password", "primary");
    change.addEventListener("click", () => {
      if (current.value === "" || fresh.value === "") {
        status.set("Enter your current password and a new one.", true);
        return;
      }
      void busy(change, status, async () => {
        await accountCommands.changePassword(current.value, fresh.value, others.checked);
        current.value = "";
        fresh.value = "";
        status.set(others.checked ? "Password changed; other devices are signed out." : "Password changed.");
        others.checked = false;
      });
    });
    return section(
      "Password",
      "account-password",
      labelled("Current password", current),
      labelled("New password", fresh),
      h("label", { class: "toggle" }, others, h("span", { text: "Sign out every other device" })),
      change,
      status.element,
    );
  }

  // --- two-factor sign-in -----------------------------------------------------------------------

  private twoFactor(account: AccountInfo): HTMLElement {
    const status = new StatusLine();
    const content = h("div", { class: "stack" });
    const container = section("Two-factor sign-in", "account-two-factor", content, status.element);
    if (account.totp_enabled) {
      const password = input("password", "totp-disable-password", "current-password");
      const code = input("text", "totp-disable-code", "one-time-code");
      const off = button("Turn off", "totp-disable", "danger");
      off.addEventListener("click", () => {
        void busy(off, status, async () => {
          await accountCommands.totpDisable(password.value, code.value.trim());
          await this.render();
        });
      });
      content.append(
        h("p", { text: "On: signing in asks for a code from your authenticator app." }),
        labelled("Password", password),
        labelled("Code from the app, or a recovery code", code),
        off,
      );
    } else {
      const start = button("Set up two-factor sign-in", "totp-setup", "primary");
      start.addEventListener("click", () => {
        void busy(start, status, async () => {
          const setup = await accountCommands.totpSetup();
          this.dropQr();
          this.qrUrl = URL.createObjectURL(new Blob([setup.qr_svg], { type: "image/svg+xml" }));
          const code = input("text", "totp-confirm-code", "one-time-code");
          code.inputMode = "numeric";
          const confirm = button("Turn on", "totp-confirm", "primary");
          confirm.addEventListener("click", () => {
            void busy(confirm, status, async () => {
              const recovery = await accountCommands.totpConfirm(code.value.trim());
              this.dropQr();
              content.replaceChildren(
                h("p", { text: "Two-factor sign-in is on. Keep these recovery codes somewhere safe: each signs in once if you lose your phone. They are not shown again." }),
                h("ul", { class: "recovery-codes", dataset: { testid: "recovery-codes" } }, ...recovery.map((one) => h("li", { text: one }))),
              );
              const done = button("Done", "totp-done", "primary");
              done.addEventListener("click", () => void this.render());
              content.append(done);
            });
          });
          content.replaceChildren(
            h("p", { text: "Scan this with your authenticator app (or type the key), then enter the code it shows." }),
            h("img", { class: "qr-code", attrs: { src: this.qrUrl, alt: "QR code for your authenticator app", width: "220", height: "220" } }),
            h("p", { class: "hint" }, "Key: ", h("code", { text: setup.secret, dataset: { testid: "totp-secret" } })),
            labelled("Code from the app", code),
            confirm,
          );
          code.focus();
        });
      });
      content.append(h("p", { text: "Off: signing in asks only for your password." }), start);
    }
    return container;
  }

  private dropQr(): void {
    if (this.qrUrl !== null) {
      URL.revokeObjectURL(this.qrUrl);
      this.qrUrl = null;
    }
  }

  // --- invites ----------------------------------------------------------------------------------

  private invites(): HTMLElement {
    const uses = h("input", { attrs: { type: "number", min: "1", max: "1000", value: "1" }, dataset: { testid: "invite-uses" } });
    const hours = h(
      "select",
      { dataset: { testid: "invite-expiry" } },
      h("option", { text: "1 day", attrs: { value: "24" } }),
      h("option", { text: "7 days", attrs: { value: "168", selected: "" } }),
      h("option", { text: "30 days", attrs: { value: "720" } }),
    );
    const note = input("text", "invite-note", "off");
    note.placeholder = "Who it is for (optional)";
    const status = new StatusLine();
    const created = h("div", { class: "stack" });
    const list = h("ul", { class: "account-list", dataset: { testid: "invite-list" } });
    const load = async (): Promise<void> => {
      const invites = await accountCommands.myInvites();
      list.replaceChildren(...invites.map((invite) => this.inviteRow(invite, status, load)));
    };
    const create = button("Create invite", "invite-create", "primary");
    create.addEventListener("click", () => {
      void busy(create, status, async () => {
        const invite = await accountCommands.createInvite(Number(uses.value), Number(hours.value), note.value.trim());
        created.replaceChildren(...this.createdInvite(invite, status));
        note.value = "";
        await load();
      });
    });
    load().catch((error: unknown) => status.failed(error));
    return section(
      "Invite someone",
      "account-invites",
      h("div", { class: "inline-fields" }, labelled("Uses", uses), labelled("Expires after", hours)),
      labelled("Note", note),
      create,
      created,
      status.element,
      list,
    );
  }

  private createdInvite(invite: CreatedInviteView, status: StatusLine): Node[] {
    const field = (value: string, testId: string): HTMLElement => {
      const box = h("input", { attrs: { type: "text", readonly: "", value }, dataset: { testid: testId } });
      const copyButton = button("Copy", `${testId}-copy`);
      copyButton.addEventListener("click", () => void copy(value, status));
      return h("div", { class: "select-row" }, box, copyButton);
    };
    return [
      h("p", { text: "Send the link (or the code) to the person you invite. It is shown only now." }),
      field(invite.code, "invite-code"),
      field(invite.link, "invite-link"),
    ];
  }

  private inviteRow(invite: Invite, status: StatusLine, reload: () => Promise<void>): HTMLElement {
    const expired = invite.expires_at <= Date.now();
    const state = invite.revoked
      ? "revoked"
      : invite.uses >= invite.max_uses
        ? "used up"
        : expired
          ? "expired"
          : `expires ${fullDateTime(invite.expires_at)}`;
    const row = h(
      "li",
      { class: "account-row" },
      h(
        "div",
        { class: "account-row-text" },
        h("span", { class: "account-row-title", text: `${invite.code_hint}… ${invite.note}`.trim() }),
        h("span", { class: "hint", text: `${invite.uses} of ${invite.max_uses} used · ${state}` }),
      ),
    );
    if (!invite.revoked && !expired && invite.uses < invite.max_uses) {
      const revoke = button("Revoke", "invite-revoke");
      revoke.addEventListener("click", () => {
        void busy(revoke, status, async () => {
          await accountCommands.revokeInvite(invite.id);
          await reload();
        });
      });
      row.appendChild(revoke);
    }
    return row;
  }

  // --- blocked people ---------------------------------------------------------------------------

  private blocked(): HTMLElement {
    const list = h("ul", { class: "account-list", dataset: { testid: "blocked-list" } });
    const status = new StatusLine();
    const load = async (): Promise<void> => {
      const users = await accountCommands.blockedUsers();
      list.replaceChildren(...users.map((user) => this.blockedRow(user, status, load)));
      if (users.length === 0) {
        list.appendChild(h("li", { class: "hint", text: "Nobody. Block someone from your conversation with them." }));
      }
    };
    load().catch((error: unknown) => status.failed(error));
    return section("Blocked people", "account-blocked", list, status.element);
  }

  private blockedRow(user: User, status: StatusLine, reload: () => Promise<void>): HTMLElement {
    const unblock = button("Unblock", "unblock-user");
    unblock.addEventListener("click", () => {
      void busy(unblock, status, async () => {
        await accountCommands.unblockUser(user.id);
        await reload();
      });
    });
    return h(
      "li",
      { class: "account-row" },
      h(
        "div",
        { class: "account-row-text" },
        h("span", { class: "account-row-title", text: user.display_name }),
        h("span", { class: "hint", text: `@${user.username}` }),
      ),
      unblock,
    );
  }

  // --- data and deletion ------------------------------------------------------------------------

  private data(): HTMLElement {
    const status = new StatusLine();
    const exportButton = button("Export my data", "export-data");
    exportButton.addEventListener("click", () => {
      void busy(exportButton, status, async () => {
        const path = await accountCommands.exportData();
        status.set(`Saved to ${path}`);
      });
    });
    return section(
      "Your data",
      "account-data",
      h("p", { class: "hint", text: "Your profile, conversations, the messages you sent and your calls, as a JSON file in your Downloads folder." }),
      exportButton,
      status.element,
    );
  }

  private deletion(account: AccountInfo): HTMLElement {
    const password = input("password", "delete-password", "current-password");
    const code = input("text", "delete-code", "one-time-code");
    const status = new StatusLine();
    const remove = button("Delete my account", "delete-account", "danger");
    remove.addEventListener("click", () => {
      void busy(remove, status, async () => {
        const sure = await confirmAction({
          title: "Delete your account?",
          text: "You are signed out everywhere, and your name, picture and profile are removed. The messages you sent stay in others' conversations, shown as from \u201cDeleted account\u201d. This cannot be undone.",
          confirmLabel: "Delete account",
          danger: true,
        });
        if (!sure) {
          return;
        }
        const state = await accountCommands.deleteAccount(password.value, account.totp_enabled ? code.value.trim() : null);
        this.close();
        this.options.onState(state);
      });
    });
    return section(
      "Delete account",
      "account-delete",
      labelled("Password", password),
      ...(account.totp_enabled ? [labelled("Two-factor code", code)] : []),
      remove,
      status.element,
    );
  }
}
