import "./time-zone";

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  callDuration,
  clockTime,
  dayKey,
  dayLabel,
  hashBucket,
  initials,
  lastSeen,
  plural,
  relativeTime,
  typingText,
} from "../src/format";

/** A local time (Europe/Berlin, see time-zone.ts); months count from 1. */
function local(year: number, month: number, day: number, hour = 12, minute = 0): number {
  return new Date(year, month - 1, day, hour, minute).getTime();
}

const MINUTE = 60_000;

describe("dayKey", () => {
  test("is the same all through one local day and changes at local midnight", () => {
    assert.equal(dayKey(local(2024, 5, 14, 0, 0)), dayKey(local(2024, 5, 14, 23, 59)));
    assert.notEqual(dayKey(local(2024, 5, 14, 23, 59)), dayKey(local(2024, 5, 15, 0, 0)));
    assert.equal(dayKey(local(2024, 5, 14)), "2024-5-14");
  });
});

describe("dayLabel", () => {
  const now = local(2024, 5, 14, 9, 30);

  test("says Today and Yesterday by calendar day, not by 24 hours", () => {
    assert.equal(dayLabel(local(2024, 5, 14, 0, 5), now), "Today");
    assert.equal(dayLabel(local(2024, 5, 13, 23, 55), now), "Yesterday");
    assert.equal(dayLabel(local(2024, 5, 13, 0, 5), now), "Yesterday");
  });

  test("counts days across the 23-hour and the 25-hour day of daylight saving time", () => {
    // In Europe/Berlin 31 March 2024 has 23 hours and 27 October 2024 has 25.
    assert.equal(dayLabel(local(2024, 3, 31, 0, 30), local(2024, 4, 1, 0, 10)), "Yesterday");
    assert.equal(dayLabel(local(2024, 10, 27, 0, 30), local(2024, 10, 28, 23, 30)), "Yesterday");
    assert.equal(dayLabel(local(2024, 10, 28, 0, 0), local(2024, 10, 28, 23, 59)), "Today");
    assert.ok(dayLabel(local(2024, 3, 30, 23, 30), local(2024, 4, 1, 0, 10)).includes("30"));
  });

  test("gives the date, with the year only when it is another year", () => {
    const thisYear = dayLabel(local(2024, 2, 3), now);
    const lastYear = dayLabel(local(2023, 2, 3), now);
    assert.ok(!["Today", "Yesterday"].includes(thisYear));
    assert.ok(!thisYear.includes("2024"), thisYear);
    assert.ok(lastYear.includes("2023"), lastYear);
  });
});

describe("relativeTime", () => {
  const now = local(2024, 5, 14, 15, 0);

  test("says now under a minute and minutes under an hour", () => {
    assert.equal(relativeTime(now - 59_999, now), "now");
    assert.equal(relativeTime(now, now), "now");
    assert.equal(relativeTime(now - MINUTE, now), "1 min");
    assert.equal(relativeTime(now - 59 * MINUTE - 59_000, now), "59 min");
  });

  test("gives the clock time for earlier today and Yesterday for the day before", () => {
    const morning = local(2024, 5, 14, 8, 5);
    assert.equal(relativeTime(morning, now), clockTime(morning));
    assert.equal(relativeTime(local(2024, 5, 13, 22, 0), now), "Yesterday");
  });

  test("gives the weekday within a week, then the date", () => {
    const threeDaysAgo = local(2024, 5, 11, 15, 0);
    const weekday = new Intl.DateTimeFormat(undefined, { weekday: "short" }).format(threeDaysAgo);
    assert.equal(relativeTime(threeDaysAgo, now), weekday);
    const twoWeeksAgo = relativeTime(local(2024, 4, 30), now);
    assert.notEqual(twoWeeksAgo, new Intl.DateTimeFormat(undefined, { weekday: "short" }).format(local(2024, 4, 30)));
    assert.ok(!twoWeeksAgo.includes("2024"), twoWeeksAgo);
    assert.ok(relativeTime(local(2022, 4, 30), now).includes("2022"));
  });
});

describe("lastSeen", () => {
  const now = local(2024, 5, 14, 15, 0);

  test("words each range", () => {
    assert.equal(lastSeen(now - 10_000, now), "Last seen just now");
    assert.equal(lastSeen(now - 5 * MINUTE, now), "Last seen 5 min ago");
    const morning = local(2024, 5, 14, 8, 5);
    assert.equal(lastSeen(morning, now), `Last seen today at ${clockTime(morning)}`);
    const lastNight = local(2024, 5, 13, 23, 0);
    assert.equal(lastSeen(lastNight, now), `Last seen yesterday at ${clockTime(lastNight)}`);
    const older = lastSeen(local(2024, 5, 1), now);
    assert.match(older, /^Last seen .*2024/u);
  });
});

describe("initials", () => {
  test("takes the first and last words' first letters, upper-cased", () => {
    assert.equal(initials("ann lee"), "AL");
    assert.equal(initials("Ann Marie  Lee"), "AL");
    assert.equal(initials("bob"), "B");
  });

  test("skips punctuation and keeps letters of any script and digits", () => {
    assert.equal(initials("(ann) 'lee'"), "AL");
    assert.equal(initials("élise ørsted"), "ÉØ");
    assert.equal(initials("team 42"), "T4");
  });

  test("is empty for a name without letters", () => {
    assert.equal(initials(""), "");
    assert.equal(initials("  -- "), "");
  });
});

describe("hashBucket", () => {
  test("is the Java-style string hash modulo the buckets", () => {
    // (97 * 31 + 98) % 8
    assert.equal(hashBucket("ab", 8), 3105 % 8);
    assert.equal(hashBucket("", 8), 0);
  });

  test("stays in range and stable for long text whose hash overflows", () => {
    const text = "a rather long display name that overflows 32 bits ".repeat(20);
    const bucket = hashBucket(text, 8);
    assert.ok(Number.isInteger(bucket) && bucket >= 0 && bucket < 8, String(bucket));
    assert.equal(hashBucket(text, 8), bucket);
  });

  test("spreads different names over the buckets", () => {
    const used = new Set(["ann", "bob", "cat", "dan", "eve", "fay", "gus", "hal", "ivy", "jon"].map((name) => hashBucket(name, 8)));
    assert.ok(used.size >= 4, `only ${used.size} buckets used`);
  });
});

describe("typingText", () => {
  test("names one or two people and counts more", () => {
    assert.equal(typingText([]), "");
    assert.equal(typingText(["Bob"]), "Bob is typing…");
    assert.equal(typingText(["Bob", "Ann"]), "Bob and Ann are typing…");
    assert.equal(typingText(["Bob", "Ann", "Cy"]), "Several people are typing…");
  });
});

describe("plural", () => {
  test("uses the singular for exactly one", () => {
    assert.equal(plural(1, "message", "messages"), "1 message");
    assert.equal(plural(0, "message", "messages"), "0 messages");
    assert.equal(plural(2, "message", "messages"), "2 messages");
  });
});

describe("callDuration", () => {
  test("is mm:ss under an hour and h:mm:ss from an hour", () => {
    assert.equal(callDuration(0), "00:00");
    assert.equal(callDuration(7_999), "00:07");
    assert.equal(callDuration(182_000), "03:02");
    assert.equal(callDuration(3_599_000), "59:59");
    assert.equal(callDuration(3_600_000), "1:00:00");
    assert.equal(callDuration(3_849_000), "1:04:09");
  });

  test("shows a negative time (clocks apart) as zero", () => {
    assert.equal(callDuration(-5_000), "00:00");
  });
});
