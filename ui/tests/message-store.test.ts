import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MessageView } from "../src/ipc";
import { MessageStore } from "../src/message-store";

/** A message of conversation "c"; stored when `seq` is a number, pending when it is null. */
function message(clientId: string, seq: number | null, fields: Partial<MessageView> = {}): MessageView {
  return {
    client_id: clientId,
    id: seq === null ? null : `id-${clientId}`,
    conversation_id: "c",
    seq,
    sender_id: "u1",
    sender_name: "Ann",
    body: `body of ${clientId}`,
    created_at: 1_000,
    edited_at: null,
    deleted_at: null,
    mine: true,
    state: seq === null ? "sending" : "sent",
    error: null,
    call: null,
    reply_to: null,
    reactions: [],
    mentioned_usernames: [],
    mentions_me: false,
    attachments: [],
    pending_files: [],
    ...fields,
  };
}

function order(store: MessageStore): string[] {
  return store.list().map((held) => held.client_id);
}

describe("MessageStore order", () => {
  test("stored messages are in seq order whatever order they arrive in", () => {
    const store = new MessageStore();
    store.upsert([message("c", 30), message("a", 10)]);
    store.upsert([message("b", 20)]);
    store.upsert([message("d", 40)]);
    assert.deepEqual(order(store), ["a", "b", "c", "d"]);
  });

  test("pending messages come after every stored one, by creation time", () => {
    const store = new MessageStore();
    store.upsert([
      message("late", null, { created_at: 5_000 }),
      message("stored", 7, { created_at: 9_000 }),
      message("early", null, { created_at: 2_000 }),
    ]);
    assert.deepEqual(order(store), ["stored", "early", "late"]);
  });

  test("pending messages created in the same millisecond keep the order they arrived in", () => {
    const store = new MessageStore();
    store.upsert([message("first", null), message("second", null)]);
    store.upsert([message("third", null)]);
    // A newer state of the first keeps its place among equals.
    store.upsert([message("first", null, { state: "failed", error: "offline" })]);
    assert.deepEqual(order(store), ["first", "second", "third"]);
  });

  test("agrees with a full sort after many inserts in random order", () => {
    // A fixed pseudo-random sequence, so a failure can be reproduced.
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const store = new MessageStore();
    const expected = new Map<string, MessageView>();
    for (let i = 0; i < 300; i += 1) {
      const clientId = `m${Math.floor(random() * 120)}`;
      const pending = random() < 0.3;
      const next = message(clientId, pending ? null : Math.floor(random() * 1_000), {
        created_at: Math.floor(random() * 50),
      });
      store.upsert([next]);
      expected.set(clientId, next);
    }
    const held = store.list();
    assert.equal(held.length, expected.size);
    for (let i = 1; i < held.length; i += 1) {
      const before = held[i - 1];
      const after = held[i];
      assert.ok(before !== undefined && after !== undefined);
      if (before.seq !== null && after.seq !== null) {
        assert.ok(before.seq <= after.seq, `seq ${before.seq} before ${after.seq}`);
      } else {
        assert.ok(after.seq === null, "a stored message after a pending one");
        if (before.seq === null) {
          assert.ok(before.created_at <= after.created_at, "pending messages out of creation order");
        }
      }
    }
    for (const [clientId, latest] of expected) {
      assert.equal(store.get(clientId), latest);
    }
  });
});

describe("MessageStore merging", () => {
  test("a message is held once, in its newest state (dedup by client_id)", () => {
    const store = new MessageStore();
    store.upsert([message("a", 1), message("b", 2)]);
    const edited = message("a", 1, { body: "edited", edited_at: 2_000 });
    assert.equal(store.upsert([edited]), true);
    assert.equal(store.size, 2);
    assert.equal(store.get("a"), edited);
    assert.deepEqual(order(store), ["a", "b"]);
  });

  test("a pending message that is stored moves from the end to its seq", () => {
    const store = new MessageStore();
    store.upsert([message("a", 1), message("mine", null), message("c", 3)]);
    assert.deepEqual(order(store), ["a", "c", "mine"]);
    store.upsert([message("mine", 2, { state: "sent" })]);
    assert.deepEqual(order(store), ["a", "mine", "c"]);
    assert.equal(store.get("mine")?.state, "sent");
  });

  test("events that came while a page was loading win over the page (chat-view's merge)", () => {
    // ChatView holds the early events, clears, upserts the page, then the events again.
    const store = new MessageStore();
    const readEvent = message("b", 2, { state: "read" });
    store.upsert([readEvent, message("new", 4)]);
    const early = store.list();
    store.clear();
    store.upsert([message("a", 1), message("b", 2, { state: "sent" }), message("c", 3)]);
    store.upsert(early);
    assert.deepEqual(order(store), ["a", "b", "c", "new"]);
    assert.equal(store.get("b")?.state, "read");
  });

  test("remove drops a message and says whether there was one", () => {
    const store = new MessageStore();
    store.upsert([message("a", 1), message("p", null), message("b", 2)]);
    assert.equal(store.remove("p"), true);
    assert.equal(store.remove("p"), false);
    assert.equal(store.remove("unknown"), false);
    assert.deepEqual(order(store), ["a", "b"]);
    assert.equal(store.has("p"), false);
  });

  test("the list is replaced on every change, never mutated, and kept when nothing changes", () => {
    const store = new MessageStore();
    store.upsert([message("a", 1)]);
    const before = store.list();
    store.upsert([message("b", 2)]);
    assert.deepEqual(before.map((held) => held.client_id), ["a"]);
    assert.notEqual(store.list(), before);
    const current = store.list();
    assert.equal(store.upsert([]), false);
    assert.equal(store.list(), current);
    store.remove("a");
    assert.deepEqual(current.map((held) => held.client_id), ["a", "b"]);
  });

  test("oldestSeq is the lowest stored seq, ignoring pending messages", () => {
    const store = new MessageStore();
    assert.equal(store.oldestSeq(), null);
    store.upsert([message("p", null)]);
    assert.equal(store.oldestSeq(), null);
    store.upsert([message("b", 12), message("a", 9)]);
    assert.equal(store.oldestSeq(), 9);
  });

  test("clear forgets messages and their arrival order", () => {
    const store = new MessageStore();
    store.upsert([message("x", null), message("y", null)]);
    store.clear();
    assert.equal(store.size, 0);
    assert.equal(store.get("x"), undefined);
    store.upsert([message("y", null)]);
    store.upsert([message("x", null)]);
    assert.deepEqual(order(store), ["y", "x"]);
  });
});
