import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseInline, parseMessageText } from "../src/message-text";

describe("parseInline", () => {
  test("plain text stays one span", () => {
    assert.deepEqual(parseInline("just words, nothing else"), [{ text: "just words, nothing else" }]);
  });

  test("bold, italic and inline code", () => {
    assert.deepEqual(parseInline("a **big** and *small* and _also_ and `x < y`"), [
      { text: "a " },
      { text: "big", bold: true },
      { text: " and " },
      { text: "small", italic: true },
      { text: " and " },
      { text: "also", italic: true },
      { text: " and " },
      { text: "x < y", code: true },
    ]);
  });

  test("nothing inside inline code is styled or linked", () => {
    assert.deepEqual(parseInline("`**not bold** https://a.example`"), [
      { text: "**not bold** https://a.example", code: true },
    ]);
  });

  test("marks that do not hug text, snake_case and lone stars stay as typed", () => {
    for (const text of ["2 * 3 * 4", "call my_function_name now", "** spaced **", "a*", "``", "_x_y"]) {
      assert.deepEqual(parseInline(text), [{ text }], text);
    }
  });

  test("bold inside italic", () => {
    assert.deepEqual(parseInline("*very **much** so*"), [
      { text: "very ", italic: true },
      { text: "much", italic: true, bold: true },
      { text: " so", italic: true },
    ]);
  });

  test("web links, without the punctuation that ends the sentence", () => {
    assert.deepEqual(parseInline("see https://natter.example/a?b=1. Or (http://x.example/y), ok"), [
      { text: "see " },
      { text: "https://natter.example/a?b=1", link: "https://natter.example/a?b=1" },
      { text: ". Or (" },
      { text: "http://x.example/y", link: "http://x.example/y" },
      { text: "), ok" },
    ]);
  });

  test("a parenthesis the address opened stays in it", () => {
    const wiki = "https://en.wikipedia.org/wiki/Rust_(programming_language)";
    assert.deepEqual(parseInline(`read ${wiki}!`), [{ text: "read " }, { text: wiki, link: wiki }, { text: "!" }]);
  });

  test("only http and https are links", () => {
    for (const text of ["javascript:alert(1)", "file:///etc/passwd", "natter://call/bob", "www.example.org"]) {
      assert.deepEqual(parseInline(text), [{ text }], text);
    }
  });

  test("a link in bold text is bold and a link", () => {
    assert.deepEqual(parseInline("**https://a.example**"), [
      { text: "https://a.example", link: "https://a.example", bold: true },
    ]);
  });

  test("markup-looking text is just text", () => {
    const text = "<img src=x onerror=alert(1)> &amp; <b>hi</b>";
    assert.deepEqual(parseInline(text), [{ text }]);
  });
});

describe("parseMessageText", () => {
  test("paragraph lines are kept, code blocks are fenced", () => {
    const body = "before\nstill before\n```rust\nfn main() {\n    **not bold**\n}\n```\nafter";
    assert.deepEqual(parseMessageText(body), [
      { kind: "paragraph", spans: [{ text: "before\nstill before" }] },
      { kind: "code", text: "fn main() {\n    **not bold**\n}" },
      { kind: "paragraph", spans: [{ text: "after" }] },
    ]);
  });

  test("an unclosed fence is plain text", () => {
    assert.deepEqual(parseMessageText("```\nno end"), [{ kind: "paragraph", spans: [{ text: "```\nno end" }] }]);
  });

  test("an empty code block", () => {
    assert.deepEqual(parseMessageText("```\n```"), [{ kind: "code", text: "" }]);
  });
});

describe("mentions", () => {
  const members = new Set(["bob", "dave.smith"]);

  test("a member's @username stands out, by the server's rule", () => {
    assert.deepEqual(parseInline("hi @Bob. and @dave.smith!", members), [
      { text: "hi " },
      { text: "@Bob", mention: "bob" },
      { text: ". and " },
      { text: "@dave.smith", mention: "dave.smith" },
      { text: "!" },
    ]);
  });

  test("not in addresses, code, or for people the server did not find", () => {
    assert.deepEqual(parseInline("mail bob@example.com, `@bob`, @carol", members), [
      { text: "mail bob@example.com, " },
      { text: "@bob", code: true },
      { text: ", @carol" },
    ]);
  });

  test("inside bold text it keeps the style", () => {
    assert.deepEqual(parseInline("**@bob**", members), [{ text: "@bob", mention: "bob", bold: true }]);
  });
});
