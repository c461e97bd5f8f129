// Generated from the Rust types by src-tauri/src/ipc_contract.rs: do not edit.
// Rewrite it with `cargo xtask ipc-types`; `cargo xtask test` fails when it is not current.

/**
 * `GET /api/me/account`: my account as only I (and admins) see it.
 */
export type AccountInfo = { user: User, is_admin: boolean, 
/**
 * Two-factor sign-in is on.
 */
totp_enabled: boolean, 
/**
 * I may create invites (admins always may; others when the operator allows it).
 */
can_invite: boolean, created_at: number, };

/**
 * `GET /api/admin/stats`.
 */
export type AdminStats = { signup: SignupMode, 
/**
 * Accounts, deleted ones not counted.
 */
users: number, admins: number, disabled_users: number, sessions: number, conversations: number, messages: number, open_reports: number, users_online: number, connections: number, uptime_seconds: number, version: string, };

/**
 * A user as admins see them.
 */
export type AdminUser = { id: string, username: string, display_name: string, is_admin: boolean, disabled: boolean, totp_enabled: boolean, created_at: number, 
/**
 * When the account was last connected; absent while online or if never.
 */
last_seen_at: number | null, online: boolean, 
/**
 * Signed-in devices.
 */
sessions: number, };

/**
 * `GET /api/admin/users?query=…&limit=…&cursor=…`: ordered by username; deleted accounts are
 * not listed.
 */
export type AdminUserPage = { users: Array<AdminUser>, next_cursor: string | null, };

/**
 * Which screen the app is on: everything the page shows follows from it.
 */
export type AppStateView = { phase: Phase, 
/**
 * The server chosen (or given with `--server-url`).
 */
server_url: string | null, 
/**
 * Set when signed in.
 */
me: User | null, 
/**
 * Set when the OS credential store could not keep the session: the app works for this
 * run and will ask for the password at the next start. Shown as a warning banner.
 */
credential_warning: string | null, settings: Settings, };

/**
 * A file attached to a message. Fetch it with `GET {url}` (the session's token; members of the
 * conversation only), always as a download: it never runs in an app or a browser.
 */
export type Attachment = { id: string, 
/**
 * The file's name as the sender gave it, without any folder: 1 to 255 bytes, no control
 * characters, `/` or `\`.
 */
name: string, 
/**
 * `image/jpeg`, `image/png`, `image/webp` or `image/gif` for a picture (from its content,
 * whatever was claimed); otherwise the type the sender gave, or
 * `application/octet-stream`.
 */
content_type: string, 
/**
 * Bytes.
 */
size: number, 
/**
 * Set for a picture.
 */
image: ImageInfo | null, 
/**
 * `/api/attachments/{id}`: the file (Range requests supported).
 */
url: string, };

/**
 * One admin action, as the audit log keeps it.
 */
export type AuditEntry = { id: string, at: number, 
/**
 * The admin; absent for the server's console (`natter-server admin …`).
 */
actor_id: string | null, 
/**
 * The admin's username then, or `console`.
 */
actor_name: string, 
/**
 * `user.create`, `user.promote`, `user.demote`, `user.disable`, `user.enable`,
 * `user.password_reset`, `user.reset_two_factor`, `user.delete`, `invite.create`,
 * `invite.revoke`, `report.resolve`.
 */
action: string, target_user_id: string | null, 
/**
 * Details of the action (never a secret).
 */
detail: JsonValue, };

/**
 * `GET /api/admin/audit?limit=…&cursor=…`, newest first.
 */
export type AuditPage = { entries: Array<AuditEntry>, next_cursor: string | null, };

export type CallDirection = "outgoing" | "incoming";

/**
 * Why a call ended, as recorded in the call history.
 */
export type CallEndReason = "completed" | "missed" | "declined" | "busy" | "cancelled" | "failed";

/**
 * Why the call ended, from this device's side.
 */
export type CallEnding = { "kind": "ended", reason: CallEndReason, } | { "kind": "answered_elsewhere" } | { "kind": "refused", message: string, } | { "kind": "timed_out" } | { "kind": "server_lost" };

/**
 * One call of the history, from my side.
 */
export type CallHistoryEntry = { call_id: string, peer_id: string, peer_name: string, peer_avatar_url: string | null, conversation_id: string | null, kind: CallKind, direction: CallDirection, 
/**
 * An incoming call I never picked up.
 */
missed: boolean, end_reason: CallEndReason, started_at: number, 
/**
 * Talk time, 0 when never answered.
 */
duration_ms: number, 
/**
 * "Missed video call", "Outgoing voice call · 3:02".
 */
summary: string, };

/**
 * Newest first.
 */
export type CallHistoryPage = { calls: Array<CallHistoryEntry>, has_more: boolean, };

/**
 * What the caller asked for.
 */
export type CallKind = "voice" | "video";

/**
 * What the page is asked to confirm before calling (event `natter://offer-call`).
 */
export type CallOffer = { conversation_id: string, user_id: string, display_name: string, kind: CallKind, };

/**
 * outgoing: my invite rings (ringback plays); incoming: ringing here (the call window shows
 * Accept/Decline); connecting: answered, media connecting; connected; ended.
 */
export type CallPhase = "outgoing" | "incoming" | "connecting" | "connected" | "ended";

/**
 * Decided in Rust from round-trip time and loss ([`quality`]).
 */
export type CallQuality = "good" | "fair" | "poor";

/**
 * One entry of the call history (`GET /api/calls`), also carried by the message that records
 * the call in the two users' direct conversation.
 */
export type CallRecord = { call_id: string, caller_id: string, callee_id: string, kind: CallKind, 
/**
 * When the caller's invite reached the server.
 */
started_at: number, 
/**
 * When the callee accepted; `null` if it was never answered.
 */
answered_at: number | null, ended_at: number, 
/**
 * Talk time, from answer to end; 0 for a call never answered.
 */
duration_ms: number, end_reason: CallEndReason, 
/**
 * The callers' direct conversation, where the call is also recorded as a message.
 */
conversation_id: string | null, };

/**
 * The call as the page shows it (event `natter://call`, command `current_call`).
 */
export type CallScreenView = { 
/**
 * The other user's display name.
 */
peer_name: string, 
/**
 * For the `avatar` command.
 */
peer_avatar_url: string | null, 
/**
 * Our direct conversation, when known.
 */
conversation_id: string | null, 
/**
 * When media first connected (ms since the Unix epoch): the call timer counts from here.
 */
connected_at: number | null, 
/**
 * Set when the phase is `ended`: what to tell the user ("Call ended · 3:02", "No answer",
 * "Declined", "Busy", "Answered on another device", "Call failed", …).
 */
ended_text: string | null, call_id: string, peer_id: string, kind: CallKind, direction: CallDirection, phase: CallPhase, 
/**
 * The callee's devices are ringing (outgoing calls).
 */
ringing: boolean, 
/**
 * Media dropped and is being restored.
 */
reconnecting: boolean, 
/**
 * My microphone.
 */
muted: boolean, 
/**
 * My camera (video calls).
 */
camera_on: boolean, peer_muted: boolean, peer_camera_on: boolean, 
/**
 * Why it ended (`ended_text` says it for people).
 */
ending: CallEnding | null, };

/**
 * The media figures with a verdict for the quality indicator, every second while the call has
 * media.
 */
export type CallStatsScreenView = { quality: CallQuality, call_id: string, rtt_ms: number | null, loss_fraction: number, packets_lost: number, sent_bitrate_bps: number, received_bitrate_bps: number, target_bitrate_bps: number, video_bitrate_bps: number, frames_sent: number, frames_decoded: number, decoded_frame_rate: number, remote_width: number | null, remote_height: number | null, keyframes_requested: number, ice_restarts: number, 
/**
 * `relay` when the media goes through TURN.
 */
local_candidate_type: string | null, };

/**
 * The banner's three states: everything that is not connected or connecting is offline.
 */
export type ConnectionState = "online" | "connecting" | "offline";

/**
 * The connection as the webview shows it.
 */
export type ConnectionView = { state: ConnectionState, 
/**
 * When offline: milliseconds until the next attempt.
 */
retry_in_ms: number | null, 
/**
 * Grows with every `natter://connection` event; the `connection` command's answer has
 * the number of the last event before it. Answer and events reach the page in no fixed
 * order: keep the highest (an answer wins a tie), or a late answer "connecting" can undo
 * the event "online".
 */
seq: number, };

export type ConversationKind = "direct" | "group";

/**
 * A conversation I left or was removed from.
 */
export type ConversationRemoved = { conversation_id: string, };

export type ConversationView = { id: string, kind: ConversationKind, 
/**
 * The group's name, or the other member's display name.
 */
title: string, 
/**
 * The other member's avatar in a direct conversation.
 */
avatar_url: string | null, 
/**
 * The other member in a direct conversation.
 */
peer_id: string | null, 
/**
 * Direct: the other member is online; group: anyone else is.
 */
online: boolean, members: Array<User>, owner_id: string | null, last_message: MessageView | null, last_activity_at: number, unread_count: number, 
/**
 * I muted it: no notifications except for messages that mention me.
 */
muted: boolean, };

/**
 * A new invite with the links to pass on.
 */
export type CreatedInviteView = { invite: Invite, code: string, 
/**
 * `https://server/invite/CODE`, which opens in any browser.
 */
link: string, 
/**
 * `natter://invite?…`, which opens the app on the sign-up form.
 */
app_link: string, };

export type DeviceKind = "camera" | "microphone" | "speaker";

/**
 * A camera, microphone or speaker; `id` goes to `use_device` and the settings.
 */
export type DeviceView = { id: string, name: string, };

/**
 * The system's devices, and the synthetic ones (a test pattern, a tone).
 */
export type DevicesView = { cameras: Array<DeviceView>, microphones: Array<DeviceView>, speakers: Array<DeviceView>, };

export type DownloadState = "running" | "done" | "failed" | "cancelled";

/**
 * Where a download stands; `error` says why one failed.
 */
export type DownloadView = { attachment_id: string, state: DownloadState, received: number, total: number, error: string | null, };

/**
 * Files are dragged over the window (`over`), or no longer.
 */
export type FileDrag = { over: boolean, };

/**
 * Files dropped on the window, staged: the page adds them to the conversation shown.
 */
export type FilesStaged = { files: Array<StagedFile>, };

/**
 * What a client needs to lay a picture out before it loads.
 */
export type ImageInfo = { 
/**
 * Pixels as shown, the camera's orientation applied.
 */
width: number, height: number, 
/**
 * An animated GIF or WebP (the file animates; the thumbnail is its first picture).
 */
animated: boolean, 
/**
 * `/api/attachments/{id}/thumbnail`: a JPEG at most 640 pixels a side, same aspect ratio.
 */
thumbnail_url: string, };

/**
 * An invite, without its code (which is shown only when it is made).
 */
export type Invite = { id: string, 
/**
 * The code's first four characters, to tell invites apart.
 */
code_hint: string, note: string, 
/**
 * Who made it; absent when made from the server's console or by a deleted account.
 */
created_by: string | null, created_at: number, expires_at: number, max_uses: number, uses: number, revoked: boolean, };

/**
 * What the page is told of an invite link (event `natter://invite`).
 */
export type InviteOffer = { code: string, 
/**
 * The server the invite is for, when the link names one. The page asks before switching
 * to it: a link from anywhere must not point the sign-in form at a stranger's server.
 */
server: string | null, 
/**
 * Someone is signed in: the page says to sign out first, rather than dropping it.
 */
signed_in: boolean, };

/**
 * An error as the webview receives it from a rejected `invoke`.
 */
export type IpcError = { code: string, message: string, 
/**
 * The request field the server refused (`username`, `display_name`, `password`, …), when
 * it named one: a form shows the message next to that field. The message then names the
 * field for people ("Display name must be 1 to 64 characters.").
 */
field?: string, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;

/**
 * A message not sent yet that the user discarded (waiting, uploading or refused).
 */
export type MessageDiscarded = { conversation_id: string, client_id: string, };

export type MessagePageView = { 
/**
 * Oldest first.
 */
messages: Array<MessageView>, has_more: boolean, };

/**
 * sending: in the outbox (on disk, sent in order when the server is reachable); sent: stored
 * by the server; read: every other member has read it; failed: the server refused it for good.
 */
export type MessageState = "sending" | "sent" | "read" | "failed";

/**
 * A message as shown; a pending one too (match them by `client_id`).
 */
export type MessageView = { 
/**
 * Stable key of a message, also while it is pending.
 */
client_id: string, 
/**
 * Null while pending.
 */
id: string | null, conversation_id: string, 
/**
 * Null while pending; the conversation's order.
 */
seq: number | null, sender_id: string, sender_name: string, 
/**
 * Empty when deleted.
 */
body: string, created_at: number, edited_at: number | null, deleted_at: number | null, mine: boolean, state: MessageState, 
/**
 * Why the server refused it, when `failed` (it will not be retried).
 */
error: string | null, 
/**
 * Set for the record of a call; `body` then describes it ("Missed video call").
 */
call: CallRecord | null, 
/**
 * The message this one answers, as its quote shows it.
 */
reply_to: ReplyQuote | null, 
/**
 * Emoji reactions in the order they were first used.
 */
reactions: Array<ReactionView>, 
/**
 * `@username`s of members in the text, lower case, for the page to highlight.
 */
mentioned_usernames: Array<string>, 
/**
 * The text mentions me: notify even when the conversation is muted.
 */
mentions_me: boolean, 
/**
 * Files and pictures, in the order sent.
 */
attachments: Array<Attachment>, 
/**
 * While pending: the files being uploaded with it.
 */
pending_files: Array<PendingFileView>, };

/**
 * The device test's microphone: 0…1, the peak of the last 60 ms (three 20 ms frames).
 */
export type MicLevel = { level: number, };

/**
 * Show this conversation: a notification or a link was followed. With `reload`, the
 * conversation's history was reloaded instead (not a request to navigate): the page reloads
 * it if it is the one shown.
 */
export type OpenConversation = { conversation_id: string, reload: boolean, };

/**
 * Answer to `POST /api/admin/users/{user_id}/password-reset`: a code that sets a new password
 * once (`POST /api/auth/reset-password`), until it expires. Give it to the person privately.
 */
export type PasswordResetCode = { code: string, expires_at: number, };

/**
 * A file of a message still in the outbox.
 */
export type PendingFileView = { name: string, size: number, 
/**
 * Uploaded already (progress comes as `file_progress` events meanwhile).
 */
uploaded: boolean, };

export type Phase = "choose_server" | "signed_out" | "signed_in";

/**
 * Whether a user has a connected session right now.
 */
export type Presence = { online: boolean, 
/**
 * When the user's last session disconnected; absent while online or if never seen.
 */
last_seen_at: number | null, };

export type PresenceChange = { user_id: string, online: boolean, last_seen_at: number | null, };

/**
 * One emoji's reactions to a message.
 */
export type ReactionView = { emoji: string, count: number, 
/**
 * I reacted with it (clicking it takes mine back).
 */
mine: boolean, 
/**
 * Who reacted, oldest first, as names to show on hover.
 */
names: Array<string>, };

/**
 * The message a reply answers, as the reply's quote shows it.
 */
export type ReplyQuote = { message_id: string, 
/**
 * Where the original is in the conversation (to jump to it); null when it could not be
 * loaded (offline): show "Original message unavailable".
 */
seq: number | null, sender_name: string, 
/**
 * The start of its text on one line (at most 140 characters), or the call it records;
 * empty when deleted.
 */
excerpt: string, deleted: boolean, };

/**
 * A message reported to the admins, with what it said when it was reported.
 */
export type Report = { id: string, reporter_id: string, reporter_username: string, conversation_id: string, message_id: string, sender_id: string, sender_username: string, message_body: string, reason: string, created_at: number, 
/**
 * When an admin marked it handled; absent while open.
 */
resolved_at: number | null, };

/**
 * A message found by `search_messages`, with its conversation's title.
 */
export type SearchHit = { conversation_id: string, conversation_title: string, message: MessageView, };

/**
 * `GET /api/server`: what a client needs to know before signing in. No token needed.
 */
export type ServerInfo = { signup: SignupMode, 
/**
 * Whether users who are not admins may create invites.
 */
users_can_invite: boolean, version: string, };

/**
 * One signed-in device.
 */
export type SessionInfo = { id: string, device_name: string, created_at: number, 
/**
 * Last time this session made a request (updated at most once a minute).
 */
last_used_at: number, 
/**
 * True for the session making this request.
 */
current: boolean, };

/**
 * The app's settings, kept between runs (defaults: notifications and close to tray on, the
 * system's theme and devices, not started at login).
 */
export type Settings = { notifications: boolean, 
/**
 * Closing the window keeps the app running in the tray.
 */
close_to_tray: boolean, theme: Theme, 
/**
 * The devices calls use (null: the system's); ids from the `devices` command.
 */
camera: string | null, microphone: string | null, speaker: string | null, 
/**
 * Whether the app starts, hidden in the tray, when the user logs in. The system's login
 * items are the truth (`autostart.rs`): read at start, and `set_settings` answers with
 * what the system has after the change (error `autostart_failed` when it could not be
 * changed).
 */
start_at_login: boolean, };

/**
 * Who may create an account on a server.
 */
export type SignupMode = "open" | "invite" | "closed";

/**
 * A file staged to be sent, as the page shows it above the composer.
 */
export type StagedFile = { id: string, name: string, size: number, 
/**
 * The type its name suggests (`image/…` for a picture).
 */
content_type: string, };

export type Theme = "system" | "light" | "dark";

/**
 * A new two-factor secret, with its QR code drawn as SVG for the page to show.
 */
export type TotpSetupView = { secret: string, otpauth_uri: string, qr_svg: string, };

/**
 * Someone is typing; the indicator goes away after `expires_in_ms` unless renewed.
 */
export type Typing = { conversation_id: string, user_id: string, display_name: string, expires_in_ms: number, };

/**
 * What the page shows about an update the server offers.
 */
export type UpdateView = { 
/**
 * The offered version.
 */
version: string, 
/**
 * This app's version.
 */
current_version: string, 
/**
 * The release notes, when the server has them.
 */
notes: string | null, };

/**
 * A queued message's file `file` (its index) is going up: `sent` of `total` bytes.
 */
export type UploadProgress = { conversation_id: string, client_id: string, file: number, sent: number, total: number, };

/**
 * A user as others see them.
 */
export type User = { id: string, 
/**
 * Unique, lower case.
 */
username: string, display_name: string, 
/**
 * Free text such as "In a meeting"; empty when unset.
 */
status_text: string, 
/**
 * Path of the avatar thumbnail (fetch it with the session token), absent when none is set.
 * It changes whenever the avatar changes, so it can be cached forever.
 */
avatar_url: string | null, 
/**
 * Only shown to the user themself and to users who share a conversation with them;
 * absent (null) for everyone else.
 */
presence: Presence | null, };

/** Each `natter://…` event's payload. */
export type EventPayloads = {
  "natter://state": AppStateView;
  "natter://connection": ConnectionView;
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
  "natter://call": CallScreenView;
  "natter://call-stats": CallStatsScreenView;
  "natter://mic-level": MicLevel;
  "natter://upload-progress": UploadProgress;
  "natter://download": DownloadView;
  "natter://file-drag": FileDrag;
  "natter://files-staged": FilesStaged;
};
