// A modal yes/no question in the page's own <dialog> (window.confirm is not styled, and not
// available the same way in every webview).

import { byId, setText } from "./dom";

export type ConfirmOptions = { title: string; text: string; confirmLabel: string; danger?: boolean };

export function confirmAction(options: ConfirmOptions): Promise<boolean> {
  const dialog = byId("confirm-dialog", HTMLDialogElement);
  const ok = byId("confirm-ok", HTMLButtonElement);
  const cancel = byId("confirm-cancel", HTMLButtonElement);
  setText(byId("confirm-title", HTMLElement), options.title);
  setText(byId("confirm-text", HTMLElement), options.text);
  setText(ok, options.confirmLabel);
  ok.classList.toggle("danger", options.danger === true);

  return new Promise((resolve) => {
    const finish = (answer: boolean): void => {
      ok.removeEventListener("click", onOk);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("close", onClose);
      if (dialog.open) {
        dialog.close();
      }
      resolve(answer);
    };
    const onOk = (): void => finish(true);
    const onCancel = (): void => finish(false);
    // Escape closes the dialog natively: that is a "no".
    const onClose = (): void => finish(false);
    ok.addEventListener("click", onOk);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("close", onClose);
    dialog.showModal();
    cancel.focus();
  });
}
