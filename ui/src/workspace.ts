// The signed-in screen: sidebar (profile menu, search, new group, conversation list or call
// history) and the chat view, with the call screen over them during a call. It routes Rust's
// events to the parts that show them and keeps track of which conversation is open, telling Rust
// through open_conversation / close_conversation.

import { AccountDialog } from "./account-dialog";
import { accountCommands } from "./account-ipc";
import { AdminDialog } from "./admin-dialog";
import { avatarElement } from "./avatar";
import { CallHistory } from "./call-history";
import { CallScreen } from "./call-screen";
import { ChatView } from "./chat-view";
import { confirmAction } from "./confirm-dialog";
import { ConversationList } from "./conversation-list";
import { byId, setText, show } from "./dom";
import {
  commands,
  errorMessage,
  type AppStateView,
  type CallKind,
  type CallOffer,
  type CallStatsScreenView,
  type CallScreenView,
  type ConversationRemoved,
  type ConversationView,
  type MessageDiscarded,
  type MessageView,
  type PresenceChange,
  type SearchHit,
  type StagedFile,
  type Typing,
  type User,
} from "./ipc";
import { PopupMenu } from "./menu";
import { NewGroupDialog } from "./new-group-dialog";
import { ProfileDialog } from "./profile-dialog";
import { SearchPanel } from "./search";
import { SettingsDialog } from "./settings-dialog";
import { Tabs } from "./tabs";
import { TypingTracker } from "./typing";

const TOAST_MS = 6000;

type SidebarView = "chats" | "calls";

export class Workspace {
  private readonly screen = byId("screen-main", HTMLElement);
  private readonly profileButton = byId("profile-button", HTMLButtonElement);
  private readonly profileMenu = new PopupMenu(byId("profile-menu", HTMLElement));
  private readonly conversationList = byId("conversation-list", HTMLUListElement);
  private readonly toast = byId("toast", HTMLElement);
  private readonly typing = new TypingTracker();
  private readonly list: ConversationList;
  private readonly chat: ChatView;
  private readonly search: SearchPanel;
  private readonly profileDialog: ProfileDialog;
  private readonly settingsDialog: SettingsDialog;
  private readonly accountDialog: AccountDialog;
  private readonly adminDialog = new AdminDialog();
  private readonly newGroupDialog: NewGroupDialog;
  private readonly callScreen: CallScreen;
  private readonly callHistory: CallHistory;
  private readonly sidebarTabs: Tabs<SidebarView>;
  private sidebarView: SidebarView = "chats";
  private searching = false;
  private state: AppStateView | null = null;
  private active = false;
  /** Increases on every sign-in; answers for an earlier session are dropped. */
  private session = 0;
  private toastTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly onState: (state: AppStateView) => void;

  constructor(onState: (state: AppStateView) => void) {
    this.onState = onState;
    this.list = new ConversationList(this.conversationList, byId("conversation-list-empty", HTMLElement), {
      onOpen: (id) => void this.open(id),
      typing: this.typing,
    });
    this.chat = new ChatView({
      typing: this.typing,
      notify: (message) => this.notify(message),
      onClose: () => this.closeConversation(),
      onCall: (peerId, kind) => void this.startCall(peerId, kind),
    });
    this.search = new SearchPanel(byId("search", HTMLInputElement), byId("search-results", HTMLElement), {
      onUser: (user) => void this.startDirect(user),
      onHit: (hit) => void this.openHit(hit),
      onActiveChange: (searching) => {
        this.searching = searching;
        this.renderSidebar();
      },
    });
    this.profileDialog = new ProfileDialog((user) => this.meChanged(user));
    this.settingsDialog = new SettingsDialog(onState);
    this.accountDialog = new AccountDialog({ onState });
    this.newGroupDialog = new NewGroupDialog((conversation) => {
      this.list.upsert(conversation);
      void this.open(conversation.id);
    });
    this.callScreen = new CallScreen({ notify: (message) => this.notify(message), onState });
    this.callHistory = new CallHistory({
      onCall: (peerId, kind) => void this.startCall(peerId, kind),
      onOpenConversation: (conversationId) => void this.open(conversationId),
    });
    this.sidebarTabs = new Tabs<SidebarView>(
      [
        ["chats", byId("sidebar-tab-chats", HTMLButtonElement)],
        ["calls", byId("sidebar-tab-calls", HTMLButtonElement)],
      ],
      (view) => this.showSidebar(view),
    );

    this.profileButton.addEventListener("click", () => {
      if (this.profileMenu.isOpen()) {
        this.profileMenu.close(true);
        return;
      }
      this.profileMenu.open(this.profileButton, this.profileButton, (action) => this.profileAction(action));
    });
    byId("new-group", HTMLButtonElement).addEventListener("click", () =>
      this.newGroupDialog.open(this.state?.me?.id ?? null),
    );
    byId("toast-close", HTMLButtonElement).addEventListener("click", () => show(this.toast, false));
    document.addEventListener("keydown", (event) => {
      // Ctrl/Cmd+K: jump to search, as in Signal and Element.
      if (this.active && (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
        event.preventDefault();
        byId("search", HTMLInputElement).focus();
      }
    });
  }

  /** Shows the workspace for this state (signed in); starts a session on the first call. */
  show(state: AppStateView): void {
    const previousMe = this.state?.me?.id;
    this.state = state;
    if (this.active && previousMe !== state.me?.id) {
      // Another account: nothing of the previous one may stay on screen.
      this.leave();
    }
    this.renderMe();
    this.chat.setMe({ id: state.me?.id ?? "", username: state.me?.username ?? "" });
    void this.learnRole();
    this.settingsDialog.show(state.settings);
    this.callScreen.settingsChanged(state.settings);
    // A call may be in progress (signed in during one, or events were missed): ask for it.
    this.callScreen.start();
    if (!this.active) {
      this.active = true;
      show(this.screen, true);
      this.screen.dataset["view"] = "list";
      void this.loadConversations();
    } else {
      // Rust also sends the state when the UI may have missed events: catch up on what is shown.
      void this.loadConversations();
      void this.chat.refreshNewest();
    }
  }

  /** Signed out: forget everything that was shown. */
  leave(): void {
    if (!this.active) {
      return;
    }
    this.active = false;
    this.session += 1;
    this.profileMenu.close(false);
    this.profileDialog.close();
    this.settingsDialog.close();
    this.accountDialog.close();
    this.adminDialog.close();
    show(byId("menu-admin", HTMLElement), false);
    this.newGroupDialog.close();
    const confirm = byId("confirm-dialog", HTMLDialogElement);
    if (confirm.open) {
      confirm.close();
    }
    this.search.clear();
    this.callScreen.reset();
    this.callHistory.clear();
    this.showSidebar("chats");
    this.chat.reset();
    this.list.clear();
    this.typing.clear();
    show(this.toast, false);
    show(this.screen, false);
  }

  // --- events from Rust -------------------------------------------------------------------------

  conversationChanged(conversation: ConversationView): void {
    if (!this.active) {
      return;
    }
    this.list.upsert(conversation);
    this.chat.conversationChanged(conversation);
  }

  conversationRemoved(removed: ConversationRemoved): void {
    if (!this.active) {
      return;
    }
    this.list.remove(removed.conversation_id);
    if (this.chat.currentId() === removed.conversation_id) {
      this.closeConversation();
    }
  }

  messageChanged(message: MessageView): void {
    if (!this.active) {
      return;
    }
    if (!message.mine) {
      // Whoever sent a message has stopped typing it.
      this.typing.stopped(message.conversation_id, message.sender_id);
    }
    this.chat.messageChanged(message);
  }

  messageDiscarded(discarded: MessageDiscarded): void {
    if (this.active) {
      this.chat.messageDiscarded(discarded);
    }
  }

  /** Files are dragged over the window, or no longer. */
  fileDrag(over: boolean): void {
    if (this.active) {
      this.chat.fileDrag(over);
    }
  }

  /** Files dropped on the window, staged by Rust. */
  filesDropped(files: StagedFile[]): void {
    this.chat.filesDropped(files);
  }

  typingChanged(typing: Typing): void {
    if (this.active && typing.user_id !== this.state?.me?.id) {
      this.typing.typing(typing);
    }
  }

  presenceChanged(change: PresenceChange): void {
    if (!this.active) {
      return;
    }
    this.list.applyPresence(change);
    const open = this.chat.currentId();
    const conversation = open === null ? undefined : this.list.get(open);
    if (conversation !== undefined) {
      this.chat.conversationChanged(conversation);
    }
  }

  /** Rust reloaded a conversation's history: show it afresh if it is the one open. */
  historyReloaded(conversationId: string): void {
    if (this.active && this.chat.currentId() === conversationId) {
      const conversation = this.list.get(conversationId);
      if (conversation !== undefined) {
        void this.chat.open(conversation, undefined, true);
      }
    }
  }

  callChanged(call: CallScreenView): void {
    this.callScreen.callChanged(call);
    if (this.active && call.phase === "ended") {
      this.callHistory.callEnded();
    }
  }

  callStatsChanged(stats: CallStatsScreenView): void {
    this.callScreen.statsChanged(stats);
  }

  micLevel(level: number): void {
    this.settingsDialog.micLevel(level);
  }

  /** A natter://call link: the call starts only when the person here says so. */
  async callOffered(offer: CallOffer): Promise<void> {
    if (!this.active) {
      return;
    }
    const video = offer.kind === "video";
    const yes = await confirmAction({
      title: video ? "Video call?" : "Call?",
      text: `A link asks to call ${offer.display_name}${video ? " with video" : ""}.`,
      confirmLabel: video ? "Video call" : "Call",
    });
    if (yes && this.active) {
      await this.startCall(offer.user_id, offer.kind);
    }
  }

  /** A notification was activated. */
  openRequested(conversationId: string): void {
    if (this.active) {
      void this.open(conversationId);
    }
  }

  // -------------------------------------------------------------------------------------------

  private async loadConversations(): Promise<void> {
    const session = this.session;
    try {
      const conversations = await commands.conversations();
      if (session === this.session && this.active) {
        this.list.setAll(conversations);
      }
    } catch (error: unknown) {
      if (session === this.session) {
        this.notify(`Could not load conversations: ${errorMessage(error)}`);
      }
    }
  }

  private async open(conversationId: string, reveal?: MessageView): Promise<void> {
    const session = this.session;
    let conversation = this.list.get(conversationId);
    if (conversation === undefined) {
      // Not known yet (e.g. a notification raced the list): ask Rust for the current list.
      try {
        const conversations = await commands.conversations();
        if (session !== this.session) {
          return;
        }
        this.list.setAll(conversations);
        conversation = this.list.get(conversationId);
      } catch (error: unknown) {
        this.notify(errorMessage(error));
        return;
      }
      if (conversation === undefined) {
        this.notify("That conversation is not available.");
        return;
      }
    }
    this.list.setSelected(conversationId);
    this.screen.dataset["view"] = "chat";
    await this.chat.open(conversation, reveal);
  }

  private closeConversation(): void {
    this.chat.close();
    this.list.setSelected(null);
    this.screen.dataset["view"] = "list";
    commands.closeConversation().catch((error: unknown) => {
      console.warn("close_conversation failed", error);
    });
    const selected = this.conversationList.querySelector<HTMLElement>("li.conversation[tabindex='0']");
    selected?.focus();
  }

  private async startCall(peerId: string, kind: CallKind): Promise<void> {
    try {
      // natter://call shows the call too; the answer only spares waiting for that event. Typed as
      // possibly null so that a Rust side answering nothing does not read as a failure.
      const call: CallScreenView | null = await commands.startCall(peerId, kind);
      if (call !== null) {
        this.callScreen.callStarted(call);
      }
    } catch (error: unknown) {
      this.notify(`Could not call: ${errorMessage(error)}`);
    }
  }

  private showSidebar(view: SidebarView): void {
    this.sidebarView = view;
    this.sidebarTabs.mark(view);
    if (this.searching) {
      // The tabs are about what shows without a query.
      this.search.clear();
    }
    this.renderSidebar();
    if (view === "calls") {
      this.callHistory.shown();
    }
  }

  private renderSidebar(): void {
    show(byId("chats-panel", HTMLElement), !this.searching && this.sidebarView === "chats");
    show(byId("call-history", HTMLElement), !this.searching && this.sidebarView === "calls");
  }

  private async startDirect(user: User): Promise<void> {
    try {
      const conversation = await commands.startDirect(user.id);
      this.search.clear();
      this.list.upsert(conversation);
      await this.open(conversation.id);
    } catch (error: unknown) {
      this.notify(errorMessage(error));
    }
  }

  private async openHit(hit: SearchHit): Promise<void> {
    this.search.clear();
    await this.open(hit.conversation_id, hit.message);
  }

  private profileAction(action: string): void {
    const me = this.state?.me;
    if (action === "menu-profile" && me !== null && me !== undefined) {
      this.profileDialog.open(me);
    } else if (action === "menu-settings" && this.state !== null) {
      this.settingsDialog.open(this.state.settings);
    } else if (action === "menu-account") {
      void this.accountDialog.open();
    } else if (action === "menu-admin") {
      void this.adminDialog.open();
    } else if (action === "sign-out") {
      void this.signOut();
    }
  }

  /** Offers the admin section to admins only (the server refuses it to anyone else). */
  private async learnRole(): Promise<void> {
    const session = this.session;
    try {
      const account = await accountCommands.account();
      if (session === this.session) {
        show(byId("menu-admin", HTMLElement), account.is_admin);
      }
    } catch {
      // Offline: the menu item appears at the next state.
    }
  }

  private async signOut(): Promise<void> {
    try {
      this.onState(await commands.signOut());
    } catch (error: unknown) {
      this.notify(`Could not sign out: ${errorMessage(error)}`);
    }
  }

  private meChanged(user: User): void {
    if (this.state !== null) {
      this.state = { ...this.state, me: user };
      this.renderMe();
    }
  }

  private renderMe(): void {
    const me = this.state?.me;
    const name = me?.display_name ?? "";
    setText(byId("profile-name", HTMLElement), name);
    setText(byId("profile-status-line", HTMLElement), me?.status_text ?? "");
    byId("profile-avatar", HTMLElement).replaceChildren(
      avatarElement(name, me?.avatar_url ?? null, me?.id ?? "", "small"),
    );
    this.profileButton.setAttribute("aria-label", `${name}: profile and settings`);
  }

  /** Shows a passing message (a toast). */
  say(message: string): void {
    this.notify(message);
  }

  private notify(message: string): void {
    setText(byId("toast-text", HTMLElement), message);
    show(this.toast, true);
    if (this.toastTimer !== undefined) {
      clearTimeout(this.toastTimer);
    }
    this.toastTimer = setTimeout(() => show(this.toast, false), TOAST_MS);
  }
}
