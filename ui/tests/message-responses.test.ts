import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MessageView, User } from "../src/ipc";
import { mentionAt, suggestions } from "../src/message-responses";
import { quoteOf } from "../src/message-row";

function user(id: string, displayName: string): User {
  return { id, username: id, display_name: displayName, status_text: "", avatar_url: null, presence: null };
}

describe("mentionAt", () => {
  test("the @word at the caret", () => {
    assert.deepEqual(mentionAt("hi @Bo", 6), { start: 3, query: "bo" });
    assert.deepEqual(mentionAt("@", 1), { start: 0, query: "" });
    assert.deepEqual(mentionAt("hi @bob and", 7), { start: 3, query: "bob" });
  });

  test("not in an address, nor after the word ended", () => {
    assert.equal(mentionAt("mail bob@ex", 11), null);
    assert.equal(mentionAt("hi @bob ", 8), null);
  });
});

describe("suggestions", () => {
  const members = [user("me", "Me Myself"), user("bob", "Bob Builder"), user("carol", "Carol Bobson")];

  test("by username or any word of the display name, never me", () => {
    assert.deepEqual(
      suggestions(members, "bo", "me").map((member) => member.id),
      ["bob", "carol"],
    );
    assert.deepEqual(
      suggestions(members, "m", "me").map((member) => member.id),
      [],
    );
    assert.equal(suggestions(members, "", "me").length, 2);
  });
});

describe("quoteOf", () => {
  const reply = {
    reply_to: { message_id: "o", seq: 3, sender_name: "Bob", excerpt: "old text", deleted: false },
  } as unknown as MessageView;

  test("the loaded original wins and follows its deletion", () => {
    const original = { seq: 3, sender_name: "Bob", body: "new\ntext", deleted_at: null } as unknown as MessageView;
    assert.deepEqual(quoteOf(reply, original), {
      messageId: "o",
      seq: 3,
      senderName: "Bob",
      excerpt: "new text",
      deleted: false,
    });
    const deleted = { ...original, body: "", deleted_at: 5 } as MessageView;
    assert.equal(quoteOf(reply, deleted)?.deleted, true);
  });

  test("without it, what Rust found", () => {
    assert.equal(quoteOf(reply, undefined)?.excerpt, "old text");
  });
});
