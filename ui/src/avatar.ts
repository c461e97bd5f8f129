// Avatars: the picture comes from Rust (`avatar` command) as bytes and is shown through a blob:
// URL, cached per avatar URL for the whole run; without a picture, initials on a colour.

import { h } from "./dom";
import { hashBucket, initials } from "./format";
import { commands } from "./ipc";

const COLOURS = 8;
const RETRY_AFTER_MS = 60_000;

const blobUrls = new Map<string, string>();
const inFlight = new Map<string, Promise<string | null>>();
const failedAt = new Map<string, number>();

function toBytes(data: unknown): BlobPart | null {
  // A raw tauri::ipc::Response arrives as an ArrayBuffer; a serialised Vec<u8> as numbers.
  if (data instanceof ArrayBuffer) {
    return data;
  }
  if (data instanceof Uint8Array) {
    return new Uint8Array(data);
  }
  if (Array.isArray(data) && data.every((byte) => typeof byte === "number")) {
    return new Uint8Array(data);
  }
  return null;
}

/** The blob: URL of a picture, fetched once per avatar URL. */
export function avatarBlobUrl(url: string): Promise<string | null> {
  const known = blobUrls.get(url);
  if (known !== undefined) {
    return Promise.resolve(known);
  }
  const failed = failedAt.get(url);
  if (failed !== undefined && Date.now() - failed < RETRY_AFTER_MS) {
    return Promise.resolve(null);
  }
  let request = inFlight.get(url);
  if (request === undefined) {
    request = commands
      .avatar(url)
      .then((data: unknown) => {
        const bytes = toBytes(data);
        if (bytes === null) {
          throw new Error("avatar: unexpected payload");
        }
        const blobUrl = URL.createObjectURL(new Blob([bytes], { type: "image/jpeg" }));
        blobUrls.set(url, blobUrl);
        failedAt.delete(url);
        return blobUrl;
      })
      .catch((error: unknown) => {
        console.warn("avatar could not be loaded", error);
        failedAt.set(url, Date.now());
        return null;
      })
      .finally(() => inFlight.delete(url));
    inFlight.set(url, request);
  }
  return request;
}

/** Forgets a cached picture, e.g. after uploading a new one under the same URL. */
export function forgetAvatar(url: string | null): void {
  if (url === null) {
    return;
  }
  const blobUrl = blobUrls.get(url);
  if (blobUrl !== undefined) {
    URL.revokeObjectURL(blobUrl);
    blobUrls.delete(url);
  }
  failedAt.delete(url);
}

export type AvatarSize = "small" | "medium" | "large";

/**
 * A round avatar: initials at once, the picture on top as soon as it is known. Decorative
 * (aria-hidden): the name is always shown next to it.
 */
export function avatarElement(
  name: string,
  url: string | null,
  seed: string,
  size: AvatarSize = "medium",
): HTMLElement {
  const element = h(
    "span",
    {
      class: `avatar avatar-${size} avatar-colour-${hashBucket(seed, COLOURS)}`,
      attrs: { "aria-hidden": "true" },
    },
    h("span", { class: "avatar-initials", text: initials(name) }),
  );
  if (url !== null) {
    const known = blobUrls.get(url);
    if (known !== undefined) {
      setPicture(element, known);
    } else {
      void avatarBlobUrl(url).then((blobUrl) => {
        if (blobUrl !== null) {
          setPicture(element, blobUrl);
        }
      });
    }
  }
  return element;
}

/** Shows a picture (blob: URL) in an avatar element made by `avatarElement`. */
export function setPicture(element: HTMLElement, blobUrl: string | null): void {
  element.querySelector("img")?.remove();
  element.classList.toggle("has-picture", blobUrl !== null);
  if (blobUrl !== null) {
    const img = h("img", { class: "avatar-picture", attrs: { alt: "", draggable: "false" } });
    img.src = blobUrl;
    element.appendChild(img);
  }
}
