// A message's text as people format it in chat apps: **bold**, *italic* or _italic_, `inline
// code`, ``` code blocks ```, and web links. Parsed here into plain data (`parseMessageText`,
// no DOM, unit-tested) and then built with `h`, so the text is only ever text: nothing in a
// message is interpreted as HTML. Links are not real hrefs: a click asks Rust to open them in
// the system's browser (`open_link`), so the webview itself never navigates away.

import { h, type Child } from "./dom";

/** A run of text with its styles. `link` is set for a web address (the text is the address). */
export type Span = {
  text: string;
  bold?: boolean;
  italic?: boolean;
  code?: boolean;
  link?: string;
  /** A member named as `@username` (the lower-case username). */
  mention?: string;
};

export type Block = { kind: "paragraph"; spans: Span[] } | { kind: "code"; text: string };

const FENCE = "```";

/** Splits a message into paragraphs and fenced code blocks (a fence opens and closes on a line
 * of its own; text after the opening fence, such as a language name, is ignored). An unclosed
 * fence is plain text. */
export function parseMessageText(body: string, mentioned: ReadonlySet<string> = new Set()): Block[] {
  const blocks: Block[] = [];
  const lines = body.split("\n");
  let paragraph: string[] = [];
  const flush = (): void => {
    if (paragraph.length > 0) {
      blocks.push({ kind: "paragraph", spans: parseInline(paragraph.join("\n"), mentioned) });
      paragraph = [];
    }
  };
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] ?? "";
    if (line.trimStart().startsWith(FENCE)) {
      const close = lines.findIndex((candidate, at) => at > index && candidate.trim() === FENCE);
      if (close !== -1) {
        flush();
        blocks.push({ kind: "code", text: lines.slice(index + 1, close).join("\n") });
        index = close;
        continue;
      }
    }
    paragraph.push(line);
  }
  flush();
  return blocks;
}

/** Inline styles of one paragraph. Code spans are taken first: nothing inside them is styled. */
export function parseInline(text: string, mentioned: ReadonlySet<string> = new Set()): Span[] {
  const spans: Span[] = [];
  let rest = text;
  while (rest.length > 0) {
    const open = rest.indexOf("`");
    const close = open === -1 ? -1 : rest.indexOf("`", open + 1);
    if (open === -1 || close === -1 || close === open + 1) {
      spans.push(...parseEmphasis(rest, {}, mentioned));
      break;
    }
    spans.push(...parseEmphasis(rest.slice(0, open), {}, mentioned));
    spans.push({ text: rest.slice(open + 1, close), code: true });
    rest = rest.slice(close + 1);
  }
  return merge(spans);
}

type Style = { bold?: boolean; italic?: boolean };

/** `**bold**`, `*italic*` and `_italic_`: the marks must hug the text (no space inside them),
 * and `_` only counts at word boundaries, so snake_case names stay as they are. */
function parseEmphasis(text: string, style: Style, mentioned: ReadonlySet<string>): Span[] {
  const spans: Span[] = [];
  let plain = "";
  let index = 0;
  while (index < text.length) {
    const char = text[index] ?? "";
    const mark = text.startsWith("**", index) ? "**" : char === "*" || char === "_" ? char : null;
    if (mark !== null) {
      const end = findClosing(text, index, mark);
      if (end !== -1) {
        const inner = text.slice(index + mark.length, end);
        spans.push(...links(plain, style, mentioned));
        plain = "";
        const nested: Style = mark === "**" ? { ...style, bold: true } : { ...style, italic: true };
        spans.push(...parseEmphasis(inner, nested, mentioned));
        index = end + mark.length;
        continue;
      }
    }
    plain += char;
    index += 1;
  }
  spans.push(...links(plain, style, mentioned));
  return spans;
}

function isWordChar(char: string | undefined): boolean {
  return char !== undefined && /[\p{L}\p{N}_]/u.test(char);
}

function findClosing(text: string, start: number, mark: string): number {
  const first = text[start + mark.length];
  if (first === undefined || /\s/u.test(first) || (mark === "_" && isWordChar(text[start - 1]))) {
    return -1;
  }
  let at = text.indexOf(mark, start + mark.length + 1);
  while (at !== -1) {
    // A single star never closes on half of a bold pair: skip the pair whole.
    if (mark === "*" && text.startsWith("**", at)) {
      at = text.indexOf(mark, at + 2);
      continue;
    }
    const before = text[at - 1];
    const after = text[at + mark.length];
    const hugs = before !== undefined && !/\s/u.test(before);
    if (hugs && !(mark === "_" && isWordChar(after))) {
      return at;
    }
    at = text.indexOf(mark, at + 1);
  }
  return -1;
}

const LINK = /\bhttps?:\/\/[^\s<>"]+/giu;
/** Punctuation that ends a sentence rather than the address it follows. */
const TRAILING = /[.,;:!?'"\]]+$/u;

/** Web addresses (http and https) within plain text. A closing parenthesis belongs to the
 * address only when the address opened one (Wikipedia's `Foo_(bar)`). */
function links(text: string, style: Style, mentioned: ReadonlySet<string>): Span[] {
  if (text === "") {
    return [];
  }
  const spans: Span[] = [];
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    let address = match[0].replace(TRAILING, "");
    while (address.endsWith(")") && count(address, "(") < count(address, ")")) {
      address = address.slice(0, -1).replace(TRAILING, "");
    }
    const at = match.index;
    if (at > last) {
      spans.push(...mentions(text.slice(last, at), style, mentioned));
    }
    spans.push({ text: address, link: address, ...style });
    last = at + address.length;
  }
  if (last < text.length) {
    spans.push(...mentions(text.slice(last), style, mentioned));
  }
  return spans;
}

/** `@username` after anything but a username character (an e-mail address names nobody). */
const MENTION = /(?<![a-z0-9_.@-])@([a-z0-9_.-]+)/giu;

/** The members named in plain text, by the server's rule (protocol 1.5): the whole word, or
 * the word without the punctuation that ends a sentence. */
function mentions(text: string, style: Style, mentioned: ReadonlySet<string>): Span[] {
  if (mentioned.size === 0 || !text.includes("@")) {
    return [{ text, ...style }];
  }
  const spans: Span[] = [];
  let last = 0;
  for (const match of text.matchAll(MENTION)) {
    let word = (match[1] ?? "").toLowerCase();
    while (word !== "" && !mentioned.has(word) && /[._-]$/u.test(word)) {
      word = word.slice(0, -1);
    }
    if (!mentioned.has(word)) {
      continue;
    }
    const at = match.index;
    if (at > last) {
      spans.push({ text: text.slice(last, at), ...style });
    }
    const length = word.length + 1;
    spans.push({ text: text.slice(at, at + length), mention: word, ...style });
    last = at + length;
  }
  if (last < text.length) {
    spans.push({ text: text.slice(last), ...style });
  }
  return spans;
}

function count(text: string, char: string): number {
  return text.split(char).length - 1;
}

/** Joins neighbouring runs of the same style (the parser cuts text at every mark it tries). */
function merge(spans: Span[]): Span[] {
  const merged: Span[] = [];
  for (const span of spans) {
    const previous = merged.at(-1);
    if (
      previous !== undefined &&
      previous.link === undefined &&
      span.link === undefined &&
      previous.mention === undefined &&
      span.mention === undefined &&
      previous.bold === span.bold &&
      previous.italic === span.italic &&
      previous.code === span.code
    ) {
      previous.text += span.text;
    } else {
      merged.push({ ...span });
    }
  }
  return merged.filter((span) => span.text !== "");
}

/** The DOM of a message's text: paragraphs and code blocks, text only. `mentioned`: the
 * usernames the server found in it; `me`: mine, to stand out. */
export function renderMessageText(body: string, mentioned: readonly string[] = [], me = ""): Node[] {
  return parseMessageText(body, new Set(mentioned)).map((block) =>
    block.kind === "code"
      ? h("pre", { class: "message-code-block" }, h("code", { text: block.text }))
      : h("p", { class: "message-paragraph" }, ...block.spans.map((span) => renderSpan(span, me))),
  );
}

function renderSpan(span: Span, me: string): Child {
  let node: Child = span.text;
  if (span.mention !== undefined) {
    node = h("span", { class: span.mention === me ? "mention mention-me" : "mention" }, node);
  }
  if (span.code === true) {
    node = h("code", { class: "message-code" }, node);
  }
  if (span.link !== undefined) {
    // No href: a click can only go through `open_link`, never navigate the webview.
    node = h(
      "a",
      {
        class: "message-link",
        attrs: { role: "link", tabindex: "0", title: span.link },
        dataset: { url: span.link },
      },
      node,
    );
  }
  if (span.italic === true) {
    node = h("em", {}, node);
  }
  if (span.bold === true) {
    node = h("strong", {}, node);
  }
  return node;
}
