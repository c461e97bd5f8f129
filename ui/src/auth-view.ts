// The screens before signing in: choosing the server, then signing in or up. Every form hands
// the AppState that Rust answers with to `onState`, which decides what is shown next.

import { byId, setText, show } from "./dom";
import { commands, errorField, errorMessage, type AppState } from "./ipc";
import { DEFAULT_SERVER_URL, parseServerUrl } from "./server-url";

type StateSink = (state: AppState) => void;

/** Where a form shows its failures: next to a field when one is named, else for the form. */
type ErrorSink = (failure: unknown) => void;

/** Runs a command with the form's button disabled; hands a failure to `onError`. */
async function submitWith(
  button: HTMLButtonElement,
  busyLabel: string,
  onError: ErrorSink,
  run: () => Promise<AppState>,
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
  show(state: AppState, canGoBack: boolean): void {
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
  // Sign-in failures are about the pair (a wrong password does not say which): the form's.
  private readonly signInErrors = new FormErrors(byId("sign-in-error", HTMLElement), new Map());
  private readonly signUpErrors = new FormErrors(
    byId("sign-up-error", HTMLElement),
    new Map([
      ["username", { input: this.signUpUsername, error: byId("signup-username-error", HTMLElement) }],
      ["display_name", { input: this.signUpDisplayName, error: byId("signup-display-name-error", HTMLElement) }],
      ["password", { input: this.signUpPassword, error: byId("signup-password-error", HTMLElement) }],
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
      void submitWith(
        signIn,
        "Signing in…",
        (failure) => this.signInErrors.failed(failure),
        () => commands.signIn(this.username.value.trim(), this.password.value),
        onState,
      );
    });
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
      void submitWith(
        signUp,
        "Creating account…",
        (failure) => this.signUpErrors.failed(failure),
        () => commands.signUp(this.signUpUsername.value.trim(), displayName, this.signUpPassword.value),
        onState,
      );
    });
    byId("show-sign-up", HTMLButtonElement).addEventListener("click", () => this.setMode("sign-up"));
    byId("show-sign-in", HTMLButtonElement).addEventListener("click", () => this.setMode("sign-in"));
    byId("change-server", HTMLButtonElement).addEventListener("click", onChangeServer);
  }

  show(state: AppState): void {
    const wasHidden = this.screen.hidden;
    setText(this.server, state.server_url ?? "");
    show(this.screen, true);
    if (wasHidden) {
      // Passwords never outlive the screen.
      this.password.value = "";
      this.signUpPassword.value = "";
      this.setMode("sign-in");
    }
  }

  hide(): void {
    show(this.screen, false);
  }

  private setMode(mode: "sign-in" | "sign-up"): void {
    const signingUp = mode === "sign-up";
    show(this.signInForm, !signingUp);
    show(this.signUpForm, signingUp);
    setText(this.heading, signingUp ? "Create your account" : "Sign in");
    this.signInErrors.clear();
    this.signUpErrors.clear();
    (signingUp ? this.signUpUsername : this.username).focus();
  }
}
