// The open conversation: the virtualized message list and the composer, under the header
// (chat-header.ts). Messages are what Rust sends (open_conversation, load_older, message events);
// this view keeps them in display order and turns clicks and keys into commands.

import { AttachmentTray } from "./attachment-tray";
import { runFileAction } from "./attachments";
import { ChatHeader } from "./chat-header";
import { Composer, fitToContent } from "./composer";
import { confirmAction } from "./confirm-dialog";
import { byId, setText, show } from "./dom";
import {
  commands,
  errorMessage,
  type CallKind,
  type ConversationView,
  type MessageDiscarded,
  type MessageView,
  type StagedFile,
} from "./ipc";
import { PopupMenu } from "./menu";
import { MentionSuggest, ReactionPicker, ReplyBar } from "./message-responses";
import { buildRows, canChange, canReport, estimateRowHeight, renderRow, sameRow, type Row } from "./message-row";
import { MessageStore } from "./message-store";
import { PictureViewer, picturesOf } from "./picture-viewer";
import { ReportDialog } from "./report-dialog";
import type { TypingTracker } from "./typing";
import { VirtualList } from "./virtual-list";

/** After a failed load_older, wait this long before trying again on scroll. */
const LOAD_RETRY_MS = 3000;
/** Bound on the pages fetched to reveal an old search hit. */
const MAX_REVEAL_PAGES = 40;

export type ChatViewOptions = {
  typing: TypingTracker;
  /** Shows a transient error. */
  notify: (message: string) => void;
  /** The user left the conversation view (back button). */
  onClose: () => void;
  /** A call button of a direct conversation: call the other member. */
  onCall: (peerId: string, kind: CallKind) => void;
};

export class ChatView {
  private readonly options: ChatViewOptions;
  private readonly root = byId("chat", HTMLElement);
  private readonly empty = byId("chat-empty", HTMLElement);
  private readonly main = byId("chat-main", HTMLElement);
  private readonly header: ChatHeader;
  private readonly report: ReportDialog;
  private readonly messagesElement = byId("messages", HTMLElement);
  private readonly status = byId("messages-status", HTMLElement);
  private readonly olderSpinner = byId("loading-older", HTMLElement);
  private readonly toBottom = byId("scroll-to-bottom", HTMLButtonElement);
  private readonly list: VirtualList<Row>;
  private readonly composer: Composer;
  private readonly menu = new PopupMenu(byId("message-menu", HTMLElement));
  private readonly store = new MessageStore();
  private readonly replyBar: ReplyBar;
  private readonly reactions = new ReactionPicker();
  private readonly tray: AttachmentTray;
  private readonly viewer: PictureViewer;
  /** My username, for my mentions to stand out (set by the workspace once signed in). */
  private me: { id: string; username: string } = { id: "", username: "" };

  private conversation: ConversationView | null = null;
  /** Increases with every open; answers for an earlier one are dropped. */
  private generation = 0;
  private loading = false;
  private hasMore = false;
  private older: Promise<boolean> | null = null;
  private olderRetryAt = 0;
  private editing: { clientId: string; draft: string } | null = null;
  private today = new Date().toDateString();

  constructor(options: ChatViewOptions) {
    this.options = options;
    this.list = new VirtualList<Row>({
      viewport: this.messagesElement,
      key: (row) => row.key,
      render: renderRow,
      estimateHeight: estimateRowHeight,
      same: sameRow,
      paddingTopPx: 8,
      paddingBottomPx: 12,
      onNearTop: () => void this.loadOlder(),
      onPinnedChange: (pinned) => show(this.toBottom, !pinned),
    });
    const composerBox = byId("composer", HTMLTextAreaElement);
    this.replyBar = new ReplyBar(() => this.composer.focus());
    new MentionSuggest(composerBox, () => ({ members: this.conversation?.members ?? [], myId: this.me.id }));
    composerBox.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.replyBar.replyTo() !== null) {
        event.preventDefault();
        this.replyBar.clear();
      }
    });
    this.tray = new AttachmentTray(composerBox, options.notify);
    this.viewer = new PictureViewer(options.notify);
    this.composer = new Composer(byId("composer-form", HTMLFormElement), composerBox, {
      send: (body) => this.send(body),
      hasFiles: () => this.tray.count() > 0,
      typing: () => {
        const id = this.conversation?.id;
        if (id !== undefined) {
          commands.typing(id).catch(() => {
            // Typing is best effort: a lost notice is harmless.
          });
        }
      },
    });
    this.composer.setConversation(null);

    this.toBottom.addEventListener("click", () => this.list.scrollToBottom());
    this.header = new ChatHeader({
      conversation: () => this.conversation,
      typing: options.typing,
      notify: options.notify,
      onClose: options.onClose,
      onCall: options.onCall,
    });
    this.report = new ReportDialog(options.notify);
    this.messagesElement.addEventListener("click", (event) => this.handleClick(event));
    this.messagesElement.addEventListener("contextmenu", (event) => this.handleContextMenu(event));
    this.messagesElement.addEventListener("keydown", (event) => this.handleEditKey(event));
    this.messagesElement.addEventListener("keydown", (event) => this.handleLinkKey(event));
    this.messagesElement.addEventListener("input", (event) => {
      const target = event.target;
      if (target instanceof HTMLTextAreaElement && target.classList.contains("message-edit") && this.editing !== null) {
        this.editing.draft = target.value;
        fitToContent(target);
      }
    });
    // "Last seen 5 min ago" ages, and "Today" becomes "Yesterday" at midnight.
    setInterval(() => {
      this.header.render();
      const today = new Date().toDateString();
      if (today !== this.today) {
        this.today = today;
        this.rebuild();
      }
    }, 30_000);
  }

  /** Who is signed in: my mentions stand out, and I am not suggested to myself. */
  setMe(me: { id: string; username: string }): void {
    this.me = me;
  }

  /** The id of the conversation shown, if any. */
  currentId(): string | null {
    return this.conversation?.id ?? null;
  }

  /**
   * Shows a conversation: asks Rust for its newest page (which also makes it the shown one).
   * With `reveal`, scrolls to that message once it is loaded (search hits). With `reload`, an
   * open conversation is loaded afresh.
   */
  async open(conversation: ConversationView, reveal?: MessageView, reload = false): Promise<void> {
    if (this.conversation?.id !== conversation.id) {
      this.header.forgetBlocked();
    }
    if (this.conversation?.id === conversation.id && !reload) {
      this.conversation = conversation;
      this.header.render();
      if (reveal !== undefined && !this.loading) {
        await this.reveal(reveal);
      } else {
        this.composer.focus();
      }
      return;
    }
    this.generation += 1;
    const generation = this.generation;
    this.menu.close(false);
    this.conversation = conversation;
    this.editing = null;
    this.replyBar.clear();
    this.reactions.close();
    this.store.clear();
    this.list.reset();
    this.hasMore = false;
    this.older = null;
    this.olderRetryAt = 0;
    this.loading = true;
    show(this.olderSpinner, false);
    this.root.dataset["conversationId"] = conversation.id;
    show(this.empty, false);
    show(this.main, true);
    this.header.render();
    this.header.renderTyping();
    this.composer.setConversation(conversation.id);
    this.tray.setConversation(conversation.id);
    this.rebuild();
    this.composer.focus();

    let page;
    try {
      page = await commands.openConversation(conversation.id);
    } catch (error: unknown) {
      if (generation === this.generation) {
        this.loading = false;
        this.setStatus(`Could not load messages: ${errorMessage(error)}`);
      }
      return;
    }
    if (generation !== this.generation) {
      return;
    }
    // Events that arrived while the page was on its way are newer than the page: apply them last.
    const early = this.store.list();
    this.store.clear();
    this.store.upsert(page.messages);
    this.store.upsert(early);
    this.hasMore = page.has_more;
    this.loading = false;
    this.rebuild();
    this.list.scrollToBottom();
    if (reveal !== undefined) {
      await this.reveal(reveal);
    }
  }

  /**
   * Fetches the newest page again and merges it in, keeping older pages and the scroll position:
   * for catching up after events may have been missed.
   */
  async refreshNewest(): Promise<void> {
    const conversation = this.conversation;
    if (conversation === null || this.loading) {
      return;
    }
    const generation = this.generation;
    try {
      const page = await commands.openConversation(conversation.id);
      if (generation !== this.generation) {
        return;
      }
      const onlyNewest = this.store.size === 0;
      this.store.upsert(page.messages);
      if (onlyNewest) {
        this.hasMore = page.has_more;
      }
      this.rebuild();
    } catch (error: unknown) {
      console.warn("could not refresh the conversation", error);
    }
  }

  /** Shows no conversation (the caller tells Rust). */
  close(): void {
    this.generation += 1;
    this.menu.close(false);
    this.conversation = null;
    this.editing = null;
    this.replyBar.clear();
    this.reactions.close();
    this.loading = false;
    this.older = null;
    this.store.clear();
    this.list.reset();
    delete this.root.dataset["conversationId"];
    this.composer.setConversation(null);
    this.tray.setConversation(null);
    show(this.main, false);
    show(this.empty, true);
    show(this.olderSpinner, false);
  }

  /** Signed out: forget drafts too. */
  reset(): void {
    this.close();
    this.header.forgetBlocked();
    this.composer.clearDrafts();
    this.tray.clearAll();
  }

  /** Files are dragged over the window, or no longer. */
  fileDrag(over: boolean): void {
    this.tray.dragging(over);
  }

  /** Files were dropped on the window: they go with the open conversation's next message. */
  filesDropped(files: readonly StagedFile[]): void {
    this.tray.dropped(files);
  }

  /** A newer ConversationView of any conversation. */
  conversationChanged(conversation: ConversationView): void {
    if (conversation.id === this.conversation?.id) {
      const kindChanged = conversation.kind !== this.conversation.kind;
      this.conversation = conversation;
      this.header.render();
      if (kindChanged) {
        this.rebuild();
      }
    }
  }

  messageChanged(message: MessageView): void {
    if (message.conversation_id !== this.conversation?.id) {
      return;
    }
    const isNew = !this.store.has(message.client_id);
    this.store.upsert([message]);
    if (this.editing?.clientId === message.client_id && message.deleted_at !== null) {
      this.editing = null;
    }
    this.rebuild();
    if (isNew && message.mine) {
      this.list.scrollToBottom();
    }
  }

  messageDiscarded(discarded: MessageDiscarded): void {
    if (discarded.conversation_id === this.conversation?.id && this.store.remove(discarded.client_id)) {
      this.rebuild();
    }
  }

  // -------------------------------------------------------------------------------------------

  private async send(body: string): Promise<boolean> {
    const conversationId = this.conversation?.id;
    if (conversationId === undefined) {
      return false;
    }
    const replyTo = this.replyBar.replyTo();
    const files = this.tray.ids();
    try {
      const message =
        files.length > 0
          ? await commands.sendFiles(conversationId, body, replyTo, files)
          : await commands.sendMessage(conversationId, body, replyTo);
      this.tray.sent(conversationId, files);
      if (replyTo !== null && this.replyBar.replyTo() === replyTo) {
        this.replyBar.clear();
      }
      // The event for this message may have come first with a newer state: keep that one.
      if (message.conversation_id === this.conversation?.id && !this.store.has(message.client_id)) {
        this.store.upsert([message]);
        this.rebuild();
      }
      this.list.scrollToBottom();
      return true;
    } catch (error: unknown) {
      this.options.notify(`Message not sent: ${errorMessage(error)}`);
      return false;
    }
  }

  /** Loads one older page; resolves to whether messages were added. One request at a time. */
  private loadOlder(): Promise<boolean> {
    if (this.older !== null) {
      return this.older;
    }
    const conversation = this.conversation;
    const before = this.store.oldestSeq();
    if (
      conversation === null ||
      this.loading ||
      !this.hasMore ||
      before === null ||
      Date.now() < this.olderRetryAt
    ) {
      return Promise.resolve(false);
    }
    const generation = this.generation;
    show(this.olderSpinner, true);
    const request = (async (): Promise<boolean> => {
      try {
        const page = await commands.loadOlder(conversation.id, before);
        if (generation !== this.generation) {
          return false;
        }
        this.hasMore = page.has_more;
        const added = this.store.upsert(page.messages);
        // Cleared before re-rendering: the new rows may call for the next page at once.
        this.older = null;
        show(this.olderSpinner, false);
        this.rebuild();
        return added;
      } catch (error: unknown) {
        if (generation === this.generation) {
          this.older = null;
          show(this.olderSpinner, false);
          this.olderRetryAt = Date.now() + LOAD_RETRY_MS;
          this.options.notify(`Could not load older messages: ${errorMessage(error)}`);
        }
        return false;
      }
    })();
    this.older = request;
    return request;
  }

  /** Scrolls to a message, loading older pages while it is older than what is held. */
  private async reveal(message: MessageView): Promise<void> {
    await this.revealWhere((held) => held.client_id === message.client_id, message.seq);
  }

  /** Scrolls to the first held message that `matches`, loading older pages down to `seq`. */
  private async revealWhere(matches: (message: MessageView) => boolean, seq: number | null): Promise<void> {
    const generation = this.generation;
    const find = (): MessageView | undefined => this.store.list().find(matches);
    for (let page = 0; page < MAX_REVEAL_PAGES && find() === undefined; page += 1) {
      const oldest = this.store.oldestSeq();
      if (!this.hasMore || seq === null || (oldest !== null && seq >= oldest)) {
        break;
      }
      if (!(await this.loadOlder()) || generation !== this.generation) {
        break;
      }
    }
    const found = find();
    if (generation !== this.generation || found === undefined) {
      return;
    }
    this.list.scrollToKey(found.client_id);
    const element = this.list.elementOf(found.client_id);
    if (element !== null) {
      element.classList.remove("flash");
      // Restart the animation even if the row was flashed before.
      void element.offsetWidth;
      element.classList.add("flash");
    }
  }

  private rebuild(): void {
    const conversation = this.conversation;
    const editBoxHadFocus =
      document.activeElement instanceof HTMLTextAreaElement &&
      document.activeElement.classList.contains("message-edit");
    const rows =
      conversation === null
        ? []
        : this.rows(conversation);
    this.list.setItems(rows);
    if (this.loading) {
      this.setStatus("Loading messages…");
    } else if (conversation !== null && this.store.size === 0) {
      this.setStatus("No messages yet. Say hello!");
    } else {
      this.setStatus("");
    }
    if (this.editing !== null && editBoxHadFocus) {
      this.focusEditBox();
    }
  }

  private rows(conversation: ConversationView): Row[] {
    const messages = this.store.list();
    const byId = new Map<string, MessageView>();
    for (const message of messages) {
      if (message.id !== null) {
        byId.set(message.id, message);
      }
    }
    return buildRows(messages, conversation.kind === "group", this.editing, (id) => byId.get(id), this.me.username);
  }

  private setStatus(text: string): void {
    setText(this.status, text);
    show(this.status, text !== "");
  }

  // --- message actions ------------------------------------------------------------------------

  private messageOf(target: EventTarget | null): { row: HTMLElement; message: MessageView } | null {
    if (!(target instanceof Element)) {
      return null;
    }
    const row = target.closest<HTMLElement>(".message");
    const clientId = row?.dataset["clientId"];
    const message = clientId === undefined ? undefined : this.store.get(clientId);
    return row !== null && message !== undefined ? { row, message } : null;
  }

  private handleClick(event: MouseEvent): void {
    if (this.openLinkAt(event.target)) {
      event.preventDefault();
      return;
    }
    const target = event.target instanceof Element ? event.target.closest<HTMLElement>("[data-action]") : null;
    const found = this.messageOf(event.target);
    if (target === null || found === null) {
      return;
    }
    const action = target.dataset["action"] ?? "";
    if (runFileAction(action, found.message, target, this.options.notify)) {
      return;
    }
    if (action === "view-picture") {
      const { pictures, index } = picturesOf(this.store.list(), found.message.id, target.dataset["attachmentId"]);
      this.viewer.open(pictures, index);
    } else if (action === "menu") {
      this.openMenu(found.message, target, target);
    } else if (action === "reply") {
      this.replyBar.set(found.message);
      this.composer.focus();
    } else if (action === "react") {
      this.reactions.open(target, (emoji) => void this.react(found.message, emoji, true));
    } else if (action === "reaction") {
      const emoji = target.dataset["emoji"];
      const mine = found.message.reactions.some((reaction) => reaction.emoji === emoji && reaction.mine);
      if (emoji !== undefined) {
        void this.react(found.message, emoji, !mine);
      }
    } else if (action === "quote") {
      const original = found.message.reply_to;
      if (original !== null) {
        void this.revealWhere((held) => held.id === original.message_id, this.quoteSeq(found.message));
      }
    } else if (action === "discard") {
      commands.discardMessage(found.message.client_id).catch((error: unknown) => {
        this.options.notify(errorMessage(error));
      });
    }
  }

  private handleContextMenu(event: MouseEvent): void {
    const found = this.messageOf(event.target);
    if (found === null || !(canChange(found.message) || canReport(found.message)) || this.editing !== null) {
      return;
    }
    event.preventDefault();
    const trigger = found.row.querySelector<HTMLElement>(".message-actions-button");
    this.openMenu(found.message, { x: event.clientX, y: event.clientY }, trigger);
  }

  private openMenu(
    message: MessageView,
    at: HTMLElement | { x: number; y: number },
    trigger: HTMLElement | null,
  ): void {
    this.menu.open(
      at,
      trigger,
      (action) => {
        if (action === "edit") {
          this.startEdit(message.client_id);
        } else if (action === "delete") {
          void this.deleteMessage(message.client_id);
        } else if (action === "report") {
          this.report.open(message);
        }
      },
      message.mine
        ? [
            { label: "Edit", action: "edit" },
            { label: "Delete", action: "delete", danger: true },
          ]
        : [{ label: "Report…", action: "report", danger: true }],
    );
  }

  /** Where a reply's original is: from the loaded original, else from Rust's quote. */
  private quoteSeq(message: MessageView): number | null {
    const originalId = message.reply_to?.message_id;
    const held = this.store.list().find((candidate) => candidate.id === originalId);
    return held?.seq ?? message.reply_to?.seq ?? null;
  }

  private async react(message: MessageView, emoji: string, add: boolean): Promise<void> {
    const conversationId = this.conversation?.id;
    if (conversationId === undefined || message.id === null) {
      return;
    }
    try {
      // The message changes with the event that follows, in order with its other changes.
      await commands.reactToMessage(conversationId, message.id, emoji, add);
    } catch (error: unknown) {
      this.options.notify(`Could not react: ${errorMessage(error)}`);
    }
  }

  private startEdit(clientId: string): void {
    const message = this.store.get(clientId);
    if (message === undefined || !canChange(message)) {
      return;
    }
    this.editing = { clientId, draft: message.body };
    this.rebuild();
    this.focusEditBox();
  }

  private focusEditBox(): void {
    const editing = this.editing;
    if (editing === null) {
      return;
    }
    let box = this.list.elementOf(editing.clientId)?.querySelector<HTMLTextAreaElement>("textarea.message-edit");
    if (box === null || box === undefined) {
      this.list.scrollToKey(editing.clientId);
      box = this.list.elementOf(editing.clientId)?.querySelector<HTMLTextAreaElement>("textarea.message-edit");
    }
    if (box !== null && box !== undefined && document.activeElement !== box) {
      fitToContent(box);
      box.focus();
      box.setSelectionRange(box.value.length, box.value.length);
    }
  }

  /** A message's web link opens in the system's browser (never in the webview). */
  private openLinkAt(target: EventTarget | null): boolean {
    const link = target instanceof Element ? target.closest<HTMLElement>(".message-link") : null;
    const url = link?.dataset["url"];
    if (url === undefined) {
      return false;
    }
    commands.openLink(url).catch((error: unknown) => this.options.notify(errorMessage(error)));
    return true;
  }

  /** Enter on a focused link opens it, as a click does. */
  private handleLinkKey(event: KeyboardEvent): void {
    if (event.key === "Enter" && this.openLinkAt(event.target)) {
      event.preventDefault();
    }
  }

  private handleEditKey(event: KeyboardEvent): void {
    const box = event.target;
    if (!(box instanceof HTMLTextAreaElement) || !box.classList.contains("message-edit")) {
      return;
    }
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      this.cancelEdit();
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      void this.saveEdit(box.value);
    }
  }

  private cancelEdit(): void {
    this.editing = null;
    this.rebuild();
    this.composer.focus();
  }

  private async saveEdit(text: string): Promise<void> {
    const editing = this.editing;
    const conversationId = this.conversation?.id;
    const message = editing === null ? undefined : this.store.get(editing.clientId);
    const body = text.trim();
    if (message === undefined || message.id === null || conversationId === undefined || body === "") {
      return;
    }
    this.cancelEdit();
    if (body === message.body) {
      return;
    }
    try {
      await commands.editMessage(conversationId, message.id, body);
    } catch (error: unknown) {
      this.options.notify(`Could not edit the message: ${errorMessage(error)}`);
    }
  }

  private async deleteMessage(clientId: string): Promise<void> {
    const conversationId = this.conversation?.id;
    const message = this.store.get(clientId);
    if (conversationId === undefined || message === undefined || message.id === null) {
      return;
    }
    const confirmed = await confirmAction({
      title: "Delete message?",
      text: "It will be deleted for everyone in this conversation.",
      confirmLabel: "Delete",
      danger: true,
    });
    if (!confirmed) {
      return;
    }
    try {
      await commands.deleteMessage(conversationId, message.id);
    } catch (error: unknown) {
      this.options.notify(`Could not delete the message: ${errorMessage(error)}`);
    }
  }
}
