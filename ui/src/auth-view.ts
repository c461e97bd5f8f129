// The screens before signing in: choosing the server, then signing in or up. Every form hands
// the AppState that Rust answers with to `onState`, which decides what is shown next.

import { byId, setText, show } from "./dom";
import { commands, errorMessage, type AppState } from "./ipc";
import { DEFAULT_SERVER_URL, parseServerUrl } from "./server-url";

type StateSink = (state: AppState) => void;

/** Runs a command with the form's button disabled; shows a failure in `error`. */
async function submitWith(
  button: HTMLButtonElement,
  busyLabel: string,
  error: HTMLElement,
  run: () => Promise<AppState>,
  onState: StateSink,
): Promise<void> {
  const label = button.textContent ?? "";
  button.disabled = true;
  setText(button, busyLabel);
  setError(error, "");
  try {
    onState(await run());
  } catch (failure: unknown) {
    setError(error, errorMessage(failure));
  } finally {
    button.disabled = false;
    setText(button, label);
  }
}

function setError(element: HTMLElement, text: string): void {
  setText(element, text);
  show(element, text !== "");
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
      void submitWith(button, "Connecting…", this.error, () => commands.chooseServer(this.input.value.trim()), onState);
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
  private readonly error = byId("auth-error", HTMLElement);
  private readonly username = byId("username", HTMLInputElement);
  private readonly password = byId("password", HTMLInputElement);
  private readonly signUpUsername = byId("signup-username", HTMLInputElement);
  private readonly signUpDisplayName = byId("signup-display-name", HTMLInputElement);
  private readonly signUpPassword = byId("signup-password", HTMLInputElement);

  constructor(onState: StateSink, onChangeServer: () => void) {
    const signIn = byId("sign-in", HTMLButtonElement);
    const signUp = byId("sign-up", HTMLButtonElement);
    this.signInForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.username.value.trim() === "" || this.password.value === "") {
        setError(this.error, "Enter your username and password.");
        return;
      }
      void submitWith(
        signIn,
        "Signing in…",
        this.error,
        () => commands.signIn(this.username.value.trim(), this.password.value),
        onState,
      );
    });
    this.signUpForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.signUpUsername.value.trim() === "" || this.signUpPassword.value === "") {
        setError(this.error, "Choose a username and a password.");
        return;
      }
      const displayName = this.signUpDisplayName.value.trim();
      void submitWith(
        signUp,
        "Creating account…",
        this.error,
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
    setError(this.error, "");
    (signingUp ? this.signUpUsername : this.username).focus();
  }
}
