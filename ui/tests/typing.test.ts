import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import type { Typing } from "../src/ipc";
import { TypingTracker } from "../src/typing";

function typing(conversationId: string, userId: string, expiresInMs = 5_000): Typing {
  return { conversation_id: conversationId, user_id: userId, display_name: `name of ${userId}`, expires_in_ms: expiresInMs };
}

describe("TypingTracker", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
  afterEach(() => mock.timers.reset());

  test("lists typists per conversation in the order they started", () => {
    const tracker = new TypingTracker();
    tracker.typing(typing("c1", "bob"));
    tracker.typing(typing("c2", "cy"));
    tracker.typing(typing("c1", "ann"));
    // Bob typing again renews his entry without moving him behind Ann.
    tracker.typing(typing("c1", "bob"));
    assert.deepEqual(tracker.names("c1"), ["name of bob", "name of ann"]);
    assert.deepEqual(tracker.names("c2"), ["name of cy"]);
    assert.deepEqual(tracker.names("nobody-here"), []);
  });

  test("an entry ends when it expires, and a renewal restarts its time", () => {
    const tracker = new TypingTracker();
    tracker.typing(typing("c1", "bob", 5_000));
    mock.timers.tick(4_000);
    tracker.typing(typing("c1", "bob", 5_000));
    mock.timers.tick(4_000);
    assert.deepEqual(tracker.names("c1"), ["name of bob"], "the renewal should have kept Bob");
    mock.timers.tick(1_000);
    assert.deepEqual(tracker.names("c1"), []);
  });

  test("a negative expiry (clocks apart) ends the entry at the next turn", () => {
    const tracker = new TypingTracker();
    tracker.typing(typing("c1", "bob", -200));
    assert.deepEqual(tracker.names("c1"), ["name of bob"]);
    mock.timers.tick(0);
    assert.deepEqual(tracker.names("c1"), []);
  });

  test("a message from a typist ends their entry at once; others stay", () => {
    const tracker = new TypingTracker();
    tracker.typing(typing("c1", "bob"));
    tracker.typing(typing("c1", "ann"));
    tracker.stopped("c1", "bob");
    assert.deepEqual(tracker.names("c1"), ["name of ann"]);
    // Its timer was cleared: expiring later changes nothing and tells no one.
    const told: string[] = [];
    tracker.subscribe((conversationId) => told.push(conversationId));
    tracker.stopped("c1", "bob");
    mock.timers.tick(5_000);
    assert.deepEqual(told, ["c1"], "only Ann's expiry should be told");
    assert.deepEqual(tracker.names("c1"), []);
  });

  test("listeners hear of every change with its conversation, until they unsubscribe", () => {
    const tracker = new TypingTracker();
    const told: string[] = [];
    const unsubscribe = tracker.subscribe((conversationId) => told.push(conversationId));
    tracker.typing(typing("c1", "bob"));
    tracker.typing(typing("c2", "ann"));
    tracker.clear();
    assert.deepEqual(told, ["c1", "c2", "c1", "c2"]);
    assert.deepEqual(tracker.names("c1"), []);
    // Nothing more is told once cleared, even when the entries' times would have run out.
    mock.timers.tick(10_000);
    assert.equal(told.length, 4);
    unsubscribe();
    tracker.typing(typing("c1", "bob"));
    assert.equal(told.length, 4);
    assert.deepEqual(tracker.names("c1"), ["name of bob"]);
  });
});
