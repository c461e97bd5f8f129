import "./time-zone";

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { subtitleOf } from "../src/chat-header";
import { lastSeen } from "../src/format";
import type { ConversationView, User } from "../src/ipc";

const MINUTE = 60_000;
const NOW = new Date(2024, 4, 14, 15, 0).getTime();

function user(id: string, fields: Partial<User> = {}): User {
  return {
    id,
    username: id,
    display_name: `name of ${id}`,
    status_text: "",
    avatar_url: null,
    presence: null,
    ...fields,
  };
}

/** A direct conversation with bob, as `fields` change it. */
function conversation(fields: Partial<ConversationView> = {}): ConversationView {
  return {
    id: "c",
    kind: "direct",
    title: "name of bob",
    avatar_url: null,
    peer_id: "bob",
    online: false,
    members: [user("me"), user("bob")],
    owner_id: null,
    last_message: null,
    last_activity_at: 0,
    unread_count: 0,
    muted: false,
    ...fields,
  };
}

describe("subtitleOf", () => {
  test("a direct conversation says Online while the other member is, whatever else is known", () => {
    const bob = user("bob", { status_text: "In a meeting", presence: { online: true, last_seen_at: NOW - MINUTE } });
    assert.deepEqual(subtitleOf(conversation({ online: true, members: [user("me"), bob] }), NOW), {
      text: "Online",
      tooltip: null,
    });
  });

  test("offline, when they were last seen comes before their status text", () => {
    const seen = NOW - 5 * MINUTE;
    const bob = user("bob", { status_text: "In a meeting", presence: { online: false, last_seen_at: seen } });
    const subtitle = subtitleOf(conversation({ members: [user("me"), bob] }), NOW);
    assert.deepEqual(subtitle, { text: lastSeen(seen, NOW), tooltip: null });
    assert.equal(subtitle.text, "Last seen 5 min ago");
  });

  test("without a last-seen time the status text shows, and without that nothing", () => {
    const never = user("bob", { status_text: "In a meeting", presence: { online: false, last_seen_at: null } });
    assert.equal(subtitleOf(conversation({ members: [user("me"), never] }), NOW).text, "In a meeting");
    const hidden = user("bob", { status_text: "Away" });
    assert.equal(subtitleOf(conversation({ members: [user("me"), hidden] }), NOW).text, "Away");
    const quiet = conversation({ members: [user("me"), user("bob")] });
    assert.deepEqual(subtitleOf(quiet, NOW), { text: "", tooltip: null });
    // The peer may be missing from the members (left, or not loaded yet).
    assert.equal(subtitleOf(conversation({ members: [user("me")] }), NOW).text, "");
  });

  test("a group counts its members and names them in the tooltip, online or not", () => {
    const members = [user("me"), user("ann"), user("bob")];
    const group = conversation({ kind: "group", title: "Team", peer_id: null, online: true, members });
    assert.deepEqual(subtitleOf(group, NOW), {
      text: "3 members",
      tooltip: "name of me, name of ann, name of bob",
    });
    const alone = conversation({ kind: "group", peer_id: null, members: [user("me")] });
    assert.deepEqual(subtitleOf(alone, NOW), { text: "1 member", tooltip: "name of me" });
  });
});
