//! The routes of account control (docs/protocol.md §3.9 and §3.10): server info, password,
//! two-factor sign-in, sessions, blocks, invites, reports, deletion and export.

use natter_protocol::{
    AccountInfo, BlockList, ChangePasswordRequest, ConfirmWithPassword, ConversationId,
    CreateInviteRequest, CreatedInvite, InviteId, InviteList, MessageId, RecoveryCodes,
    ReportRequest, ResetPasswordRequest, ServerInfo, SessionId, SessionList, TotpConfirmRequest,
    TotpSetup, UserId,
};
use reqwest::Method;

use super::{Api, ApiError};

impl Api {
    /// Who may sign up here; needs no token.
    pub async fn server_info(&self) -> Result<ServerInfo, ApiError> {
        self.get("/api/server").await
    }

    pub async fn account(&self) -> Result<AccountInfo, ApiError> {
        self.get("/api/me/account").await
    }

    pub async fn change_password(&self, request: &ChangePasswordRequest) -> Result<(), ApiError> {
        self.send_empty(self.request(Method::POST, "/api/me/password").json(request))
            .await
    }

    /// Sets a new password with an admin's one-time code; needs no token.
    pub async fn reset_password(&self, request: &ResetPasswordRequest) -> Result<(), ApiError> {
        self.send_empty(
            self.request(Method::POST, "/api/auth/reset-password")
                .json(request),
        )
        .await
    }

    pub async fn totp_setup(&self) -> Result<TotpSetup, ApiError> {
        self.send(self.request(Method::POST, "/api/me/totp/setup"))
            .await
    }

    pub async fn totp_confirm(&self, code: &str) -> Result<RecoveryCodes, ApiError> {
        let request = TotpConfirmRequest {
            code: code.to_owned(),
        };
        self.with_body(Method::POST, "/api/me/totp/confirm", &request)
            .await
    }

    pub async fn totp_disable(&self, request: &ConfirmWithPassword) -> Result<(), ApiError> {
        self.send_empty(
            self.request(Method::POST, "/api/me/totp/disable")
                .json(request),
        )
        .await
    }

    pub async fn delete_account(&self, request: &ConfirmWithPassword) -> Result<(), ApiError> {
        self.send_empty(self.request(Method::POST, "/api/me/delete").json(request))
            .await
    }

    /// The export as the server sends it (a JSON document), to be saved as is.
    pub async fn export(&self) -> Result<Vec<u8>, ApiError> {
        let (_, bytes) = self
            .exchange(self.request(Method::GET, "/api/me/export"))
            .await?;
        Ok(bytes.to_vec())
    }

    pub async fn sessions(&self) -> Result<SessionList, ApiError> {
        self.get("/api/sessions").await
    }

    pub async fn revoke_session(&self, session_id: SessionId) -> Result<(), ApiError> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/sessions/{session_id}")))
            .await
    }

    /// Signs out every other device.
    pub async fn revoke_other_sessions(&self) -> Result<(), ApiError> {
        self.send_empty(
            self.request(Method::DELETE, "/api/sessions")
                .query(&[("keep_current", "true")]),
        )
        .await
    }

    pub async fn blocked(&self) -> Result<BlockList, ApiError> {
        self.get("/api/blocks").await
    }

    pub async fn block(&self, user_id: UserId) -> Result<(), ApiError> {
        self.send_empty(self.request(Method::PUT, &format!("/api/blocks/{user_id}")))
            .await
    }

    pub async fn unblock(&self, user_id: UserId) -> Result<(), ApiError> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/blocks/{user_id}")))
            .await
    }

    pub async fn create_invite(
        &self,
        request: &CreateInviteRequest,
    ) -> Result<CreatedInvite, ApiError> {
        self.with_body(Method::POST, "/api/invites", request).await
    }

    pub async fn my_invites(&self) -> Result<InviteList, ApiError> {
        self.get("/api/invites").await
    }

    pub async fn revoke_invite(&self, invite_id: InviteId) -> Result<(), ApiError> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/invites/{invite_id}")))
            .await
    }

    pub async fn report_message(
        &self,
        conversation_id: ConversationId,
        message_id: MessageId,
        reason: &str,
    ) -> Result<(), ApiError> {
        let request = ReportRequest {
            reason: reason.to_owned(),
        };
        self.send_empty(
            self.request(
                Method::POST,
                &format!("/api/conversations/{conversation_id}/messages/{message_id}/report"),
            )
            .json(&request),
        )
        .await
    }
}
