//! Build script of the desktop app.
//!
//! `tauri::generate_context!` embeds the web UI from `ui/dist` (tauri.conf.json: `frontendDist`)
//! into the binary, so the UI must be built BEFORE this crate:
//!
//! ```text
//! cd ui && npm ci && npm run build      # or xtask's desktop::build_ui
//! cargo build -p natter-desktop
//! ```
//!
//! Without `ui/dist/index.html` the build stops here with a message saying so, rather than with
//! tauri's less obvious error about a missing `frontendDist`.

use std::path::PathBuf;

/// Every command of `src/commands.rs`, `src/call_commands.rs`, `src/account_commands.rs`,
/// `src/admin_commands.rs`, `src/file_commands.rs` (and `follow_links`, the two of `updates.rs`, `open_link`); each needs an
/// `allow-…` grant in `capabilities/` to be callable from a window.
const COMMANDS: &[&str] = &[
    "server_info",
    "reset_password",
    "account",
    "change_password",
    "sessions",
    "revoke_session",
    "revoke_other_sessions",
    "totp_setup",
    "totp_confirm",
    "totp_disable",
    "blocked_users",
    "block_user",
    "unblock_user",
    "create_invite",
    "my_invites",
    "revoke_invite",
    "report_message",
    "export_data",
    "delete_account",
    "admin_users",
    "admin_update_user",
    "admin_delete_user",
    "admin_reset_password",
    "admin_reset_two_factor",
    "admin_invites",
    "admin_stats",
    "admin_audit",
    "admin_reports",
    "admin_resolve_report",
    "app_state",
    "choose_server",
    "sign_in",
    "sign_up",
    "sign_out",
    "connection",
    "conversations",
    "open_conversation",
    "close_conversation",
    "load_older",
    "send_message",
    "react_to_message",
    "mute_conversation",
    "edit_message",
    "delete_message",
    "discard_message",
    "typing",
    "search_users",
    "search_messages",
    "start_direct",
    "create_group",
    "update_profile",
    "upload_avatar",
    "avatar",
    "set_settings",
    "pick_files",
    "stage_pasted",
    "unstage_file",
    "send_files",
    "attachment_picture",
    "download_attachment",
    "cancel_download",
    "open_download",
    "show_download",
    "start_call",
    "accept_call",
    "decline_call",
    "hang_up",
    "set_muted",
    "set_camera",
    "current_call",
    "devices",
    "use_device",
    "call_history",
    "start_device_test",
    "stop_device_test",
    "test_speaker",
    "set_fullscreen",
    "show_main_window",
    "follow_links",
    "install_update",
    "offered_update",
    "open_link",
];

fn main() {
    // Read at run time: `env!` would freeze the directory the build script was compiled in.
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let ui_dist = manifest_dir.join("../ui/dist");
    let index = ui_dist.join("index.html");

    // Re-run (and re-embed) when the built UI changes, not only when Rust sources change.
    println!("cargo:rerun-if-changed={}", ui_dist.display());
    println!("cargo:rerun-if-changed={}", index.display());

    if !index.is_file() {
        eprintln!(
            "error: {} is missing.\n\
             The desktop app embeds the built web UI. Build it first:\n\
             \n    cd ui && npm ci && npm run build\n\n\
             (xtask's desktop::build_ui does the same), then run cargo again.",
            index.display()
        );
        std::process::exit(1);
    }

    tauri_build::try_build(
        tauri_build::Attributes::new()
            // The webview may call only the app's own commands, each allowed by a capability.
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .unwrap_or_else(|error| {
        eprintln!("error: tauri-build failed: {error:#}");
        std::process::exit(1);
    });
}
