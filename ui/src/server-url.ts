export const DEFAULT_SERVER_URL = "http://127.0.0.1:8080";

export type ParsedServerUrl = { ok: true; url: URL } | { ok: false; error: string };

/** Checks that the text is an absolute http(s) URL, as the desktop backend expects. */
export function parseServerUrl(text: string): ParsedServerUrl {
  const trimmed = text.trim();
  if (trimmed === "") {
    return { ok: false, error: "Enter the address of your Natter server." };
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { ok: false, error: "That is not a valid address, e.g. http://127.0.0.1:8080." };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { ok: false, error: "The address must start with http:// or https://." };
  }
  return { ok: true, url };
}
