// The account and admin part of the contract (docs/desktop-ipc.md, "Account" and "Admin"): the
// shapes Rust answers with and thin wrappers around `invoke`. Keep it in step with the document.

import { invoke } from "@tauri-apps/api/core";
import type { AppState, User } from "./ipc";

export type SignupMode = "open" | "invite" | "closed";

export type ServerInfo = { signup: SignupMode; users_can_invite: boolean; version: string };

export type AccountInfo = {
  user: User;
  is_admin: boolean;
  totp_enabled: boolean;
  can_invite: boolean;
  created_at: number;
};

export type SessionInfo = {
  id: string;
  device_name: string;
  created_at: number;
  last_used_at: number;
  /** This app's own session. */
  current: boolean;
};

export type TotpSetup = {
  secret: string;
  otpauth_uri: string;
  /** The QR code of `otpauth_uri`, as an SVG document. */
  qr_svg: string;
};

export type Invite = {
  id: string;
  /** The code's first characters (the code itself is shown only when made). */
  code_hint: string;
  note: string;
  created_by: string | null;
  created_at: number;
  expires_at: number;
  max_uses: number;
  uses: number;
  revoked: boolean;
};

export type CreatedInvite = { invite: Invite; code: string; link: string; app_link: string };

export type AdminUser = {
  id: string;
  username: string;
  display_name: string;
  is_admin: boolean;
  disabled: boolean;
  totp_enabled: boolean;
  created_at: number;
  last_seen_at: number | null;
  online: boolean;
  sessions: number;
};

export type AdminUserPage = { users: AdminUser[]; next_cursor: string | null };

export type PasswordResetCode = { code: string; expires_at: number };

export type AdminStats = {
  signup: SignupMode;
  users: number;
  admins: number;
  disabled_users: number;
  sessions: number;
  conversations: number;
  messages: number;
  open_reports: number;
  users_online: number;
  connections: number;
  uptime_seconds: number;
  version: string;
};

export type AuditEntry = {
  id: string;
  at: number;
  actor_id: string | null;
  actor_name: string;
  action: string;
  target_user_id: string | null;
  detail: Record<string, unknown>;
};

export type AuditPage = { entries: AuditEntry[]; next_cursor: string | null };

export type Report = {
  id: string;
  reporter_id: string;
  reporter_username: string;
  conversation_id: string;
  message_id: string;
  sender_id: string;
  sender_username: string;
  message_body: string;
  reason: string;
  created_at: number;
  resolved_at: number | null;
};

export const accountCommands = {
  serverInfo: () => invoke<ServerInfo>("server_info"),
  resetPassword: (code: string, newPassword: string) =>
    invoke<null>("reset_password", { code, newPassword }),
  account: () => invoke<AccountInfo>("account"),
  changePassword: (currentPassword: string, newPassword: string, signOutOtherDevices: boolean) =>
    invoke<null>("change_password", { currentPassword, newPassword, signOutOtherDevices }),
  sessions: () => invoke<SessionInfo[]>("sessions"),
  revokeSession: (sessionId: string) => invoke<null>("revoke_session", { sessionId }),
  revokeOtherSessions: () => invoke<null>("revoke_other_sessions"),
  totpSetup: () => invoke<TotpSetup>("totp_setup"),
  /** Answers the recovery codes. */
  totpConfirm: (code: string) => invoke<string[]>("totp_confirm", { code }),
  totpDisable: (password: string, totpCode: string) =>
    invoke<null>("totp_disable", { password, totpCode }),
  blockedUsers: () => invoke<User[]>("blocked_users"),
  blockUser: (userId: string) => invoke<null>("block_user", { userId }),
  unblockUser: (userId: string) => invoke<null>("unblock_user", { userId }),
  createInvite: (maxUses: number, expiresInHours: number, note: string) =>
    invoke<CreatedInvite>("create_invite", { maxUses, expiresInHours, note }),
  myInvites: () => invoke<Invite[]>("my_invites"),
  revokeInvite: (inviteId: string) => invoke<null>("revoke_invite", { inviteId }),
  reportMessage: (conversationId: string, messageId: string, reason: string) =>
    invoke<null>("report_message", { conversationId, messageId, reason }),
  /** Answers where the file was saved. */
  exportData: () => invoke<string>("export_data"),
  deleteAccount: (password: string, totpCode: string | null) =>
    invoke<AppState>("delete_account", { password, totpCode }),
} as const;

export const adminCommands = {
  users: (query: string, cursor: string | null) =>
    invoke<AdminUserPage>("admin_users", { query, cursor }),
  updateUser: (userId: string, change: { isAdmin?: boolean; disabled?: boolean }) =>
    invoke<AdminUser>("admin_update_user", {
      userId,
      isAdmin: change.isAdmin ?? null,
      disabled: change.disabled ?? null,
    }),
  deleteUser: (userId: string) => invoke<null>("admin_delete_user", { userId }),
  resetPassword: (userId: string) => invoke<PasswordResetCode>("admin_reset_password", { userId }),
  resetTwoFactor: (userId: string) => invoke<AdminUser>("admin_reset_two_factor", { userId }),
  invites: () => invoke<Invite[]>("admin_invites"),
  stats: () => invoke<AdminStats>("admin_stats"),
  audit: (cursor: string | null) => invoke<AuditPage>("admin_audit", { cursor }),
  reports: (openOnly: boolean) => invoke<Report[]>("admin_reports", { openOnly }),
  resolveReport: (reportId: string) => invoke<null>("admin_resolve_report", { reportId }),
} as const;
