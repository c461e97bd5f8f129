//! The tray icon: a menu (Open, Sign out, Quit), a tooltip with the unread count (missed calls
//! count as unread), and a ringing icon and tooltip while a call rings; the window's title and
//! badge follow the unread count too. It only shows what it is told: the menu's actions that
//! need the account are the caller's (`install`'s `on_action`), the count is given
//! (`desktop::refresh_unread`).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use tauri::{
    AppHandle, Manager,
    menu::{Menu, MenuItem},
    tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent},
};

const TRAY_ID: &str = "natter";

/// The tray icon while a call rings: the app's icon with a green dot.
const RINGING_ICON: tauri::image::Image<'static> =
    tauri::include_image!("../icons/tray-ringing.png");

/// The taskbar overlay while messages are unread, on Windows (no badge count there).
#[cfg(windows)]
const UNREAD_OVERLAY: tauri::image::Image<'static> =
    tauri::include_image!("../icons/unread-overlay.png");

/// A call rings: the tooltip says so, and unread counts do not replace it meanwhile.
static RINGING: AtomicBool = AtomicBool::new(false);
/// The unread count last shown, shown again when the ringing stops.
static UNREAD: AtomicI64 = AtomicI64::new(0);

/// A menu item that needs more than the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayAction {
    SignOut,
    Quit,
}

/// Shows that a call from `caller` rings (icon and tooltip), or (`None`) that none does.
pub fn set_ringing(app: &AppHandle, caller: Option<&str>) {
    RINGING.store(caller.is_some(), Ordering::SeqCst);
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    match caller {
        Some(caller) => {
            let _ = tray.set_icon(Some(RINGING_ICON));
            let _ = tray.set_tooltip(Some(&format!("Natter — {caller} is calling")));
        }
        None => {
            let _ = tray.set_icon(app.default_window_icon().cloned());
            show_unread(app, UNREAD.load(Ordering::SeqCst));
        }
    }
}

pub fn install(
    app: &AppHandle,
    on_action: impl Fn(&AppHandle, TrayAction) + Send + Sync + 'static,
) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Natter", true, None::<&str>)?;
    let sign_out = MenuItem::with_id(app, "sign_out", "Sign out", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &sign_out, &quit])?;
    let mut builder = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Natter")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(move |app, event| match event.id.as_ref() {
            "open" => show_main_window(app),
            "sign_out" => on_action(app, TrayAction::SignOut),
            "quit" => on_action(app, TrayAction::Quit),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                show_main_window(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    Ok(())
}

pub fn show_main_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Shows the total unread count in the tooltip, the window title and the badge.
pub fn show_unread(app: &AppHandle, unread: i64) {
    UNREAD.store(unread, Ordering::SeqCst);
    let text = match unread {
        0 => "Natter".to_owned(),
        1 => "Natter — 1 unread message".to_owned(),
        n => format!("Natter — {n} unread messages"),
    };
    if let Some(tray) = app.tray_by_id(TRAY_ID)
        && !RINGING.load(Ordering::SeqCst)
    {
        let _ = tray.set_tooltip(Some(&text));
    }
    if let Some(window) = app.get_webview_window("main") {
        let title = if unread == 0 {
            "Natter".to_owned()
        } else {
            format!("({unread}) Natter")
        };
        let _ = window.set_title(&title);
        // The dock or launcher badge, where the desktop has one; on Windows a dot on the
        // taskbar button (the count is in the title and the tray's tooltip).
        #[cfg(windows)]
        let _ = window.set_overlay_icon((unread > 0).then_some(UNREAD_OVERLAY));
        #[cfg(not(windows))]
        let _ = window.set_badge_count((unread > 0).then_some(unread));
    }
}
