// Entry point: subscribes to Rust's events, asks for the AppStateView and shows the screen of its
// phase. Every later AppStateView (from a command or a natter://state event) goes through `render`.
// The same page also runs the incoming call window (index.html#call), which shows only that.

import { downloadChanged, uploadProgress } from "./attachments";
import { AuthView, ServerView } from "./auth-view";
import { confirmAction } from "./confirm-dialog";
import { ConnectionBanner, CredentialWarning, UpdateBanner } from "./banners";
import { byId, setText, show } from "./dom";
import { IncomingCallWindow } from "./incoming-window";
import { icon, type IconName } from "./icons";
import { getCurrentWindow } from "@tauri-apps/api/window";
import { commands, errorMessage, on, type AppStateView, type InviteOffer, type UpdateView } from "./ipc";
import { applyTheme } from "./theme";
import { Workspace } from "./workspace";
import "./style.css";

const ICONS: readonly IconName[] = [
  "paperclip",
  "download",
  "forward",
  "zoom-in",
  "zoom-out",
  "clock",
  "tick",
  "ticks",
  "alert",
  "more",
  "send",
  "search",
  "close",
  "back",
  "down",
  "group",
  "chat",
  "phone",
  "video",
  "speaker",
];

class App {
  private state: AppStateView | null = null;
  /** "Change server" was chosen on the sign-in screen; Rust is still in phase signed_out. */
  private changingServer = false;
  private readonly banner = new ConnectionBanner();
  private readonly warning = new CredentialWarning();
  private readonly updateBanner = new UpdateBanner();
  private readonly server: ServerView;
  private readonly auth: AuthView;
  private readonly workspace: Workspace;

  constructor() {
    const render = (state: AppStateView): void => this.render(state);
    this.server = new ServerView(
      (state) => {
        this.changingServer = false;
        render(state);
      },
      () => {
        this.changingServer = false;
        this.rerender();
      },
    );
    this.auth = new AuthView(render, () => {
      this.changingServer = true;
      this.rerender();
    });
    this.workspace = new Workspace(render);
  }

  async subscribe(): Promise<void> {
    const workspace = this.workspace;
    const results = await Promise.allSettled([
      on("natter://state", (state) => this.render(state)),
      on("natter://connection", (connection) => this.banner.update(connection)),
      on("natter://conversation", (conversation) => workspace.conversationChanged(conversation)),
      on("natter://conversation-removed", (removed) => workspace.conversationRemoved(removed)),
      on("natter://message", (message) => workspace.messageChanged(message)),
      on("natter://message-discarded", (discarded) => workspace.messageDiscarded(discarded)),
      on("natter://typing", (typing) => workspace.typingChanged(typing)),
      on("natter://presence", (presence) => workspace.presenceChanged(presence)),
      on("natter://open-conversation", (request) => {
        if (request.reload === true) {
          workspace.historyReloaded(request.conversation_id);
        } else {
          workspace.openRequested(request.conversation_id);
        }
      }),
      on("natter://offer-call", (offer) => void workspace.callOffered(offer)),
      on("natter://invite", (invite) => void this.inviteOpened(invite)),
      on("natter://update", (update) => this.updateBanner.update(update)),
      on("natter://call", (call) => workspace.callChanged(call)),
      on("natter://call-stats", (stats) => workspace.callStatsChanged(stats)),
      on("natter://mic-level", (level) => workspace.micLevel(level.level)),
      on("natter://upload-progress", (progress) => uploadProgress(progress)),
      on("natter://download", (download) => downloadChanged(download)),
      on("natter://file-drag", (drag) => workspace.fileDrag(drag.over)),
      on("natter://files-staged", (staged) => workspace.filesDropped(staged.files)),
    ]);
    // One missing event (e.g. not granted) degrades the app; it must not stop it from starting.
    for (const result of results) {
      if (result.status === "rejected") {
        console.error("could not subscribe to an event", result.reason);
      }
    }
  }

  /** A natter://invite link: the sign-up form gets its code, on its server if the person agrees. */
  private async inviteOpened(invite: InviteOffer): Promise<void> {
    if (invite.signed_in) {
      this.workspace.say("You opened an invite while signed in. Sign out to create an account with it.");
      return;
    }
    const current = this.state?.server_url?.replace(/\/+$/, "") ?? null;
    const wanted = invite.server?.replace(/\/+$/, "") ?? null;
    if (wanted !== null && wanted !== current) {
      const sure = await confirmAction({
        title: "Use the server of this invite?",
        text: `The invite is for the Natter server at ${wanted}. Create an account there only if you trust who sent you the link.`,
        confirmLabel: "Use this server",
      });
      if (!sure) {
        return;
      }
      try {
        this.render(await commands.chooseServer(wanted));
      } catch (error: unknown) {
        this.workspace.say(`The invite's server cannot be reached: ${errorMessage(error)}`);
        return;
      }
    }
    this.auth.offerInvite(invite.code);
  }

  showOfferedUpdate(update: UpdateView | null): void {
    this.updateBanner.update(update);
  }

  render(state: AppStateView): void {
    const wasSignedIn = this.state?.phase === "signed_in";
    this.state = state;
    applyTheme(state.settings.theme);
    this.warning.update(state.credential_warning);
    if (state.phase !== "signed_out") {
      this.changingServer = false;
    }

    if (state.phase === "signed_in") {
      this.server.hide();
      this.auth.hide();
      this.workspace.show(state);
      if (!wasSignedIn) {
        this.banner.setEnabled(true);
        commands
          .connection()
          .then((connection) => this.banner.update(connection))
          .catch((error: unknown) => console.warn("connection state unavailable", error));
      }
      return;
    }

    this.workspace.leave();
    this.banner.setEnabled(false);
    if (state.phase === "choose_server" || this.changingServer) {
      this.auth.hide();
      this.server.show(state, state.phase === "signed_out");
    } else {
      this.server.hide();
      this.auth.show(state);
    }
  }

  private rerender(): void {
    if (this.state !== null) {
      this.render(this.state);
    }
  }
}

function fillIcons(): void {
  for (const slot of document.querySelectorAll<HTMLElement>("[data-icon]")) {
    const name = ICONS.find((candidate) => candidate === slot.dataset["icon"]);
    if (name !== undefined && slot.querySelector("svg") === null) {
      slot.prepend(icon(name, Number(slot.dataset["iconSize"] ?? "20")));
    }
  }
}

/** Ctrl+W (Cmd+W) closes the window as its close button does: to the tray when that is set. */
function closeWindowShortcut(): void {
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key.toLowerCase() === "w") {
      event.preventDefault();
      getCurrentWindow()
        .close()
        .catch((error: unknown) => console.warn("the window did not close", error));
    }
  });
}

async function start(): Promise<void> {
  fillIcons();
  closeWindowShortcut();
  const app = new App();
  try {
    // Subscribed first, so no event sent while the first state is on its way is missed.
    await app.subscribe();
    app.render(await commands.appState());
    await commands.followLinks();
    app.showOfferedUpdate(await commands.offeredUpdate());
  } catch (error: unknown) {
    console.error("Natter could not start", error);
    const fatal = byId("fatal-error", HTMLElement);
    setText(byId("fatal-error-text", HTMLElement), errorMessage(error));
    show(fatal, true);
  }
  document.body.dataset["ready"] = "true";
}

/** The incoming call window: nothing of the app but the call that rings. */
async function startCallWindow(): Promise<void> {
  document.documentElement.dataset["window"] = "call";
  show(byId("app-frame", HTMLElement), false);
  const incoming = new IncomingCallWindow(document.body);
  // Same theme as the main window; the window works without it (system theme).
  commands
    .appState()
    .then((state) => applyTheme(state.settings.theme))
    .catch((error: unknown) => console.warn("theme unavailable in the call window", error));
  try {
    await incoming.start();
  } catch (error: unknown) {
    console.error("the call window could not start", error);
  }
  document.body.dataset["ready"] = "true";
}

(location.hash === "#call" ? startCallWindow() : start()).catch((error: unknown) => {
  console.error("Natter failed to initialise", error);
  document.body.dataset["ready"] = "true";
});
