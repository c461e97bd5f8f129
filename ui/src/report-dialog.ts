// The dialog that reports someone else's message to the server's admins, with a reason. Opened
// from a message's menu in the chat view; it remembers the message itself, so switching
// conversations behind it does not change what is reported.

import { accountCommands } from "./account-ipc";
import { byId, setText, show } from "./dom";
import { errorMessage, type MessageView } from "./ipc";

export class ReportDialog {
  private readonly dialog = byId("report-dialog", HTMLDialogElement);
  private readonly reason = byId("report-reason", HTMLTextAreaElement);
  private readonly error = byId("report-error", HTMLElement);
  private readonly notify: (message: string) => void;
  /** The message the dialog is about. */
  private reporting: { conversationId: string; messageId: string } | null = null;

  constructor(notify: (message: string) => void) {
    this.notify = notify;
    byId("report-form", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      void this.send();
    });
    byId("report-cancel", HTMLButtonElement).addEventListener("click", () => this.dialog.close());
  }

  open(message: MessageView): void {
    if (message.id === null) {
      return;
    }
    this.reporting = { conversationId: message.conversation_id, messageId: message.id };
    this.reason.value = "";
    show(this.error, false);
    this.dialog.showModal();
    this.reason.focus();
  }

  private async send(): Promise<void> {
    const reporting = this.reporting;
    const reason = this.reason.value.trim();
    if (reporting === null) {
      return;
    }
    if (reason === "") {
      setText(this.error, "Say why you report it.");
      show(this.error, true);
      return;
    }
    try {
      await accountCommands.reportMessage(reporting.conversationId, reporting.messageId, reason);
      this.dialog.close();
      this.reporting = null;
      this.notify("Reported to the server's admins.");
    } catch (failure: unknown) {
      setText(this.error, errorMessage(failure));
      show(this.error, true);
    }
  }
}
