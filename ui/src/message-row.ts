// Builds the rows of the message list: day separators and messages. Pure rendering from the
// MessageView Rust sent; the chat view handles the buttons through event delegation
// (data-action attributes), so rows hold no listeners of their own.

import { attachmentsHeight, renderAttachments } from "./attachments";
import { h } from "./dom";
import { clockTime, dayKey, dayLabel, fullDateTime } from "./format";
import { icon } from "./icons";
import type { MessageState, MessageView, ReactionView } from "./ipc";
import { renderMessageText } from "./message-text";

export type DayRow = { kind: "day"; key: string; label: string; at: number };
export type MessageRow = {
  kind: "message";
  key: string;
  message: MessageView;
  /** First of a run by the same sender in a group: show who wrote it. */
  showSender: boolean;
  /** Being edited: the text in the edit box. */
  editDraft: string | null;
  /** The quote of the message it answers, from the original when it is loaded. */
  quote: Quote | null;
  /** My username, for my mentions to stand out. */
  me: string;
};

/** What a reply's quote shows. `seq` null: the original could not be loaded. */
export type Quote = { messageId: string; seq: number | null; senderName: string; excerpt: string; deleted: boolean };

/** The quote of `message`'s original: the loaded original when there is one (it follows edits
 * and deletion live), else what Rust found. */
export function quoteOf(message: MessageView, original: MessageView | undefined): Quote | null {
  const reply = message.reply_to;
  if (reply === null) {
    return null;
  }
  if (original !== undefined) {
    const deleted = original.deleted_at !== null;
    const text = original.body.replace(/\s+/gu, " ").trim();
    return {
      messageId: reply.message_id,
      seq: original.seq,
      senderName: original.sender_name,
      excerpt: deleted ? "" : text.length > 140 ? `${text.slice(0, 140)}…` : text,
      deleted,
    };
  }
  return {
    messageId: reply.message_id,
    seq: reply.seq,
    senderName: reply.sender_name,
    excerpt: reply.excerpt,
    deleted: reply.deleted,
  };
}
export type Row = DayRow | MessageRow;

/** Rows for the messages in display order, with a separator before each new local day. */
export function buildRows(
  messages: readonly MessageView[],
  isGroup: boolean,
  editing: { clientId: string; draft: string } | null,
  originalOf: (messageId: string) => MessageView | undefined = () => undefined,
  me = "",
  now: number = Date.now(),
): Row[] {
  const rows: Row[] = [];
  let previousDay = "";
  let previousSender = "";
  // Bounds of previousDay: most messages fall in the same day as the one before, and a range
  // check spares creating a Date per message in long histories.
  let dayStart = 0;
  let dayEnd = -1;
  const separators = new Map<string, number>();
  for (const message of messages) {
    const at = message.created_at;
    if (at < dayStart || at >= dayEnd) {
      const day = dayKey(at);
      const start = new Date(at);
      start.setHours(0, 0, 0, 0);
      dayStart = start.getTime();
      start.setDate(start.getDate() + 1);
      dayEnd = start.getTime();
      if (day !== previousDay) {
        // A day can come back (a pending message with an older clock): keys must stay unique.
        const seen = separators.get(day) ?? 0;
        separators.set(day, seen + 1);
        const key = seen === 0 ? `day:${day}` : `day:${day}#${seen}`;
        rows.push({ kind: "day", key, label: dayLabel(at, now), at });
        previousDay = day;
        previousSender = "";
      }
    }
    rows.push({
      kind: "message",
      key: message.client_id,
      message,
      showSender: isGroup && !message.mine && message.sender_id !== previousSender,
      editDraft: editing !== null && editing.clientId === message.client_id ? editing.draft : null,
      quote: message.reply_to === null ? null : quoteOf(message, originalOf(message.reply_to.message_id)),
      me,
    });
    previousSender = message.sender_id;
  }
  return rows;
}

/** Whether a rendered row still shows `b` (the edit draft lives in the textarea itself). */
export function sameRow(a: Row, b: Row): boolean {
  if (a.kind === "day" || b.kind === "day") {
    return a.kind === "day" && b.kind === "day" && a.key === b.key && a.label === b.label;
  }
  return (
    a.message === b.message &&
    a.showSender === b.showSender &&
    (a.editDraft === null) === (b.editDraft === null) &&
    JSON.stringify(a.quote) === JSON.stringify(b.quote)
  );
}

export function estimateRowHeight(row: Row): number {
  if (row.kind === "day") {
    return 44;
  }
  const lines = row.message.body
    .split("\n")
    .reduce((total, line) => total + Math.max(1, Math.ceil(line.length / 56)), 0);
  return (
    40 +
    21 * lines +
    (row.showSender ? 20 : 0) +
    (row.message.state === "failed" ? 24 : 0) +
    (row.quote !== null ? 44 : 0) +
    (row.message.reactions.length > 0 ? 32 : 0) +
    attachmentsHeight(row.message)
  );
}

export function renderRow(row: Row): HTMLElement {
  return row.kind === "day" ? renderDay(row) : renderMessage(row);
}

function renderDay(row: DayRow): HTMLElement {
  return h(
    "div",
    { class: "day-separator", attrs: { role: "listitem" } },
    h("span", { class: "day-separator-label", text: row.label, attrs: { title: fullDateTime(row.at) } }),
  );
}

const STATE_LABELS: Record<MessageState, string> = {
  sending: "Sending",
  sent: "Sent",
  read: "Read",
  failed: "Not sent",
};

function renderStatus(state: MessageState): HTMLElement {
  const status = h("span", {
    class: "message-status",
    dataset: { state },
    attrs: { role: "img", "aria-label": STATE_LABELS[state], title: STATE_LABELS[state] },
  });
  if (state === "sending") {
    status.appendChild(icon("clock", 14));
  } else if (state === "sent") {
    status.appendChild(icon("tick", 14));
  } else if (state === "read") {
    status.appendChild(icon("ticks", 14));
  } else {
    status.appendChild(icon("alert", 14));
  }
  return status;
}

function renderMessage(row: MessageRow): HTMLElement {
  const { message } = row;
  const deleted = message.deleted_at !== null;
  const classes = ["message", message.mine ? "mine" : "theirs"];
  if (deleted) {
    classes.push("deleted");
  }
  if (message.call !== null) {
    classes.push("call-record");
  }
  if (row.editDraft !== null) {
    classes.push("editing");
  }
  const element = h("div", {
    class: classes.join(" "),
    dataset: { clientId: message.client_id, state: message.state },
    attrs: { role: "listitem" },
  });
  if (message.id !== null) {
    element.dataset["messageId"] = message.id;
  }

  if (row.showSender) {
    element.appendChild(h("div", { class: "message-sender", text: message.sender_name }));
  }

  const bubble = h("div", { class: "message-bubble" });
  if (row.quote !== null && !deleted) {
    bubble.appendChild(renderQuote(row.quote));
  }
  if (row.editDraft !== null) {
    const editor = h("textarea", {
      class: "message-edit",
      attrs: { "aria-label": "Edit message", rows: "1", "data-action": "edit-box" },
    });
    editor.value = row.editDraft;
    bubble.append(
      editor,
      h("div", { class: "message-edit-hint", text: "Enter to save · Shift+Enter for a new line · Escape to cancel" }),
    );
  } else if (deleted) {
    bubble.appendChild(h("div", { class: "message-body message-deleted", text: "Message deleted" }));
  } else {
    const files = renderAttachments(message);
    if (files !== null) {
      bubble.appendChild(files);
      bubble.classList.add("with-files");
    }
    // A call's record is our own sentence; people's text gets its formatting and links.
    const body =
      message.call === null ? renderMessageText(message.body, message.mentioned_usernames, row.me) : [message.body];
    if (message.body !== "" || files === null) {
      bubble.appendChild(h("div", { class: "message-body" }, ...body));
    }
  }

  const meta = h("div", { class: "message-meta" });
  if (message.edited_at !== null && !deleted) {
    meta.appendChild(
      h("span", { class: "message-edited", text: "edited", attrs: { title: `Edited ${fullDateTime(message.edited_at)}` } }),
    );
  }
  const time = h("time", {
    class: "message-time",
    text: clockTime(message.created_at),
    attrs: { datetime: new Date(message.created_at).toISOString(), title: fullDateTime(message.created_at) },
  });
  meta.appendChild(time);
  if (message.mine && !deleted) {
    meta.appendChild(renderStatus(message.state));
  }
  bubble.appendChild(meta);
  if (message.mentions_me) {
    element.classList.add("mentions-me");
  }
  const line = h("div", { class: "message-line" }, bubble);
  element.appendChild(line);
  if (message.reactions.length > 0 && !deleted) {
    element.appendChild(renderReactions(message.reactions));
  }

  if (message.mine && message.state === "failed") {
    const failed = h(
      "div",
      { class: "message-failed" },
      h("span", { class: "message-failed-text", text: "Not sent" }),
      message.error !== null && message.error !== ""
        ? h("span", { class: "message-error", text: message.error })
        : null,
      h("button", {
        class: "message-discard link-button",
        text: "Discard",
        attrs: { type: "button", "data-action": "discard" },
      }),
    );
    element.appendChild(failed);
  }

  if (canRespond(message) && row.editDraft === null) {
    const tools = h("div", { class: "message-tools" });
    const react = h("button", {
      class: "message-tool icon-button",
      attrs: { type: "button", "aria-label": "Add a reaction", title: "React", "data-action": "react" },
    });
    react.appendChild(icon("smile", 18));
    const reply = h("button", {
      class: "message-tool icon-button",
      attrs: { type: "button", "aria-label": "Reply", title: "Reply", "data-action": "reply" },
    });
    reply.appendChild(icon("reply", 18));
    tools.append(react, reply);
    line.appendChild(tools);
  }
  if ((canChange(message) || canReport(message)) && row.editDraft === null) {
    const actions = h("button", {
      class: "message-actions-button icon-button",
      attrs: {
        type: "button",
        "aria-label": "Message actions",
        "aria-haspopup": "menu",
        title: "More",
        "data-action": "menu",
      },
    });
    actions.appendChild(icon("more", 18));
    line.appendChild(actions);
  }
  return element;
}

function renderQuote(quote: Quote): HTMLElement {
  const label =
    quote.seq === null
      ? "Original message unavailable"
      : quote.deleted
        ? "Message deleted"
        : quote.excerpt;
  return h(
    "button",
    {
      class: quote.deleted || quote.seq === null ? "message-quote unavailable" : "message-quote",
      attrs: {
        type: "button",
        "data-action": "quote",
        title: quote.seq === null ? label : "Show the original message",
        "aria-label": `In reply to ${quote.senderName === "" ? "a message" : quote.senderName}: ${label}`,
      },
      dataset: { replyTo: quote.messageId },
    },
    quote.senderName === "" ? null : h("span", { class: "message-quote-sender", text: quote.senderName }),
    h("span", { class: "message-quote-text", text: label }),
  );
}

function renderReactions(reactions: readonly ReactionView[]): HTMLElement {
  const bar = h("div", { class: "message-reactions" });
  for (const reaction of reactions) {
    const who = reaction.names.join(", ");
    bar.appendChild(
      h(
        "button",
        {
          class: reaction.mine ? "reaction-chip mine" : "reaction-chip",
          attrs: {
            type: "button",
            "data-action": "reaction",
            "aria-pressed": String(reaction.mine),
            title: who,
            "aria-label": `${reaction.emoji} ${reaction.count}: ${who}`,
          },
          dataset: { emoji: reaction.emoji },
        },
        h("span", { class: "reaction-emoji", text: reaction.emoji }),
        h("span", { class: "reaction-count", text: String(reaction.count) }),
      ),
    );
  }
  return bar;
}

/** A stored message that is not deleted: it can be answered and reacted to. */
export function canRespond(message: MessageView): boolean {
  return message.id !== null && message.deleted_at === null;
}

/** Someone else's message that can be reported to the admins. */
export function canReport(message: MessageView): boolean {
  return !message.mine && message.call === null && message.id !== null && message.deleted_at === null;
}

/** Whether the Edit and Delete actions apply: my own stored message, not deleted, not a call. */
export function canChange(message: MessageView): boolean {
  return (
    message.mine &&
    message.call === null &&
    message.id !== null &&
    message.deleted_at === null &&
    (message.state === "sent" || message.state === "read")
  );
}
