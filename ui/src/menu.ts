// A popup menu (role="menu") with the keyboard behaviour of the ARIA menu pattern: focus moves
// into it on open, arrows move between items, Escape closes and returns focus to the trigger,
// and any click outside or Tab away closes it.

import { h } from "./dom";

export type MenuItem = { label: string; action: string; danger?: boolean };

type Position = { x: number; y: number } | HTMLElement;

export class PopupMenu {
  private readonly element: HTMLElement;
  private trigger: HTMLElement | null = null;
  private onChoose: ((action: string) => void) | null = null;

  private readonly handleOutside = (event: PointerEvent): void => {
    const target = event.target;
    if (target instanceof Node && !this.element.contains(target) && !this.trigger?.contains(target)) {
      this.close(false);
    }
  };

  private readonly handleWindowChange = (): void => {
    this.close(false);
  };

  constructor(element: HTMLElement) {
    this.element = element;
    element.setAttribute("role", "menu");
    element.addEventListener("keydown", (event) => this.handleKey(event));
    element.addEventListener("click", (event) => {
      const item = event.target instanceof Element ? event.target.closest<HTMLElement>("[role=menuitem]") : null;
      if (item !== null && this.element.contains(item)) {
        const action = item.dataset["action"] ?? item.id;
        const choose = this.onChoose;
        this.close(true);
        choose?.(action);
      }
    });
    element.addEventListener("focusout", (event) => {
      const next = event.relatedTarget;
      if (this.isOpen() && next instanceof Node && !this.element.contains(next)) {
        this.close(false);
      }
    });
  }

  isOpen(): boolean {
    return !this.element.hidden;
  }

  /**
   * Opens the menu next to `at`. With `items` the menu's content is rebuilt; without, the items
   * already in the element (static markup) are used.
   */
  open(
    at: Position,
    trigger: HTMLElement | null,
    onChoose: (action: string) => void,
    items?: readonly MenuItem[],
  ): void {
    if (items !== undefined) {
      this.element.replaceChildren(
        ...items.map((item) =>
          h("button", {
            class: item.danger === true ? "menu-item danger" : "menu-item",
            text: item.label,
            attrs: { type: "button", role: "menuitem", tabindex: "-1" },
            dataset: { action: item.action },
          }),
        ),
      );
    }
    this.trigger = trigger;
    this.onChoose = onChoose;
    trigger?.setAttribute("aria-expanded", "true");
    this.element.hidden = false;
    this.place(at);
    this.items()[0]?.focus();
    document.addEventListener("pointerdown", this.handleOutside, true);
    window.addEventListener("resize", this.handleWindowChange);
    window.addEventListener("blur", this.handleWindowChange);
  }

  close(returnFocus: boolean): void {
    if (!this.isOpen()) {
      return;
    }
    this.element.hidden = true;
    document.removeEventListener("pointerdown", this.handleOutside, true);
    window.removeEventListener("resize", this.handleWindowChange);
    window.removeEventListener("blur", this.handleWindowChange);
    this.trigger?.setAttribute("aria-expanded", "false");
    if (returnFocus && this.trigger?.isConnected === true) {
      this.trigger.focus();
    }
    this.trigger = null;
    this.onChoose = null;
  }

  private items(): HTMLElement[] {
    return [...this.element.querySelectorAll<HTMLElement>("[role=menuitem]")].filter(
      (item) => !item.hidden,
    );
  }

  private place(at: Position): void {
    const menu = this.element;
    menu.style.left = "0px";
    menu.style.top = "0px";
    const { width, height } = menu.getBoundingClientRect();
    let x: number;
    let y: number;
    if (at instanceof HTMLElement) {
      const rect = at.getBoundingClientRect();
      x = rect.left;
      y = rect.bottom + 4;
      if (y + height > window.innerHeight - 8) {
        y = rect.top - height - 4;
      }
      if (x + width > window.innerWidth - 8) {
        x = rect.right - width;
      }
    } else {
      ({ x, y } = at);
    }
    x = Math.max(8, Math.min(x, window.innerWidth - width - 8));
    y = Math.max(8, Math.min(y, window.innerHeight - height - 8));
    menu.style.left = `${x}px`;
    menu.style.top = `${y}px`;
  }

  private handleKey(event: KeyboardEvent): void {
    const items = this.items();
    const current = items.findIndex((item) => item === document.activeElement);
    let next: number;
    switch (event.key) {
      case "ArrowDown":
        next = (current + 1) % items.length;
        break;
      case "ArrowUp":
        next = (current - 1 + items.length) % items.length;
        break;
      case "Home":
        next = 0;
        break;
      case "End":
        next = items.length - 1;
        break;
      case "Escape":
        event.preventDefault();
        event.stopPropagation();
        this.close(true);
        return;
      case "Tab":
        this.close(false);
        return;
      default:
        return;
    }
    event.preventDefault();
    items[next]?.focus();
  }
}
