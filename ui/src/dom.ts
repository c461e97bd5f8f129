// DOM helpers. Rule for the whole UI: text that comes from a user, a server or the
// backend is only ever set with `textContent` (or as an attribute/property value),
// never through `innerHTML`, `outerHTML`, `insertAdjacentHTML` or `document.write`.

/** Returns the element with this id, checking that it exists and has the expected type. */
export function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) {
    throw new Error(`element #${id} is missing or is not a ${type.name}`);
  }
  return element;
}

/** Sets the element's text. The text is never parsed as HTML. */
export function setText(element: HTMLElement, text: string): void {
  element.textContent = text;
}

export type Child = Node | string | null | undefined | false;

export type Props = {
  class?: string;
  text?: string;
  attrs?: Record<string, string>;
  dataset?: Record<string, string>;
};

/**
 * Creates an element. String children become text nodes, so user text passed here is never
 * parsed as markup.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class !== undefined) {
    element.className = props.class;
  }
  if (props.attrs !== undefined) {
    for (const [name, value] of Object.entries(props.attrs)) {
      element.setAttribute(name, value);
    }
  }
  if (props.dataset !== undefined) {
    for (const [name, value] of Object.entries(props.dataset)) {
      element.dataset[name] = value;
    }
  }
  if (props.text !== undefined) {
    element.textContent = props.text;
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** Removes every child of the element. */
export function clear(element: Element): void {
  element.replaceChildren();
}

/** Shows or hides with the `hidden` attribute (CSS makes `[hidden]` win over display rules). */
export function show(element: HTMLElement, visible: boolean): void {
  element.hidden = !visible;
}

/** Calls `fn` once typing pauses for `delayMs`; `cancel` drops a pending call. */
export function debounce<A extends unknown[]>(
  fn: (...args: A) => void,
  delayMs: number,
): { (...args: A): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const debounced = (...args: A): void => {
    if (timer !== undefined) {
      clearTimeout(timer);
    }
    timer = setTimeout(() => {
      timer = undefined;
      fn(...args);
    }, delayMs);
  };
  debounced.cancel = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
  };
  return debounced;
}

/**
 * Wraps each case-insensitive occurrence of `query` in <mark>, building text nodes only.
 */
export function highlighted(text: string, query: string): Node[] {
  const needle = query.trim().toLocaleLowerCase();
  if (needle === "") {
    return [document.createTextNode(text)];
  }
  const haystack = text.toLocaleLowerCase();
  const nodes: Node[] = [];
  let from = 0;
  // Lower-casing can change lengths for a few scripts; then highlighting is skipped.
  if (haystack.length !== text.length) {
    return [document.createTextNode(text)];
  }
  for (;;) {
    const at = haystack.indexOf(needle, from);
    if (at < 0) {
      break;
    }
    if (at > from) {
      nodes.push(document.createTextNode(text.slice(from, at)));
    }
    nodes.push(h("mark", { text: text.slice(at, at + needle.length) }));
    from = at + needle.length;
  }
  if (from < text.length) {
    nodes.push(document.createTextNode(text.slice(from)));
  }
  return nodes;
}
