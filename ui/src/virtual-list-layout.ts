// The arithmetic of the virtual list (virtual-list.ts), apart from the DOM: every row's height,
// the rows' offsets in the content, which rows a scroll position shows, and where a row must be
// for the viewport to keep or centre it. Pure, so it is unit-tested (ui/tests/).

/** Differences below this are measurement noise (sub-pixel snapping), not a new height. */
export const EPSILON_PX = 0.5;

/** A row and how far the viewport's top is below the row's top. */
export type RowAnchor = { index: number; delta: number };

export class RowLayout {
  private readonly paddingTopPx: number;
  /** sizes[i]: height of row i, measured or estimated. */
  private sizes: Float64Array = new Float64Array(0);
  /** offsets[i] is the top of row i in the content; offsets[n] is the end of the last row. */
  private offsets = new Float64Array(1);

  constructor(paddingTopPx: number) {
    this.paddingTopPx = paddingTopPx;
  }

  get count(): number {
    return this.sizes.length;
  }

  /** Replaces every row's height (one per row, in order); `layout()` must follow. */
  setSizes(sizes: Float64Array): void {
    this.sizes = sizes;
  }

  /**
   * Sets the height of row `index`; returns whether it changed by more than noise. The offsets
   * are not updated: `layout(index)` must follow.
   */
  resize(index: number, height: number): boolean {
    const previous = this.sizes[index] ?? 0;
    if (Math.abs(previous - height) < EPSILON_PX) {
      return false;
    }
    this.sizes[index] = height;
    return true;
  }

  /**
   * Recomputes the offsets from row `from` on. A loop of additions over typed arrays:
   * microseconds even for 10^5 rows.
   */
  layout(from = 0): void {
    const count = this.sizes.length;
    if (this.offsets.length !== count + 1) {
      this.offsets = new Float64Array(count + 1);
      from = 0;
    }
    const offsets = this.offsets;
    const sizes = this.sizes;
    offsets[0] = this.paddingTopPx;
    for (let i = Math.max(0, from); i < count; i += 1) {
      offsets[i + 1] = (offsets[i] ?? 0) + (sizes[i] ?? 0);
    }
  }

  /** Top of row `index` in the content; `offset(count)` is the end of the last row. */
  offset(index: number): number {
    return this.offsets[index] ?? 0;
  }

  /** Index of the row at content position `y` (clamped to the rows that exist). */
  indexAt(y: number): number {
    let low = 0;
    let high = this.sizes.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.offset(middle) <= y) {
        low = middle;
      } else {
        high = middle - 1;
      }
    }
    return low;
  }

  /**
   * The rows to render for a viewport scrolled to `top` and `height` high, with `overscanPx`
   * more above and below; `last` is -1 when there are no rows.
   */
  visibleRange(top: number, height: number, overscanPx: number): { first: number; last: number } {
    if (this.sizes.length === 0) {
      return { first: 0, last: -1 };
    }
    return {
      first: this.indexAt(Math.max(0, top - overscanPx)),
      last: this.indexAt(top + height + overscanPx),
    };
  }

  /** The row at the viewport's top (`top`), to keep in place across a change; null if no rows. */
  anchorAt(top: number): RowAnchor | null {
    if (this.sizes.length === 0) {
      return null;
    }
    const index = this.indexAt(top);
    return { index, delta: top - this.offset(index) };
  }

  /** The scroll position that puts row `index` where `anchorAt` found it. */
  scrollTopFor(anchor: RowAnchor): number {
    return this.offset(anchor.index) + anchor.delta;
  }

  /** The scroll position that centres row `index` in a viewport `viewportHeight` high. */
  centredScrollTop(index: number, viewportHeight: number): number {
    const top = this.offset(index);
    const height = this.offset(index + 1) - top;
    return top - (viewportHeight - height) / 2;
  }
}

/** Whether a viewport is within `thresholdPx` of its bottom (the list then follows new rows). */
export function isNearBottom(
  scrollHeight: number,
  scrollTop: number,
  clientHeight: number,
  thresholdPx: number,
): boolean {
  return scrollHeight - scrollTop - clientHeight <= thresholdPx;
}
