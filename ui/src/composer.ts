// The message composer: Enter sends, Shift+Enter inserts a newline, the box grows with its text
// up to a limit, each conversation keeps its own draft, and typing is reported at most once a
// second.

const TYPING_INTERVAL_MS = 1000;
const MAX_HEIGHT_PX = 200;

export type ComposerOptions = {
  /** Sends the text; resolves to whether it was accepted (the draft is then cleared). */
  send: (body: string) => Promise<boolean>;
  typing: () => void;
  /** Files wait to go: a message without text may be sent. */
  hasFiles: () => boolean;
};

export class Composer {
  private readonly textarea: HTMLTextAreaElement;
  private readonly options: ComposerOptions;
  private readonly drafts = new Map<string, string>();
  private conversationId: string | null = null;
  private lastTypingAt = 0;

  constructor(form: HTMLFormElement, textarea: HTMLTextAreaElement, options: ComposerOptions) {
    this.textarea = textarea;
    this.options = options;

    textarea.addEventListener("keydown", (event) => {
      // While an input method is composing, Enter confirms the composition, not the message.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        void this.submit();
      }
    });
    textarea.addEventListener("input", () => {
      this.autosize();
      if (this.conversationId !== null) {
        this.drafts.set(this.conversationId, textarea.value);
      }
      const now = Date.now();
      if (textarea.value.trim() !== "" && now - this.lastTypingAt >= TYPING_INTERVAL_MS) {
        this.lastTypingAt = now;
        options.typing();
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.submit();
    });
  }

  /** Switches to another conversation's draft (null: no conversation, composer disabled). */
  setConversation(conversationId: string | null): void {
    if (this.conversationId !== null) {
      this.drafts.set(this.conversationId, this.textarea.value);
    }
    this.conversationId = conversationId;
    this.lastTypingAt = 0;
    this.textarea.value = conversationId === null ? "" : (this.drafts.get(conversationId) ?? "");
    this.textarea.disabled = conversationId === null;
    this.autosize();
  }

  focus(): void {
    this.textarea.focus();
  }

  clearDrafts(): void {
    this.drafts.clear();
    this.textarea.value = "";
    this.autosize();
  }

  private async submit(): Promise<void> {
    const conversationId = this.conversationId;
    const body = this.textarea.value.trim();
    if (conversationId === null || (body === "" && !this.options.hasFiles())) {
      return;
    }
    // Cleared at once so the next message can be typed while this one is handed over.
    this.textarea.value = "";
    this.drafts.delete(conversationId);
    this.autosize();
    const accepted = await this.options.send(body);
    if (!accepted && this.conversationId === conversationId && this.textarea.value === "") {
      // Not handed over (e.g. an error): give the text back rather than lose it.
      this.textarea.value = body;
      this.drafts.set(conversationId, body);
      this.autosize();
    }
  }

  private autosize(): void {
    fitToContent(this.textarea, MAX_HEIGHT_PX);
  }
}

/** Grows a textarea with its text, up to `maxHeight`, then it scrolls. */
export function fitToContent(box: HTMLTextAreaElement, maxHeight = MAX_HEIGHT_PX): void {
  // Measuring needs height "auto" for a moment. The parent keeps its height meanwhile, or the
  // message list beside it would grow for that moment and lose its scroll position at the bottom.
  const parent = box.parentElement;
  if (parent !== null) {
    parent.style.minHeight = `${parent.offsetHeight}px`;
  }
  box.style.height = "auto";
  const height = box.scrollHeight;
  box.style.height = `${Math.min(height, maxHeight)}px`;
  box.style.overflowY = height > maxHeight ? "auto" : "hidden";
  if (parent !== null) {
    parent.style.minHeight = "";
  }
}
