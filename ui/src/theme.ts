import type { Theme } from "./ipc";

// The setting itself goes on <html data-theme>; the stylesheet resolves "system" with
// prefers-color-scheme, so a change of the OS theme applies without any code here.
export function applyTheme(theme: Theme): void {
  document.documentElement.dataset["theme"] = theme;
}
