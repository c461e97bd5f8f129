import "./time-zone";

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pastedName } from "../src/attachment-tray";
import { attachmentsHeight, fileIcon, pictureSize } from "../src/attachments";
import { fileSize } from "../src/format";
import type { Attachment, MessageView } from "../src/ipc";
import { picturesOf } from "../src/picture-viewer";

function attachment(id: string, picture: { width: number; height: number } | null): Attachment {
  return {
    id,
    name: picture === null ? `${id}.pdf` : `${id}.jpg`,
    content_type: picture === null ? "application/pdf" : "image/jpeg",
    size: 1000,
    image:
      picture === null
        ? null
        : { ...picture, animated: false, thumbnail_url: `/api/attachments/${id}/thumbnail` },
    url: `/api/attachments/${id}`,
  };
}

function message(id: string | null, attachments: Attachment[], fields: Partial<MessageView> = {}): MessageView {
  return {
    client_id: `client-${id ?? "pending"}`,
    id,
    conversation_id: "c",
    seq: id === null ? null : 1,
    sender_id: "u1",
    sender_name: "Ann",
    body: "",
    created_at: 1_000,
    edited_at: null,
    deleted_at: null,
    mine: false,
    state: id === null ? "sending" : "sent",
    error: null,
    call: null,
    reply_to: null,
    reactions: [],
    mentioned_usernames: [],
    mentions_me: false,
    attachments,
    pending_files: [],
    ...fields,
  };
}

describe("pictures in messages", () => {
  test("are shown at their aspect ratio, shrunk to fit the box but never enlarged", () => {
    assert.deepEqual(pictureSize(4000, 3000), { width: 320, height: 240 });
    assert.deepEqual(pictureSize(1000, 4000), { width: 80, height: 320 });
    assert.deepEqual(pictureSize(100, 50), { width: 100, height: 50 });
    assert.deepEqual(pictureSize(0, 0), { width: 320, height: 320 });
  });

  test("take their height in the list's estimate before they load", () => {
    const tall = message("m1", [attachment("a", { width: 1000, height: 4000 }), attachment("b", null)]);
    assert.equal(attachmentsHeight(tall), 320 + 6 + 64 + 6);
    assert.equal(attachmentsHeight({ ...tall, deleted_at: 2_000 }), 0);
  });

  test("the viewer goes through the conversation's pictures in order, skipping deleted messages", () => {
    const messages = [
      message("m1", [attachment("a", { width: 10, height: 10 }), attachment("doc", null)]),
      message("m2", [attachment("b", { width: 10, height: 10 })], { deleted_at: 5 }),
      message(null, []),
      message("m3", [attachment("c", { width: 10, height: 10 }), attachment("d", { width: 10, height: 10 })]),
    ];
    const { pictures, index } = picturesOf(messages, "m3", "d");
    assert.deepEqual(
      pictures.map((picture) => picture.attachment.id),
      ["a", "c", "d"],
    );
    assert.equal(index, 2);
    assert.equal(picturesOf(messages, "m9", "x").index, 0);
  });
});

describe("file cards", () => {
  test("show a size people read", () => {
    assert.equal(fileSize(512), "512 B");
    assert.equal(fileSize(1536), "1.5 KB");
    assert.equal(fileSize(12 * 1024 * 1024), "12 MB");
    assert.equal(fileSize(1.25 * 1024 ** 3), "1.3 GB");
  });

  test("show an icon of the file's type", () => {
    assert.equal(fileIcon("image/png", "x.png"), "image");
    assert.equal(fileIcon("application/octet-stream", "backup.tar"), "archive");
    assert.equal(fileIcon("application/pdf", "report.pdf"), "file-text");
    assert.equal(fileIcon("audio/mpeg", "song.mp3"), "music");
    assert.equal(fileIcon("application/octet-stream", "tool.bin"), "file");
  });

  test("a pasted screenshot is named after when it was pasted; a pasted file keeps its name", () => {
    const at = new Date(2026, 11, 8, 9, 5, 7);
    assert.equal(pastedName({ name: "image.png", type: "image/png" }, at), "Pasted image 2026-12-08 09.05.07.png");
    assert.equal(pastedName({ name: "", type: "image/jpeg" }, at), "Pasted image 2026-12-08 09.05.07.jpg");
    assert.equal(pastedName({ name: "notes.txt", type: "text/plain" }, at), "notes.txt");
    assert.equal(pastedName({ name: "", type: "" }, at), "Pasted file 2026-12-08 09.05.07");
  });
});
