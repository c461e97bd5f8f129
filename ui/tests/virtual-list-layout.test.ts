import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isNearBottom, RowLayout } from "../src/virtual-list-layout";

/** Rows of the given heights under `paddingTop`, laid out. */
function laidOut(heights: number[], paddingTop = 0): RowLayout {
  const layout = new RowLayout(paddingTop);
  layout.setSizes(Float64Array.from(heights));
  layout.layout();
  return layout;
}

function offsets(layout: RowLayout): number[] {
  return Array.from({ length: layout.count + 1 }, (_, index) => layout.offset(index));
}

describe("RowLayout offsets", () => {
  test("each row starts where the one above ends, below the top padding", () => {
    assert.deepEqual(offsets(laidOut([40, 60, 25], 8)), [8, 48, 108, 133]);
  });

  test("no rows: the end is the top padding", () => {
    const layout = laidOut([], 12);
    assert.equal(layout.count, 0);
    assert.equal(layout.offset(0), 12);
  });

  test("a row that grows moves the rows below it once laid out from it", () => {
    const layout = laidOut([40, 60, 25, 10]);
    assert.equal(layout.resize(1, 100), true);
    // Not laid out yet: offsets are those of before.
    assert.equal(layout.offset(2), 100);
    layout.layout(1);
    assert.deepEqual(offsets(layout), [0, 40, 140, 165, 175]);
  });

  test("a change of less than half a pixel is noise and is not recorded", () => {
    const layout = laidOut([40, 60]);
    assert.equal(layout.resize(0, 40.4), false);
    layout.layout(0);
    assert.equal(layout.offset(1), 40);
    assert.equal(layout.resize(0, 40.5), true);
    layout.layout(0);
    assert.equal(layout.offset(1), 40.5);
  });

  test("new sizes of another count are laid out whole, whatever `from` says", () => {
    const layout = laidOut([10, 10]);
    layout.setSizes(Float64Array.from([5, 6, 7]));
    layout.layout(2);
    assert.deepEqual(offsets(layout), [0, 5, 11, 18]);
  });
});

describe("RowLayout lookups", () => {
  const layout = laidOut([40, 60, 25, 10], 8); // rows at 8, 48, 108, 133; end 143

  test("indexAt finds the row under a position, a row's top belonging to it", () => {
    assert.equal(layout.indexAt(8), 0);
    assert.equal(layout.indexAt(47.9), 0);
    assert.equal(layout.indexAt(48), 1);
    assert.equal(layout.indexAt(132), 2);
    assert.equal(layout.indexAt(133), 3);
  });

  test("indexAt clamps positions above the first row and below the last", () => {
    assert.equal(layout.indexAt(-50), 0);
    assert.equal(layout.indexAt(0), 0);
    assert.equal(layout.indexAt(10_000), 3);
    assert.equal(laidOut([]).indexAt(100), 0);
  });

  test("agrees with a linear scan on many rows", () => {
    const heights = Array.from({ length: 500 }, (_, index) => 20 + ((index * 37) % 90));
    const many = laidOut(heights, 4);
    for (let y = 0; y < many.offset(many.count); y += 13) {
      let expected = 0;
      while (expected + 1 < many.count && many.offset(expected + 1) <= y) {
        expected += 1;
      }
      assert.equal(many.indexAt(y), expected, `at y=${y}`);
    }
  });

  test("visibleRange covers the viewport and the overscan on both sides", () => {
    // Viewport from 50 to 100: rows 1 (48-108) only; 30 px of overscan reaches rows 0 and 2.
    assert.deepEqual(layout.visibleRange(50, 50, 0), { first: 1, last: 1 });
    assert.deepEqual(layout.visibleRange(50, 50, 30), { first: 0, last: 2 });
    assert.deepEqual(laidOut([]).visibleRange(0, 500, 600), { first: 0, last: -1 });
  });

  test("centredScrollTop puts the row's middle in the viewport's middle", () => {
    // Row 1: 48 to 108, middle 78; a viewport 200 high centred on it starts at -22.
    assert.equal(layout.centredScrollTop(1, 200), -22);
    assert.equal(layout.centredScrollTop(3, 10), 133);
  });
});

describe("RowLayout anchors", () => {
  test("an anchored row stays where it was on screen when rows above change", () => {
    const layout = laidOut([40, 60, 25, 10]);
    const anchor = layout.anchorAt(70);
    assert.deepEqual(anchor, { index: 1, delta: 30 });
    // The row above is measured taller than its estimate.
    layout.resize(0, 100);
    layout.layout(0);
    assert.ok(anchor !== null);
    assert.equal(layout.scrollTopFor(anchor), 130);
  });

  test("rows prepended: the anchor's new index keeps the same distance", () => {
    const layout = laidOut([40, 60]);
    const anchor = layout.anchorAt(50);
    assert.deepEqual(anchor, { index: 1, delta: 10 });
    layout.setSizes(Float64Array.from([30, 30, 40, 60]));
    layout.layout();
    assert.equal(layout.scrollTopFor({ index: 3, delta: 10 }), 110);
  });

  test("there is no anchor without rows", () => {
    assert.equal(laidOut([]).anchorAt(0), null);
  });
});

describe("isNearBottom", () => {
  test("is true within the threshold of the end and false beyond it", () => {
    // Content 1000 high, viewport 300: the bottom is at scrollTop 700.
    assert.equal(isNearBottom(1000, 700, 300, 24), true);
    assert.equal(isNearBottom(1000, 676, 300, 24), true);
    assert.equal(isNearBottom(1000, 675, 300, 24), false);
    // Content shorter than the viewport is always at its bottom.
    assert.equal(isNearBottom(200, 0, 300, 24), true);
  });
});
