// The contract between this page and the Rust side (docs/desktop-ipc.md), in TypeScript.
// Nothing here decides anything: thin typed wrappers around `invoke` and `listen`. The types
// are generated from Rust's (`cargo xtask ipc-types`); the command names and arguments are
// written here and in the document by hand.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

// ---------------------------------------------------------------------------------------------
// Types: the shapes Rust sends and takes are generated from its types (generated/ipc.ts).

import type {
  AppStateView,
  CallHistoryPage,
  CallKind,
  CallScreenView,
  ConnectionView,
  ConversationView,
  DeviceKind,
  DevicesView,
  EventPayloads,
  IpcError,
  MessagePageView,
  MessageView,
  SearchHit,
  Settings,
  StagedFile,
  UpdateView,
  User,
} from "./generated/ipc";

export type * from "./generated/ipc";

/** Frame streams of the natter-frame scheme. */
export type FrameStream = "remote" | "local" | "preview";

// ---------------------------------------------------------------------------------------------
// Errors

export function isIpcError(value: unknown): value is IpcError {
  return (
    typeof value === "object" &&
    value !== null &&
    "code" in value &&
    "message" in value &&
    typeof value.code === "string" &&
    typeof value.message === "string"
  );
}

/** The request field a failed command was refused for, if the server named one. */
export function errorField(error: unknown): string | null {
  if (isIpcError(error) && "field" in error && typeof error.field === "string") {
    return error.field;
  }
  return null;
}

/** The text to show the user for a failed command. */
export function errorMessage(error: unknown): string {
  if (isIpcError(error)) {
    return error.message;
  }
  // Tauri itself rejects with a plain string when a command is unknown or not allowed.
  if (typeof error === "string" && error !== "") {
    return error;
  }
  if (error instanceof Error && error.message !== "") {
    return error.message;
  }
  return "Something went wrong.";
}

// ---------------------------------------------------------------------------------------------
// Commands

export const commands = {
  appState: () => invoke<AppStateView>("app_state"),
  chooseServer: (url: string) => invoke<AppStateView>("choose_server", { url }),
  /** `totpCode`: the second factor, once the server answered `totp_required`. */
  signIn: (username: string, password: string, totpCode: string | null = null) =>
    invoke<AppStateView>("sign_in", { username, password, totpCode }),
  /** `inviteCode`: an invite code or link, on servers that ask for one. */
  signUp: (username: string, displayName: string, password: string, inviteCode: string | null = null) =>
    invoke<AppStateView>("sign_up", { username, displayName, password, inviteCode }),
  signOut: () => invoke<AppStateView>("sign_out"),
  connection: () => invoke<ConnectionView>("connection"),
  conversations: () => invoke<ConversationView[]>("conversations"),
  openConversation: (conversationId: string) =>
    invoke<MessagePageView>("open_conversation", { conversationId }),
  closeConversation: () => invoke<null>("close_conversation"),
  loadOlder: (conversationId: string, beforeSeq: number) =>
    invoke<MessagePageView>("load_older", { conversationId, beforeSeq }),
  /** `replyTo`: the id of the message this one answers. */
  sendMessage: (conversationId: string, body: string, replyTo: string | null = null) =>
    invoke<MessageView>("send_message", { conversationId, body, replyTo }),
  /** Adds (`add`) or takes back my `emoji` reaction. */
  reactToMessage: (conversationId: string, messageId: string, emoji: string, add: boolean) =>
    invoke<MessageView>("react_to_message", { conversationId, messageId, emoji, add }),
  muteConversation: (conversationId: string, muted: boolean) =>
    invoke<null>("mute_conversation", { conversationId, muted }),
  editMessage: (conversationId: string, messageId: string, body: string) =>
    invoke<null>("edit_message", { conversationId, messageId, body }),
  deleteMessage: (conversationId: string, messageId: string) =>
    invoke<null>("delete_message", { conversationId, messageId }),
  discardMessage: (clientId: string) => invoke<null>("discard_message", { clientId }),
  typing: (conversationId: string) => invoke<null>("typing", { conversationId }),
  searchUsers: (query: string) => invoke<User[]>("search_users", { query }),
  searchMessages: (query: string) => invoke<SearchHit[]>("search_messages", { query }),
  startDirect: (userId: string) => invoke<ConversationView>("start_direct", { userId }),
  createGroup: (name: string, memberIds: string[]) =>
    invoke<ConversationView>("create_group", { name, memberIds }),
  updateProfile: (displayName: string, statusText: string) =>
    invoke<User>("update_profile", { displayName, statusText }),
  uploadAvatar: (bytes: number[], contentType: string) =>
    invoke<User>("upload_avatar", { bytes, contentType }),
  avatar: (url: string) => invoke<ArrayBuffer>("avatar", { url }),
  setSettings: (settings: Settings) => invoke<AppStateView>("set_settings", { settings }),
  startCall: (peerId: string, kind: CallKind) => invoke<null>("start_call", { peerId, kind }),
  /** `video: false` answers a video call with my camera off. */
  acceptCall: (video: boolean) => invoke<null>("accept_call", { video }),
  declineCall: () => invoke<null>("decline_call"),
  /** Cancels, declines or hangs up, whatever the phase. */
  hangUp: () => invoke<null>("hang_up"),
  setMuted: (muted: boolean) => invoke<null>("set_muted", { muted }),
  setCamera: (on: boolean) => invoke<null>("set_camera", { on }),
  currentCall: () => invoke<CallScreenView | null>("current_call"),
  devices: () => invoke<DevicesView>("devices"),
  /** Switches the device in the call now and keeps it as the default. */
  useDevice: (kind: DeviceKind, id: string | null) => invoke<AppStateView>("use_device", { kind, id }),
  /** `before`: the last entry's `started_at` for the next page; null for the newest. */
  callHistory: (before: number | null) => invoke<CallHistoryPage>("call_history", { before }),
  /** Camera pictures go to frame stream `preview`, levels to natter://mic-level. */
  startDeviceTest: (camera: string | null, microphone: string | null) =>
    invoke<null>("start_device_test", { camera, microphone }),
  stopDeviceTest: () => invoke<null>("stop_device_test"),
  /** Plays a short tone on that speaker. */
  testSpeaker: (id: string | null) => invoke<null>("test_speaker", { id }),
  /** Of the main window. */
  setFullscreen: (on: boolean) => invoke<null>("set_fullscreen", { on }),
  /** The call window's Accept brings the main window forward. */
  showMainWindow: () => invoke<null>("show_main_window"),
  /** The page listens: a natter:// link the app was started with can be followed now. */
  followLinks: () => invoke<null>("follow_links"),
  /** Downloads, verifies and installs the offered update, then restarts the app. */
  installUpdate: () => invoke<null>("install_update"),
  offeredUpdate: () => invoke<UpdateView | null>("offered_update"),
  /** The system's file picker; the files chosen, staged to send (none if cancelled). */
  pickFiles: () => invoke<StagedFile[]>("pick_files"),
  /** Keeps a pasted file (a copy) to send. */
  stagePasted: (name: string, bytes: ArrayBuffer) =>
    invoke<StagedFile>("stage_pasted", bytes, { headers: { "x-file-name": encodeURIComponent(name) } }),
  unstageFile: (id: string) => invoke<null>("unstage_file", { id }),
  /** Sends staged files (by id) with a text, which may be empty. */
  sendFiles: (conversationId: string, body: string, replyTo: string | null, files: string[]) =>
    invoke<MessageView>("send_files", { conversationId, body, replyTo, files }),
  /** A picture's thumbnail (JPEG), or with `full` the picture itself, as bytes. */
  attachmentPicture: (messageId: string, attachmentId: string, full: boolean) =>
    invoke<ArrayBuffer>("attachment_picture", { messageId, attachmentId, full }),
  /** To the Downloads folder; natter://download events follow. */
  downloadAttachment: (messageId: string, attachmentId: string) =>
    invoke<null>("download_attachment", { messageId, attachmentId }),
  cancelDownload: (attachmentId: string) => invoke<null>("cancel_download", { attachmentId }),
  /** With the system's app for its type. */
  openDownload: (attachmentId: string) => invoke<null>("open_download", { attachmentId }),
  showDownload: (attachmentId: string) => invoke<null>("show_download", { attachmentId }),
  /** A link from a message, in the system's browser (http and https only). */
  openLink: (url: string) => invoke<null>("open_link", { url }),
} as const;

// ---------------------------------------------------------------------------------------------
// Events

export type EventName = keyof EventPayloads;

/** Subscribes to one event; resolves once Rust will deliver it. */
export function on<E extends EventName>(
  event: E,
  handler: (payload: EventPayloads[E]) => void,
): Promise<UnlistenFn> {
  return listen<EventPayloads[E]>(event, (received) => handler(received.payload));
}
