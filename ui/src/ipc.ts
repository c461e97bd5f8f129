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
  /** Default devices by id; null: the system default. */
  camera: string | null;
  microphone: string | null;
  speaker: string | null;
  /** Start hidden in the tray at login; mirrors the system's login items. */
  start_at_login: boolean;
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
  /**
   * Grows with every natter://connection event; the `connection` command's answer has the
   * number of the last event before it. They reach the page in no fixed order: keep the highest
   * (an answer wins a tie).
   */
  seq: number;
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

export type CallKind = "voice" | "video";

export type CallEndReason = "completed" | "missed" | "declined" | "busy" | "cancelled" | "failed";

export type CallRecord = {
  call_id: string;
  caller_id: string;
  callee_id: string;
  kind: CallKind;
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
export type IpcError = {
  code: string;
  message: string;
  /** The request field the server refused (`username`, `display_name`, …): shown next to it. */
  field?: string;
};

// Calls (at most one at a time; Rust runs it, the page shows it)

export type CallPhase = "outgoing" | "incoming" | "connecting" | "connected" | "ended";

export type CallDirection = "outgoing" | "incoming";

export type CallView = {
  call_id: string;
  peer_id: string;
  /** Display name of the other user. */
  peer_name: string;
  /** For the `avatar` command. */
  peer_avatar_url: string | null;
  /** Our direct conversation, when known. */
  conversation_id: string | null;
  kind: CallKind;
  direction: CallDirection;
  /**
   * outgoing: my invite rings; incoming: ringing here (the call window shows Accept/Decline);
   * connecting: answered, media connecting; connected; ended.
   */
  phase: CallPhase;
  /** Outgoing: the callee's devices ring. */
  ringing: boolean;
  /** Media dropped, being restored. */
  reconnecting: boolean;
  /** My microphone. */
  muted: boolean;
  /** My camera (video calls). */
  camera_on: boolean;
  peer_muted: boolean;
  peer_camera_on: boolean;
  /** When media first connected: the timer counts from here. */
  connected_at: number | null;
  /** Set when phase is "ended": what to tell the user ("Call ended · 3:02", "Declined", …). */
  ended_text: string | null;
};

export type CallQuality = "good" | "fair" | "poor";

/** Every second while the call has media. */
export type CallStats = {
  call_id: string;
  rtt_ms: number | null;
  loss_fraction: number;
  packets_lost: number;
  sent_bitrate_bps: number;
  received_bitrate_bps: number;
  target_bitrate_bps: number;
  video_bitrate_bps: number;
  keyframes_requested: number;
  frames_sent: number;
  frames_decoded: number;
  decoded_frame_rate: number;
  remote_width: number | null;
  remote_height: number | null;
  ice_restarts: number;
  /** "relay" through TURN. */
  local_candidate_type: string | null;
  /** Decided in Rust from round-trip time and loss. */
  quality: CallQuality;
};

export type Device = { id: string; name: string };

export type Devices = { cameras: Device[]; microphones: Device[]; speakers: Device[] };

export type DeviceKind = "camera" | "microphone" | "speaker";

export type CallHistoryEntry = {
  call_id: string;
  peer_id: string;
  peer_name: string;
  peer_avatar_url: string | null;
  conversation_id: string | null;
  kind: CallKind;
  direction: CallDirection;
  /** An incoming call I never picked up. */
  missed: boolean;
  end_reason: CallEndReason;
  started_at: number;
  /** Talk time, 0 when never answered. */
  duration_ms: number;
  /** "Missed video call", "Outgoing voice call · 3:02". */
  summary: string;
};

/** Newest first. */
export type CallHistoryPage = { calls: CallHistoryEntry[]; has_more: boolean };

/** Frame streams of the natter-frame scheme. */
export type FrameStream = "remote" | "local" | "preview";

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
/** 0…1, the peak of the last 50 ms. */
export type MicLevel = { level: number };
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
  appState: () => invoke<AppState>("app_state"),
  chooseServer: (url: string) => invoke<AppState>("choose_server", { url }),
  /** `totpCode`: the second factor, once the server answered `totp_required`. */
  signIn: (username: string, password: string, totpCode: string | null = null) =>
    invoke<AppState>("sign_in", { username, password, totpCode }),
  /** `inviteCode`: an invite code or link, on servers that ask for one. */
  signUp: (username: string, displayName: string, password: string, inviteCode: string | null = null) =>
    invoke<AppState>("sign_up", { username, displayName, password, inviteCode }),
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
  startCall: (peerId: string, kind: CallKind) => invoke<null>("start_call", { peerId, kind }),
  /** `video: false` answers a video call with my camera off. */
  acceptCall: (video: boolean) => invoke<null>("accept_call", { video }),
  declineCall: () => invoke<null>("decline_call"),
  /** Cancels, declines or hangs up, whatever the phase. */
  hangUp: () => invoke<null>("hang_up"),
  setMuted: (muted: boolean) => invoke<null>("set_muted", { muted }),
  setCamera: (on: boolean) => invoke<null>("set_camera", { on }),
  currentCall: () => invoke<CallView | null>("current_call"),
  devices: () => invoke<Devices>("devices"),
  /** Switches the device in the call now and keeps it as the default. */
  useDevice: (kind: DeviceKind, id: string | null) => invoke<AppState>("use_device", { kind, id }),
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
} as const;

// ---------------------------------------------------------------------------------------------
/** A newer app the server offers (natter://update). */
export type UpdateView = {
  version: string;
  current_version: string;
  notes: string | null;
};

/** A natter://invite link: the sign-up form gets the code (when nobody is signed in). */
export type InviteOffer = {
  code: string;
  /** The server the invite is for, when the link names one: ask before switching to it. */
  server: string | null;
  signed_in: boolean;
};

/** A natter://call link asks whether to call this person (never calls by itself). */
export type CallOffer = {
  conversation_id: string;
  user_id: string;
  display_name: string;
  kind: CallKind;
};

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
  "natter://offer-call": CallOffer;
  "natter://invite": InviteOffer;
  "natter://update": UpdateView;
  "natter://call": CallView;
  "natter://call-stats": CallStats;
  "natter://mic-level": MicLevel;
};

export type EventName = keyof EventPayloads;

/** Subscribes to one event; resolves once Rust will deliver it. */
export function on<E extends EventName>(
  event: E,
  handler: (payload: EventPayloads[E]) => void,
): Promise<UnlistenFn> {
  return listen<EventPayloads[E]>(event, (received) => handler(received.payload));
}
