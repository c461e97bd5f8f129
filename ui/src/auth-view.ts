// The screens before signing in: choosing the server, then signing in or up. Every form hands
// the AppStateView that Rust answers with to `onState`, which decides what is shown next.

import { accountCommands } from "./account-ipc";
import { byId, setText, show } from "./dom";
import { commands, errorField, errorMessage, isIpcError, type AppStateView, type SignupMode } from "./ipc";
import { DEFAULT_SERVER_URL, parseServerUrl } from "./server-url";

type StateSink = (state: AppStateView) => void;

/** Where a form shows its failures: next to a field when one is named, else for the form. */
type ErrorSink = (failure: unknown) => void;

/** Runs a command with the form's button disabled; hands a failure to `onError`. */
async function submitWith(
  button: HTMLButtonElement,
  busyLabel: string,
  onError: ErrorSink,
  run: () => Promise<AppStateView>,
  onState: StateSink,
): Promise<void> {
  const label = button.textContent ?? "";
  button.disabled = true;
  setText(button, busyLabel);
  try {
    onState(await run());
  } catch (failure: unknown) {
    onError(failure);
  } finally {
    button.disabled = false;
    setText(button, label);
  }
}

function setError(element: HTMLElement, text: string): void {
  setText(element, text);
  show(element, text !== "");
}

/** A form's inputs by the request field they fill, each with the error shown under it. */
class FormErrors {
  private readonly general: HTMLElement;
  private readonly fields: ReadonlyMap<string, { input: HTMLInputElement; error: HTMLElement }>;

  constructor(general: HTMLElement, fields: ReadonlyMap<string, { input: HTMLInputElement; error: HTMLElement }>) {
    this.general = general;
    this.fields = fields;
  }

  clear(): void {
    setError(this.general, "");
    for (const { input, error } of this.fields.values()) {
      setError(error, "");
      input.removeAttribute("aria-invalid");
    }
  }

  /** Shows `text` next to `field` (focusing it), or for the whole form when it has no such field. */
  show(field: string | null, text: string): void {
    this.clear();
    const target = field === null ? undefined : this.fields.get(field);
    if (target === undefined) {
      setError(this.general, text);
      return;
    }
    setError(target.error, text);
    target.input.setAttribute("aria-invalid", "true");
    target.input.focus();
  }

  failed(failure: unknown): void {
    this.show(errorField(failure), errorMessage(failure));
  }
}

export class ServerView {
  private readonly screen = byId("screen-server", HTMLElement);
  private readonly input = byId("server-url", HTMLInputElement);
  private readonly error = byId("server-error", HTMLElement);
  private readonly back = byId("server-back", HTMLButtonElement);

  constructor(onState: StateSink, onBack: () => void) {
    const button = byId("server-connect", HTMLButtonElement);
    byId("connect-form", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      const parsed = parseServerUrl(this.input.value);
      if (!parsed.ok) {
        setError(this.error, parsed.error);
        this.input.focus();
        return;
      }
      setError(this.error, "");
      void submitWith(
        button,
        "Connecting…",
        (failure) => setError(this.error, errorMessage(failure)),
        () => commands.chooseServer(this.input.value.trim()),
        onState,
      );
    });
    this.back.addEventListener("click", onBack);
  }

  /** `canGoBack`: a server is already chosen and the user may return to signing in. */
  show(state: AppStateView, canGoBack: boolean): void {
    const wasHidden = this.screen.hidden;
    show(this.screen, true);
    show(this.back, canGoBack);
    if (wasHidden) {
      this.input.value = state.server_url ?? DEFAULT_SERVER_URL;
      setError(this.error, "");
      this.input.focus();
    }
  }

  hide(): void {
    show(this.screen, false);
  }
}

export class AuthView {
  private readonly screen = byId("screen-auth", HTMLElement);
  private readonly server = byId("auth-server", HTMLElement);
  private readonly signInForm = byId("sign-in-form", HTMLFormElement);
  private readonly signUpForm = byId("sign-up-form", HTMLFormElement);
  private readonly heading = byId("auth-heading", HTMLElement);
  private readonly username = byId("username", HTMLInputElement);
  private readonly password = byId("password", HTMLInputElement);
  private readonly signUpUsername = byId("signup-username", HTMLInputElement);
  private readonly signUpDisplayName = byId("signup-display-name", HTMLInputElement);
  private readonly signUpPassword = byId("signup-password", HTMLInputElement);
  private readonly signUpInvite = byId("signup-invite", HTMLInputElement);
  private readonly inviteRow = byId("signup-invite-row", HTMLElement);
  private readonly inviteHint = byId("signup-invite-hint", HTMLElement);
  private readonly signUpClosed = byId("signup-closed", HTMLElement);
  private readonly signUpButton = byId("sign-up", HTMLButtonElement);
  private readonly totpRow = byId("totp-row", HTMLElement);
  private readonly totpCode = byId("totp-code", HTMLInputElement);
  private readonly signInNote = byId("sign-in-note", HTMLElement);
  private readonly resetForm = byId("reset-form", HTMLFormElement);
  private readonly resetCode = byId("reset-code", HTMLInputElement);
  private readonly resetPassword = byId("reset-password", HTMLInputElement);
  // Sign-in failures are about the pair (a wrong password does not say which): the form's,
  // except the second factor's.
  private readonly signInErrors = new FormErrors(
    byId("sign-in-error", HTMLElement),
    new Map([["totp_code", { input: this.totpCode, error: byId("sign-in-error", HTMLElement) }]]),
  );
  private readonly resetErrors = new FormErrors(
    byId("reset-error", HTMLElement),
    new Map([["new_password", { input: this.resetPassword, error: byId("reset-password-error", HTMLElement) }]]),
  );
  /** An invite that came with a natter://invite link, put in the form when it shows. */
  private pendingInvite: string | null = null;
  private readonly signUpErrors = new FormErrors(
    byId("sign-up-error", HTMLElement),
    new Map([
      ["username", { input: this.signUpUsername, error: byId("signup-username-error", HTMLElement) }],
      ["display_name", { input: this.signUpDisplayName, error: byId("signup-display-name-error", HTMLElement) }],
      ["password", { input: this.signUpPassword, error: byId("signup-password-error", HTMLElement) }],
      ["invite_code", { input: this.signUpInvite, error: byId("signup-invite-error", HTMLElement) }],
    ]),
  );

  constructor(onState: StateSink, onChangeServer: () => void) {
    const signIn = byId("sign-in", HTMLButtonElement);
    const signUp = byId("sign-up", HTMLButtonElement);
    this.signInForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.username.value.trim() === "" || this.password.value === "") {
        this.signInErrors.show(null, "Enter your username and password.");
        return;
      }
      this.signInErrors.clear();
      setError(this.signInNote, "");
      const totp = this.totpRow.hidden ? null : this.totpCode.value.trim();
      void submitWith(
        signIn,
        "Signing in…",
        (failure) => {
          if (isIpcError(failure) && failure.code === "totp_required") {
            // The password was right: the account also asks for its second factor.
            show(this.totpRow, true);
            this.signInErrors.show("totp_code", "Enter the code from your authenticator app.");
            return;
          }
          this.signInErrors.failed(failure);
        },
        () => commands.signIn(this.username.value.trim(), this.password.value, totp),
        onState,
      );
    });
    this.resetForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.resetCode.value.trim() === "" || this.resetPassword.value === "") {
        this.resetErrors.show(null, "Enter the reset code and a new password.");
        return;
      }
      this.resetErrors.clear();
      void submitWith(
        byId("reset-submit", HTMLButtonElement),
        "Setting password…",
        (failure) => this.resetErrors.failed(failure),
        async () => {
          await accountCommands.resetPassword(this.resetCode.value.trim(), this.resetPassword.value);
          return commands.appState();
        },
        (state) => {
          this.resetPassword.value = "";
          this.resetCode.value = "";
          this.setMode("sign-in");
          setError(this.signInNote, "Your new password is set. Sign in with it.");
          onState(state);
        },
      );
    });
    byId("show-reset", HTMLButtonElement).addEventListener("click", () => this.setMode("reset"));
    byId("reset-back", HTMLButtonElement).addEventListener("click", () => this.setMode("sign-in"));
    this.signUpForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.signUpUsername.value.trim() === "") {
        this.signUpErrors.show("username", "Choose a username.");
        return;
      }
      if (this.signUpPassword.value === "") {
        this.signUpErrors.show("password", "Choose a password.");
        return;
      }
      this.signUpErrors.clear();
      // A blank display name is sent blank: Rust uses the username for it.
      const displayName = this.signUpDisplayName.value.trim();
      const invite = this.signUpInvite.value.trim();
      void submitWith(
        signUp,
        "Creating account…",
        (failure) => this.signUpErrors.failed(failure),
        () =>
          commands.signUp(
            this.signUpUsername.value.trim(),
            displayName,
            this.signUpPassword.value,
            invite === "" ? null : invite,
          ),
        onState,
      );
    });
    byId("show-sign-up", HTMLButtonElement).addEventListener("click", () => this.setMode("sign-up"));
    byId("show-sign-in", HTMLButtonElement).addEventListener("click", () => this.setMode("sign-in"));
    byId("change-server", HTMLButtonElement).addEventListener("click", onChangeServer);
  }

  show(state: AppStateView): void {
    const wasHidden = this.screen.hidden;
    setText(this.server, state.server_url ?? "");
    show(this.screen, true);
    if (wasHidden) {
      // Passwords and codes never outlive the screen.
      this.password.value = "";
      this.signUpPassword.value = "";
      this.totpCode.value = "";
      this.resetPassword.value = "";
      show(this.totpRow, false);
      setError(this.signInNote, "");
      this.setMode(this.pendingInvite === null ? "sign-in" : "sign-up");
      void this.learnSignupMode();
    }
  }

  /** Opens the sign-up form with an invite (from a natter://invite link). */
  offerInvite(code: string): void {
    this.pendingInvite = code;
    if (!this.screen.hidden) {
      this.setMode("sign-up");
    }
  }

  /** Shapes the sign-up form after what the server allows. */
  private async learnSignupMode(): Promise<void> {
    let mode: SignupMode = "invite";
    try {
      mode = (await accountCommands.serverInfo()).signup;
    } catch {
      // An older server, or not reachable now: offer the field, the server will say.
    }
    show(this.inviteRow, mode !== "closed");
    setText(this.inviteHint, mode === "open" ? "(optional)" : "(the code or link you were given)");
    show(this.signUpClosed, mode === "closed");
    this.signUpButton.disabled = mode === "closed";
    show(byId("sign-up-switch", HTMLElement), true);
  }

  hide(): void {
    show(this.screen, false);
  }

  private setMode(mode: "sign-in" | "sign-up" | "reset"): void {
    show(this.signInForm, mode === "sign-in");
    show(this.signUpForm, mode === "sign-up");
    show(this.resetForm, mode === "reset");
    const headings = { "sign-in": "Sign in", "sign-up": "Create your account", reset: "Reset your password" };
    setText(this.heading, headings[mode]);
    this.signInErrors.clear();
    this.signUpErrors.clear();
    this.resetErrors.clear();
    if (mode === "sign-up" && this.pendingInvite !== null) {
      this.signUpInvite.value = this.pendingInvite;
      this.pendingInvite = null;
    }
    const focus = { "sign-in": this.username, "sign-up": this.signUpUsername, reset: this.resetCode };
    focus[mode].focus();
  }
}
