// The account and admin part of the contract (docs/desktop-ipc.md, "Account" and "Admin"): thin
// wrappers around `invoke`. The types are generated from Rust's (generated/ipc.ts, through
// ./ipc); the command names and arguments are kept in step with the document by hand.

import { invoke } from "@tauri-apps/api/core";
import type {
  AccountInfo,
  AdminStats,
  AdminUser,
  AdminUserPage,
  AppStateView,
  AuditPage,
  CreatedInviteView,
  Invite,
  PasswordResetCode,
  Report,
  ServerInfo,
  SessionInfo,
  TotpSetupView,
  User,
} from "./ipc";

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
  totpSetup: () => invoke<TotpSetupView>("totp_setup"),
  /** Answers the recovery codes. */
  totpConfirm: (code: string) => invoke<string[]>("totp_confirm", { code }),
  totpDisable: (password: string, totpCode: string) =>
    invoke<null>("totp_disable", { password, totpCode }),
  blockedUsers: () => invoke<User[]>("blocked_users"),
  blockUser: (userId: string) => invoke<null>("block_user", { userId }),
  unblockUser: (userId: string) => invoke<null>("unblock_user", { userId }),
  createInvite: (maxUses: number, expiresInHours: number, note: string) =>
    invoke<CreatedInviteView>("create_invite", { maxUses, expiresInHours, note }),
  myInvites: () => invoke<Invite[]>("my_invites"),
  revokeInvite: (inviteId: string) => invoke<null>("revoke_invite", { inviteId }),
  reportMessage: (conversationId: string, messageId: string, reason: string) =>
    invoke<null>("report_message", { conversationId, messageId, reason }),
  /** Answers where the file was saved. */
  exportData: () => invoke<string>("export_data"),
  deleteAccount: (password: string, totpCode: string | null) =>
    invoke<AppStateView>("delete_account", { password, totpCode }),
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
