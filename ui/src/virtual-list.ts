// A virtualized vertical list with rows of variable height, for chat histories of any length.
//
// Only the rows in and near the viewport are in the DOM. Every row's height is measured once it
// is rendered (and again by a ResizeObserver when it changes); rows never rendered count with
// an estimate. Rows are absolutely positioned inside one "content" element whose height is the
// sum of all heights, so the scrollbar stays truthful.
//
// Scroll position: when the user is at the bottom ("pinned"), the list stays at the bottom
// whatever changes (new rows, rows growing, the window resizing). Otherwise the first visible row
// is the anchor: after any change (rows prepended, estimates replaced by measurements above the
// viewport) the scroll position is moved so that this row stays exactly where it was on screen.
// The browser's own scroll anchoring is switched off in CSS (overflow-anchor: none), as it would
// fight this.
//
// The arithmetic (offsets, which rows are visible, anchors) is in virtual-list-layout.ts.

import { EPSILON_PX, isNearBottom, RowLayout } from "./virtual-list-layout";

export type VirtualListOptions<T> = {
  /** The scrolling element. The list owns its content; put nothing else in it. */
  viewport: HTMLElement;
  /** A stable, unique key per item. */
  key: (item: T) => string;
  /** Builds the row. Called again when `same` says the item changed. */
  render: (item: T) => HTMLElement;
  /** Height to assume until the row has been rendered and measured. */
  estimateHeight: (item: T) => number;
  /** Whether a row built for `a` still shows `b` correctly; identity by default. */
  same?: (a: T, b: T) => boolean;
  /** Extra pixels rendered above and below the viewport. */
  overscanPx?: number;
  /** `onNearTop` fires while the viewport's top is within this distance of the first row. */
  nearTopPx?: number;
  /** Within this distance of the bottom the list counts as pinned to it. */
  pinThresholdPx?: number;
  paddingTopPx?: number;
  paddingBottomPx?: number;
  onNearTop?: () => void;
  onPinnedChange?: (pinned: boolean) => void;
};

type Row<T> = { element: HTMLElement; item: T };
type Anchor = { key: string; delta: number };

/** Rendering can move rows and change what is visible; a few passes settle it. */
const MAX_PASSES = 4;

export class VirtualList<T> {
  private readonly options: VirtualListOptions<T>;
  private readonly viewport: HTMLElement;
  private readonly content: HTMLElement;
  private readonly observer: ResizeObserver;
  private readonly keyOfElement = new WeakMap<Element, string>();

  private items: readonly T[] = [];
  private keys: string[] = [];
  private indexOf = new Map<string, number>();
  /** Measured heights by key; kept across `setItems` so re-ordered or re-added rows keep theirs. */
  private readonly heights = new Map<string, number>();
  /** Estimates by key, computed once: estimating every row on every change would be O(n) work. */
  private readonly estimates = new Map<string, number>();
  /** Heights and offsets of the rows, one per key. */
  private readonly geometry: RowLayout;
  private readonly rows = new Map<string, Row<T>>();
  private pinned = true;
  private lastViewportHeight = 0;
  private updating = false;

  private readonly handleScroll = (): void => {
    this.updatePinned();
    this.update();
  };

  constructor(options: VirtualListOptions<T>) {
    this.options = options;
    this.viewport = options.viewport;
    this.geometry = new RowLayout(options.paddingTopPx ?? 0);
    this.viewport.classList.add("vlist-viewport");
    this.content = document.createElement("div");
    this.content.className = "vlist-content";
    this.viewport.replaceChildren(this.content);
    this.observer = new ResizeObserver((entries) => this.handleResize(entries));
    this.observer.observe(this.viewport);
    this.viewport.addEventListener("scroll", this.handleScroll, { passive: true });
    this.layout();
  }

  /** Replaces the items (any change: append, prepend, update, removal). */
  setItems(items: readonly T[]): void {
    const anchor = this.captureAnchor();
    this.items = items;
    this.keys = items.map(this.options.key);
    this.indexOf = new Map(this.keys.map((key, index) => [key, index]));
    if (this.heights.size + this.estimates.size > 4 * this.keys.length + 512) {
      // Drop sizes of rows that are gone for good, so a long session doesn't grow the maps.
      for (const map of [this.heights, this.estimates]) {
        for (const key of map.keys()) {
          if (!this.indexOf.has(key)) {
            map.delete(key);
          }
        }
      }
    }
    const sizes = new Float64Array(items.length);
    for (let i = 0; i < items.length; i += 1) {
      sizes[i] = this.sizeOf(this.keys[i], items[i]);
    }
    this.geometry.setSizes(sizes);
    this.layout();
    this.restore(anchor);
    this.update();
  }

  /** Forgets everything (another conversation): empty and pinned to the bottom. */
  reset(): void {
    for (const key of [...this.rows.keys()]) {
      this.removeRow(key);
    }
    this.heights.clear();
    this.estimates.clear();
    this.items = [];
    this.keys = [];
    this.indexOf = new Map();
    this.geometry.setSizes(new Float64Array(0));
    this.setPinned(true);
    this.layout();
    this.viewport.scrollTop = 0;
  }

  /** The rendered element of a row, if it is in the DOM. */
  elementOf(key: string): HTMLElement | null {
    return this.rows.get(key)?.element ?? null;
  }

  isPinned(): boolean {
    return this.pinned;
  }

  scrollToBottom(): void {
    this.setPinned(true);
    this.viewport.scrollTop = this.viewport.scrollHeight;
    this.update();
  }

  /** Brings a row into view, centred. */
  scrollToKey(key: string): void {
    const index = this.indexOf.get(key);
    if (index === undefined) {
      return;
    }
    this.viewport.scrollTop = this.geometry.centredScrollTop(index, this.viewport.clientHeight);
    this.updatePinned();
    this.update();
    // The estimate may have been off; once measured, centre again on the real position.
    this.viewport.scrollTop = this.geometry.centredScrollTop(index, this.viewport.clientHeight);
    this.updatePinned();
    this.update();
  }

  destroy(): void {
    this.observer.disconnect();
    this.viewport.removeEventListener("scroll", this.handleScroll);
    this.rows.clear();
    this.content.remove();
  }

  // -------------------------------------------------------------------------------------------

  private totalHeight(): number {
    return this.geometry.offset(this.geometry.count) + (this.options.paddingBottomPx ?? 0);
  }

  private sizeOf(key: string | undefined, item: T | undefined): number {
    if (key === undefined || item === undefined) {
      return 0;
    }
    const measured = this.heights.get(key);
    if (measured !== undefined) {
      return measured;
    }
    let estimate = this.estimates.get(key);
    if (estimate === undefined) {
      estimate = this.options.estimateHeight(item);
      this.estimates.set(key, estimate);
    }
    return estimate;
  }

  /** Recomputes the offsets (from row `from` on) and the content's height. */
  private layout(from = 0): void {
    this.geometry.layout(from);
    this.content.style.height = `${this.totalHeight()}px`;
  }

  private updatePinned(): void {
    const viewport = this.viewport;
    this.setPinned(
      isNearBottom(viewport.scrollHeight, viewport.scrollTop, viewport.clientHeight, this.options.pinThresholdPx ?? 24),
    );
  }

  private setPinned(pinned: boolean): void {
    if (pinned !== this.pinned) {
      this.pinned = pinned;
      this.options.onPinnedChange?.(pinned);
    }
  }

  private captureAnchor(): Anchor | null {
    const anchor = this.geometry.anchorAt(this.viewport.scrollTop);
    const key = anchor === null ? undefined : this.keys[anchor.index];
    return anchor === null || key === undefined ? null : { key, delta: anchor.delta };
  }

  /** After a layout change: stay at the bottom, or keep the anchor row where it was. */
  private restore(anchor: Anchor | null): void {
    if (this.pinned) {
      this.viewport.scrollTop = this.viewport.scrollHeight;
      return;
    }
    if (anchor === null) {
      return;
    }
    const index = this.indexOf.get(anchor.key);
    if (index !== undefined) {
      const target = this.geometry.scrollTopFor({ index, delta: anchor.delta });
      if (Math.abs(this.viewport.scrollTop - target) >= 1) {
        this.viewport.scrollTop = target;
      }
    }
  }

  /** Renders the rows the viewport needs, measuring new ones, until nothing moves. */
  private update(): void {
    if (this.updating) {
      return;
    }
    this.updating = true;
    try {
      for (let pass = 0; pass < MAX_PASSES; pass += 1) {
        if (!this.renderPass()) {
          break;
        }
      }
    } finally {
      this.updating = false;
    }
    this.checkNearTop();
  }

  /** One pass; returns whether measured heights changed the layout. */
  private renderPass(): boolean {
    const { first, last } = this.geometry.visibleRange(
      this.viewport.scrollTop,
      this.viewport.clientHeight,
      this.options.overscanPx ?? 600,
    );

    const focused = document.activeElement;
    for (const [key, row] of this.rows) {
      const index = this.indexOf.get(key);
      const outside = index === undefined || index < first || index > last;
      const stale = index !== undefined && !this.isSame(row.item, this.items[index]);
      // A row holding the focus (an edit box, a menu button) stays while it is still an item,
      // so keyboard users and inline edits don't lose their place when scrolling.
      const keep = index !== undefined && !stale && focused !== null && row.element.contains(focused);
      if ((outside && !keep) || stale) {
        this.removeRow(key);
      }
    }

    const fresh: string[] = [];
    for (let index = first; index <= last; index += 1) {
      const key = this.keys[index];
      const item = this.items[index];
      if (key === undefined || item === undefined || this.rows.has(key)) {
        continue;
      }
      const element = this.options.render(item);
      element.classList.add("vlist-row");
      this.keyOfElement.set(element, key);
      this.content.appendChild(element);
      this.rows.set(key, { element, item });
      this.observer.observe(element);
      fresh.push(key);
    }

    let firstChanged = Infinity;
    if (fresh.length > 0) {
      const anchor = this.captureAnchor();
      for (const key of fresh) {
        const element = this.rows.get(key)?.element;
        const index = element === undefined ? -1 : this.recordHeight(key, element.getBoundingClientRect().height);
        if (index >= 0) {
          firstChanged = Math.min(firstChanged, index);
        }
      }
      if (firstChanged !== Infinity) {
        this.layout(firstChanged);
        this.restore(anchor);
      }
    }
    this.positionRows();
    return firstChanged !== Infinity;
  }

  private isSame(a: T, b: T | undefined): boolean {
    if (b === undefined) {
      return false;
    }
    return this.options.same === undefined ? a === b : this.options.same(a, b);
  }

  /** Stores a measured height; returns the row's index if its size changed, else -1. */
  private recordHeight(key: string, height: number): number {
    this.heights.set(key, height);
    const index = this.indexOf.get(key);
    if (index === undefined || !this.geometry.resize(index, height)) {
      return -1;
    }
    return index;
  }

  /** Places rendered rows and keeps their DOM order equal to the visual order (screen readers). */
  private positionRows(): void {
    const ordered = [...this.rows.entries()]
      .map(([key, row]) => ({ row, index: this.indexOf.get(key) ?? 0 }))
      .sort((a, b) => a.index - b.index);
    let previous: Element | null = null;
    for (const { row, index } of ordered) {
      const transform = `translateY(${this.geometry.offset(index)}px)`;
      if (row.element.style.transform !== transform) {
        row.element.style.transform = transform;
      }
      const expectedNext: Element | null =
        previous === null ? this.content.firstElementChild : previous.nextElementSibling;
      if (expectedNext !== row.element) {
        this.content.insertBefore(row.element, expectedNext);
      }
      previous = row.element;
    }
  }

  private removeRow(key: string): void {
    const row = this.rows.get(key);
    if (row !== undefined) {
      this.observer.unobserve(row.element);
      row.element.remove();
      this.rows.delete(key);
    }
  }

  private handleResize(entries: readonly ResizeObserverEntry[]): void {
    const anchor = this.captureAnchor();
    let changed = false;
    let firstChanged = Infinity;
    for (const entry of entries) {
      if (entry.target === this.viewport) {
        const height = this.viewport.clientHeight;
        if (Math.abs(height - this.lastViewportHeight) >= EPSILON_PX) {
          this.lastViewportHeight = height;
          changed = true;
        }
        continue;
      }
      const key = this.keyOfElement.get(entry.target);
      if (key === undefined || this.rows.get(key)?.element !== entry.target) {
        continue;
      }
      const size = entry.borderBoxSize[0];
      const height = size !== undefined ? size.blockSize : entry.target.getBoundingClientRect().height;
      const index = this.recordHeight(key, height);
      if (index >= 0) {
        firstChanged = Math.min(firstChanged, index);
        changed = true;
      }
    }
    if (changed) {
      this.layout(firstChanged === Infinity ? this.keys.length : firstChanged);
      this.restore(anchor);
      this.update();
    }
  }

  private checkNearTop(): void {
    if (this.keys.length > 0 && this.viewport.scrollTop <= (this.options.nearTopPx ?? 800)) {
      this.options.onNearTop?.();
    }
  }
}
