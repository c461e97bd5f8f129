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
