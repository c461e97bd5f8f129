// The contract between this page and the Rust side (docs/desktop-ipc.md), in TypeScript.
// Nothing here decides anything: these are the shapes Rust sends and thin typed wrappers
// around `invoke` and `listen`. Keep it in step with the document.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

// ---------------------------------------------------------------------------------------------
// Types

export type Presence = { online: boolean; last_seen_at: number | null };

export type User = {
  id: string;
  username: string;
  display_name: string;
  status_text: string;
  /** Pass to the `avatar` command to get the picture. */
  avatar_url: string | null;
  presence: Presence | null;
};

export type Phase = "choose_server" | "signed_out" | "signed_in";

export type Theme = "system" | "light" | "dark";

export type Settings = {
  notifications: boolean;
  close_to_tray: boolean;
  theme: Theme;
};

export type AppState = {
  phase: Phase;
  server_url: string | null;
  /** Set when signed_in. */
  me: User | null;
  /** The OS credential store could not keep the session; shown as a warning banner. */
  credential_warning: string | null;
  settings: Settings;
};

export type ConnectionState = "online" | "connecting" | "offline";

export type Connection = {
  state: ConnectionState;
  /** When offline: time until the next attempt. */
  retry_in_ms: number | null;
};

export type MessageState = "sending" | "sent" | "read" | "failed";

export type MessageView = {
  /** Stable key for a message, also while it is pending. */
  client_id: string;
  /** Null while pending. */
  id: string | null;
  conversation_id: string;
  /** Null while pending; order of the conversation. */
  seq: number | null;
  sender_id: string;
  sender_name: string;
  /** "" when deleted. */
  body: string;
  created_at: number;
  edited_at: number | null;
  deleted_at: number | null;
  mine: boolean;
  state: MessageState;
  error: string | null;
  /** Set for the record of a call; `body` then describes it ("Missed video call"). */
  call: CallRecord | null;
};

export type CallEndReason = "completed" | "missed" | "declined" | "busy" | "cancelled" | "failed";

export type CallRecord = {
  call_id: string;
  caller_id: string;
  callee_id: string;
  kind: "voice" | "video";
  started_at: number;
  answered_at: number | null;
  ended_at: number;
  duration_ms: number;
  end_reason: CallEndReason;
  conversation_id: string | null;
};

export type ConversationKind = "direct" | "group";

export type ConversationView = {
  id: string;
  kind: ConversationKind;
  /** Group name, or the other member's display name. */
  title: string;
  /** The other member's avatar in a direct conversation. */
  avatar_url: string | null;
  /** The other member in a direct conversation. */
  peer_id: string | null;
  /** Direct: the other member is online; group: anyone else is. */
  online: boolean;
  members: User[];
  owner_id: string | null;
  last_message: MessageView | null;
  last_activity_at: number;
  unread_count: number;
};

/** Oldest first. */
export type MessagePage = { messages: MessageView[]; has_more: boolean };

export type SearchHit = {
  conversation_id: string;
  conversation_title: string;
  message: MessageView;
};

/** What a rejected invoke() gives. */
export type IpcError = { code: string; message: string };

// Event payloads

export type ConversationRemoved = { conversation_id: string };
export type MessageDiscarded = { conversation_id: string; client_id: string };
export type Typing = {
  conversation_id: string;
  user_id: string;
  display_name: string;
  expires_in_ms: number;
};
export type PresenceChange = { user_id: string; online: boolean; last_seen_at: number | null };
export type OpenConversation = {
  conversation_id: string;
  /**
   * Not in docs/desktop-ipc.md: src-tauri sends `reload: true` when a conversation's history was
   * reloaded (not a request to navigate). Optional, so the documented payload still fits.
   */
  reload?: boolean;
};

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
  appState: () => invoke<AppState>("app_state"),
  chooseServer: (url: string) => invoke<AppState>("choose_server", { url }),
  signIn: (username: string, password: string) =>
    invoke<AppState>("sign_in", { username, password }),
  signUp: (username: string, displayName: string, password: string) =>
    invoke<AppState>("sign_up", { username, displayName, password }),
  signOut: () => invoke<AppState>("sign_out"),
  connection: () => invoke<Connection>("connection"),
  conversations: () => invoke<ConversationView[]>("conversations"),
  openConversation: (conversationId: string) =>
    invoke<MessagePage>("open_conversation", { conversationId }),
  closeConversation: () => invoke<null>("close_conversation"),
  loadOlder: (conversationId: string, beforeSeq: number) =>
    invoke<MessagePage>("load_older", { conversationId, beforeSeq }),
  sendMessage: (conversationId: string, body: string) =>
    invoke<MessageView>("send_message", { conversationId, body }),
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
  setSettings: (settings: Settings) => invoke<AppState>("set_settings", { settings }),
} as const;

// ---------------------------------------------------------------------------------------------
// Events

export type EventPayloads = {
  "natter://state": AppState;
  "natter://connection": Connection;
  "natter://conversation": ConversationView;
  "natter://conversation-removed": ConversationRemoved;
  "natter://message": MessageView;
  "natter://message-discarded": MessageDiscarded;
  "natter://typing": Typing;
  "natter://presence": PresenceChange;
  "natter://open-conversation": OpenConversation;
};

export type EventName = keyof EventPayloads;

/** Subscribes to one event; resolves once Rust will deliver it. */
export function on<E extends EventName>(
  event: E,
  handler: (payload: EventPayloads[E]) => void,
): Promise<UnlistenFn> {
  return listen<EventPayloads[E]>(event, (received) => handler(received.payload));
}
