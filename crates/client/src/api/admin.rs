//! The admin routes (docs/protocol.md §3.11). The server answers `not_found` to anyone who is
//! not an admin.

use natter_protocol::{
    AdminStats, AdminUpdateUserRequest, AdminUser, AdminUserPage, AuditPage, InviteList,
    PasswordResetCode, ReportId, ReportList, UserId,
};
use reqwest::Method;

use super::{Api, ApiError};

impl Api {
    pub async fn admin_users(
        &self,
        query: &str,
        cursor: Option<&str>,
    ) -> Result<AdminUserPage, ApiError> {
        let mut builder = self
            .request(Method::GET, "/api/admin/users")
            .query(&[("query", query)]);
        if let Some(cursor) = cursor {
            builder = builder.query(&[("cursor", cursor)]);
        }
        self.send(builder).await
    }

    pub async fn admin_update_user(
        &self,
        user_id: UserId,
        request: &AdminUpdateUserRequest,
    ) -> Result<AdminUser, ApiError> {
        self.with_body(
            Method::PATCH,
            &format!("/api/admin/users/{user_id}"),
            request,
        )
        .await
    }

    pub async fn admin_delete_user(&self, user_id: UserId) -> Result<(), ApiError> {
        self.send_empty(self.request(Method::DELETE, &format!("/api/admin/users/{user_id}")))
            .await
    }

    pub async fn admin_reset_password(
        &self,
        user_id: UserId,
    ) -> Result<PasswordResetCode, ApiError> {
        self.send(self.request(
            Method::POST,
            &format!("/api/admin/users/{user_id}/password-reset"),
        ))
        .await
    }

    pub async fn admin_reset_two_factor(&self, user_id: UserId) -> Result<AdminUser, ApiError> {
        self.send(self.request(
            Method::POST,
            &format!("/api/admin/users/{user_id}/reset-two-factor"),
        ))
        .await
    }

    pub async fn admin_invites(&self) -> Result<InviteList, ApiError> {
        self.get("/api/admin/invites").await
    }

    pub async fn admin_stats(&self) -> Result<AdminStats, ApiError> {
        self.get("/api/admin/stats").await
    }

    pub async fn admin_audit(&self, cursor: Option<&str>) -> Result<AuditPage, ApiError> {
        let mut builder = self.request(Method::GET, "/api/admin/audit");
        if let Some(cursor) = cursor {
            builder = builder.query(&[("cursor", cursor)]);
        }
        self.send(builder).await
    }

    pub async fn admin_reports(&self, open_only: bool) -> Result<ReportList, ApiError> {
        let state = if open_only { "open" } else { "all" };
        self.send(
            self.request(Method::GET, "/api/admin/reports")
                .query(&[("state", state)]),
        )
        .await
    }

    pub async fn admin_resolve_report(&self, report_id: ReportId) -> Result<(), ApiError> {
        self.send_empty(self.request(
            Method::POST,
            &format!("/api/admin/reports/{report_id}/resolve"),
        ))
        .await
    }
}
