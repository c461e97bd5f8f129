//! The commands of the account dialog and of the sign-in screen's extras (docs/desktop-ipc.md,
//! "Account"): thin calls into the client core's REST client.

use natter_protocol::{
    AccountInfo, ChangePasswordRequest, ConfirmWithPassword, ConversationId, CreateInviteRequest,
    Invite, InviteId, MessageId, ResetPasswordRequest, ServerInfo, SessionId, SessionInfo, User,
    UserId,
};
use serde::Serialize;
use tauri::{AppHandle, Manager, State};

use crate::desktop::{AppStateView, Desktop, IpcError};

type Result<T> = std::result::Result<T, IpcError>;

async fn api(desktop: &Desktop) -> Result<natter_client::Api> {
    Ok(desktop.client().await?.api().clone())
}

/// Who may sign up on the chosen server.
#[tauri::command]
pub async fn server_info(desktop: State<'_, Desktop>) -> Result<ServerInfo> {
    Ok(desktop.api_for_auth().await?.server_info().await?)
}

/// Sets a new password with an admin's one-time code (from the sign-in screen).
#[tauri::command]
pub async fn reset_password(
    desktop: State<'_, Desktop>,
    code: String,
    new_password: String,
) -> Result<()> {
    let request = ResetPasswordRequest { code, new_password };
    Ok(desktop
        .api_for_auth()
        .await?
        .reset_password(&request)
        .await?)
}

#[tauri::command]
pub async fn account(desktop: State<'_, Desktop>) -> Result<AccountInfo> {
    Ok(api(&desktop).await?.account().await?)
}

#[tauri::command]
pub async fn change_password(
    desktop: State<'_, Desktop>,
    current_password: String,
    new_password: String,
    sign_out_other_devices: bool,
) -> Result<()> {
    let request = ChangePasswordRequest {
        current_password,
        new_password,
        sign_out_other_devices,
    };
    Ok(api(&desktop).await?.change_password(&request).await?)
}

#[tauri::command]
pub async fn sessions(desktop: State<'_, Desktop>) -> Result<Vec<SessionInfo>> {
    Ok(api(&desktop).await?.sessions().await?.sessions)
}

#[tauri::command]
pub async fn revoke_session(desktop: State<'_, Desktop>, session_id: SessionId) -> Result<()> {
    Ok(api(&desktop).await?.revoke_session(session_id).await?)
}

#[tauri::command]
pub async fn revoke_other_sessions(desktop: State<'_, Desktop>) -> Result<()> {
    Ok(api(&desktop).await?.revoke_other_sessions().await?)
}

/// A new two-factor secret, with its QR code drawn as SVG for the page to show.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct TotpSetupView {
    secret: String,
    otpauth_uri: String,
    qr_svg: String,
}

#[tauri::command]
pub async fn totp_setup(desktop: State<'_, Desktop>) -> Result<TotpSetupView> {
    let setup = api(&desktop).await?.totp_setup().await?;
    let qr = qrcode::QrCode::new(setup.otpauth_uri.as_bytes())
        .map_err(|error| IpcError::new("internal", format!("no QR code: {error}")))?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    Ok(TotpSetupView {
        secret: setup.secret,
        otpauth_uri: setup.otpauth_uri,
        qr_svg,
    })
}

#[tauri::command]
pub async fn totp_confirm(desktop: State<'_, Desktop>, code: String) -> Result<Vec<String>> {
    Ok(api(&desktop)
        .await?
        .totp_confirm(&code)
        .await?
        .recovery_codes)
}

#[tauri::command]
pub async fn totp_disable(
    desktop: State<'_, Desktop>,
    password: String,
    totp_code: String,
) -> Result<()> {
    let request = ConfirmWithPassword {
        password,
        totp_code: Some(totp_code),
    };
    Ok(api(&desktop).await?.totp_disable(&request).await?)
}

#[tauri::command]
pub async fn blocked_users(desktop: State<'_, Desktop>) -> Result<Vec<User>> {
    Ok(api(&desktop).await?.blocked().await?.users)
}

#[tauri::command]
pub async fn block_user(desktop: State<'_, Desktop>, user_id: UserId) -> Result<()> {
    Ok(api(&desktop).await?.block(user_id).await?)
}

#[tauri::command]
pub async fn unblock_user(desktop: State<'_, Desktop>, user_id: UserId) -> Result<()> {
    Ok(api(&desktop).await?.unblock(user_id).await?)
}

/// A new invite with the links to pass on.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct CreatedInviteView {
    invite: Invite,
    code: String,
    /// `https://server/invite/CODE`, which opens in any browser.
    link: String,
    /// `natter://invite?…`, which opens the app on the sign-up form.
    app_link: String,
}

#[tauri::command]
pub async fn create_invite(
    desktop: State<'_, Desktop>,
    max_uses: u32,
    expires_in_hours: u32,
    note: String,
) -> Result<CreatedInviteView> {
    let api = api(&desktop).await?;
    let request = CreateInviteRequest {
        max_uses: Some(max_uses),
        expires_in_hours: Some(expires_in_hours),
        note: Some(note),
    };
    let created = api.create_invite(&request).await?;
    Ok(CreatedInviteView {
        link: natter_client::invites::web_link(api.base(), &created.code),
        app_link: natter_client::invites::app_link(api.base(), &created.code),
        invite: created.invite,
        code: created.code,
    })
}

#[tauri::command]
pub async fn my_invites(desktop: State<'_, Desktop>) -> Result<Vec<Invite>> {
    Ok(api(&desktop).await?.my_invites().await?.invites)
}

#[tauri::command]
pub async fn revoke_invite(desktop: State<'_, Desktop>, invite_id: InviteId) -> Result<()> {
    Ok(api(&desktop).await?.revoke_invite(invite_id).await?)
}

#[tauri::command]
pub async fn report_message(
    desktop: State<'_, Desktop>,
    conversation_id: ConversationId,
    message_id: MessageId,
    reason: String,
) -> Result<()> {
    Ok(api(&desktop)
        .await?
        .report_message(conversation_id, message_id, &reason)
        .await?)
}

/// Saves the export in the Downloads folder (without replacing a file) and answers its path.
#[tauri::command]
pub async fn export_data(app: AppHandle, desktop: State<'_, Desktop>) -> Result<String> {
    let client = desktop.client().await?;
    let bytes = client.api().export().await?;
    let folder = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|error| IpcError::new("internal", format!("no Downloads folder: {error}")))?;
    let stem = format!("natter-export-{}", client.me().username);
    let path = tauri::async_runtime::spawn_blocking(move || {
        std::fs::create_dir_all(&folder)?;
        let mut attempt = 0u32;
        loop {
            let name = match attempt {
                0 => format!("{stem}.json"),
                n => format!("{stem} ({n}).json"),
            };
            let path = folder.join(name);
            // create_new: an earlier export is never overwritten.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    std::io::Write::write_all(&mut file, &bytes)?;
                    return Ok::<_, std::io::Error>(path);
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => attempt += 1,
                Err(error) => return Err(error),
            }
        }
    })
    .await
    .map_err(|error| IpcError::new("internal", error.to_string()))?
    .map_err(|error| IpcError::new("io", format!("the export could not be saved: {error}")))?;
    Ok(path.display().to_string())
}

/// Deletes my account on the server, then signs this app out.
#[tauri::command]
pub async fn delete_account(
    app: AppHandle,
    desktop: State<'_, Desktop>,
    password: String,
    totp_code: Option<String>,
) -> Result<AppStateView> {
    let request = ConfirmWithPassword {
        password,
        totp_code: totp_code.filter(|code| !code.trim().is_empty()),
    };
    api(&desktop).await?.delete_account(&request).await?;
    Ok(desktop.sign_out(&app, true).await)
}
