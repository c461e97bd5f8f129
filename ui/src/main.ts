import { invoke, isTauri } from "@tauri-apps/api/core";
import { byId, setText } from "./dom";
import { DEFAULT_SERVER_URL, parseServerUrl } from "./server-url";
import "./style.css";

/** The server URL the app was started with (`--server-url` / `NATTER_SERVER_URL`). */
async function initialServerUrl(): Promise<string> {
  if (!isTauri()) {
    return DEFAULT_SERVER_URL;
  }
  try {
    return await invoke<string>("server_url");
  } catch (error: unknown) {
    console.error("server_url command failed", error);
    return DEFAULT_SERVER_URL;
  }
}

async function start(): Promise<void> {
  const form = byId("connect-form", HTMLFormElement);
  const input = byId("server-url", HTMLInputElement);
  const status = byId("status", HTMLParagraphElement);

  input.value = await initialServerUrl();

  form.addEventListener("submit", (event: SubmitEvent) => {
    event.preventDefault();
    const parsed = parseServerUrl(input.value);
    if (!parsed.ok) {
      status.classList.add("error");
      setText(status, parsed.error);
      return;
    }
    status.classList.remove("error");
    // The address is user text: shown with textContent, never as HTML.
    setText(status, `Connecting to ${parsed.url.origin} is not available yet.`);
  });

  document.body.dataset["ready"] = "true";
}

start().catch((error: unknown) => {
  console.error("start page failed to initialise", error);
});
