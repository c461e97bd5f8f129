//! The app's identity towards the system.

/// tauri.conf.json's `identifier`: the credential store's service name, and on Windows the
/// toasts' AppUserModelID.
pub const APP_IDENTIFIER: &str = "org.natter.desktop";
