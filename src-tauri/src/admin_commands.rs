//! The commands of the admin dialog (docs/desktop-ipc.md, "Admin"). The server refuses them
//! (as `not_found`) to anyone who is not an admin; the page shows the dialog only to admins.

use natter_protocol::{
    AdminStats, AdminUpdateUserRequest, AdminUser, AdminUserPage, AuditPage, Invite,
    PasswordResetCode, Report, ReportId, UserId,
};
use tauri::State;

use crate::desktop::{Desktop, IpcError};

type Result<T> = std::result::Result<T, IpcError>;

async fn api(desktop: &Desktop) -> Result<natter_client::Api> {
    Ok(desktop.client().await?.api().clone())
}

#[tauri::command]
pub async fn admin_users(
    desktop: State<'_, Desktop>,
    query: String,
    cursor: Option<String>,
) -> Result<AdminUserPage> {
    Ok(api(&desktop)
        .await?
        .admin_users(&query, cursor.as_deref())
        .await?)
}

#[tauri::command]
pub async fn admin_update_user(
    desktop: State<'_, Desktop>,
    user_id: UserId,
    is_admin: Option<bool>,
    disabled: Option<bool>,
) -> Result<AdminUser> {
    let request = AdminUpdateUserRequest { is_admin, disabled };
    Ok(api(&desktop)
        .await?
        .admin_update_user(user_id, &request)
        .await?)
}

#[tauri::command]
pub async fn admin_delete_user(desktop: State<'_, Desktop>, user_id: UserId) -> Result<()> {
    Ok(api(&desktop).await?.admin_delete_user(user_id).await?)
}

#[tauri::command]
pub async fn admin_reset_password(
    desktop: State<'_, Desktop>,
    user_id: UserId,
) -> Result<PasswordResetCode> {
    Ok(api(&desktop).await?.admin_reset_password(user_id).await?)
}

#[tauri::command]
pub async fn admin_reset_two_factor(
    desktop: State<'_, Desktop>,
    user_id: UserId,
) -> Result<AdminUser> {
    Ok(api(&desktop).await?.admin_reset_two_factor(user_id).await?)
}

#[tauri::command]
pub async fn admin_invites(desktop: State<'_, Desktop>) -> Result<Vec<Invite>> {
    Ok(api(&desktop).await?.admin_invites().await?.invites)
}

#[tauri::command]
pub async fn admin_stats(desktop: State<'_, Desktop>) -> Result<AdminStats> {
    Ok(api(&desktop).await?.admin_stats().await?)
}

#[tauri::command]
pub async fn admin_audit(desktop: State<'_, Desktop>, cursor: Option<String>) -> Result<AuditPage> {
    Ok(api(&desktop).await?.admin_audit(cursor.as_deref()).await?)
}

#[tauri::command]
pub async fn admin_reports(desktop: State<'_, Desktop>, open_only: bool) -> Result<Vec<Report>> {
    Ok(api(&desktop).await?.admin_reports(open_only).await?.reports)
}

#[tauri::command]
pub async fn admin_resolve_report(desktop: State<'_, Desktop>, report_id: ReportId) -> Result<()> {
    Ok(api(&desktop).await?.admin_resolve_report(report_id).await?)
}
