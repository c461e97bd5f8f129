// A row of tabs (role="tab" buttons in a role="tablist"), with the keyboard behaviour of the
// ARIA tabs pattern: one tab stop, arrow keys move to the neighbouring tab and select it.

export class Tabs<K extends string> {
  private readonly tabs: ReadonlyArray<readonly [K, HTMLButtonElement]>;
  private readonly onSelect: (key: K) => void;

  constructor(tabs: ReadonlyArray<readonly [K, HTMLButtonElement]>, onSelect: (key: K) => void) {
    this.tabs = tabs;
    this.onSelect = onSelect;
    tabs.forEach(([key, tab], index) => {
      tab.addEventListener("click", () => onSelect(key));
      tab.addEventListener("keydown", (event) => {
        const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
        const next = tabs[(index + step + tabs.length) % tabs.length];
        if (step !== 0 && next !== undefined) {
          event.preventDefault();
          next[1].focus();
          this.onSelect(next[0]);
        }
      });
    });
  }

  /** Marks `key` as the selected tab (the caller shows its panel). */
  mark(key: K): void {
    for (const [name, tab] of this.tabs) {
      tab.setAttribute("aria-selected", String(name === key));
      tab.tabIndex = name === key ? 0 : -1;
    }
  }
}
