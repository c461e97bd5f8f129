//! Natter desktop app: a thin Tauri shell.
//!
//! The web UI (`ui/`, embedded from `ui/dist`) talks to this crate only through the commands
//! registered in [`run_with`] (docs/desktop-ipc.md); each one is listed in `build.rs` (app
//! manifest) and granted to the main window in `capabilities/default.json`. Real work (API
//! client, realtime session, outbox, cache) lives in `natter-client`; this crate wires it to
//! the webview, the tray and OS notifications.

mod account_commands;
mod admin_commands;
mod autostart;
mod call_alerts;
mod call_commands;
mod call_view;
mod calls;
mod commands;
mod connection;
mod desktop;
mod events;
mod file_commands;
mod file_desk;
mod frames;
mod identity;
#[cfg(test)]
mod ipc_contract;
mod links;
mod media;
mod notifications;
mod page_event_names;
mod page_events;
mod tray;
mod updates;
mod web_links;

use std::{process::ExitCode, sync::Arc};

use clap::Parser;
use tauri::{Manager, Url};

/// Command-line options of the desktop app.
#[derive(Debug, Clone, Parser)]
#[command(name = "natter-desktop", version, about = "Natter desktop app")]
pub struct Options {
    /// Address of the Natter server (http:// or https://). Without it the app asks, and
    /// remembers the answer.
    #[arg(long, env = "NATTER_SERVER_URL", value_name = "URL", value_parser = parse_server_url)]
    pub server_url: Option<Url>,
    /// Start in the tray without showing the window (as "Start Natter when I log in" does).
    #[arg(long)]
    pub hidden: bool,
    /// A natter:// link to follow (links.rs). The system starts the app this way when someone
    /// opens one; read by the deep-link plugin, listed here so the command line accepts it.
    #[arg(hide = true, value_name = "LINK")]
    pub links: Vec<String>,
}

/// Parses a server address: an absolute http or https URL with a host.
pub fn parse_server_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|error| format!("not a valid URL: {error}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not {:?}",
            url.scheme()
        ));
    }
    if url.host().is_none() {
        return Err("the URL has no host".to_owned());
    }
    Ok(url)
}

/// The URL as people write it: `http://host:port` without the `/` that parsing adds.
pub fn display_server_url(url: &Url) -> String {
    let text = url.as_str();
    if url.path() == "/" && url.query().is_none() && url.fragment().is_none() {
        text.trim_end_matches('/').to_owned()
    } else {
        text.to_owned()
    }
}

/// Parses the command line and environment, then runs the app until its last window closes.
pub fn run() -> ExitCode {
    run_with(Options::parse())
}

/// Without a GPU, WebKitGTK's accelerated compositing runs on a software GL (llvmpipe), which
/// costs far more than its plain software path: measured here at 640x480, 30 fps video, the web
/// process went from 148 % to 93 % of a core and the display latency from 18 to 6 ms
/// (`cargo xtask bench desktop-call`). So where the machine has no GPU render node, compositing
/// is turned off, unless the user decided otherwise.
#[cfg(target_os = "linux")]
fn software_rendering_without_gpu() {
    const VARIABLE: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    let has_gpu = std::fs::read_dir("/dev/dri").is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.file_name().to_string_lossy().starts_with("renderD"))
    });
    if !has_gpu && std::env::var_os(VARIABLE).is_none() {
        // SAFETY: called first thing in `run_with`, before the app starts any thread that
        // could read the environment.
        unsafe { std::env::set_var(VARIABLE, "1") };
    }
}

/// Logs to stderr, or appended to the file `NATTER_LOG_FILE` names: an app started by a
/// launcher, WebDriver or its own restart has no terminal to read. `NATTER_LOG` filters
/// (default `warn`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NATTER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let file = std::env::var_os("NATTER_LOG_FILE").and_then(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .inspect_err(|error| {
                eprintln!("natter: cannot log to {}: {error}", path.to_string_lossy())
            })
            .ok()
    });
    let logging = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match file {
        Some(file) => logging
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .try_init(),
        None => logging.try_init(),
    };
}

/// Runs the app with the given options.
pub fn run_with(options: Options) -> ExitCode {
    #[cfg(target_os = "linux")]
    software_rendering_without_gpu();
    init_logging();
    natter_client::tls::install_crypto_provider();
    let result = tauri::Builder::default()
        // First: a second start hands over to the running app and exits. A link it was given
        // reaches the deep-link plugin (the single-instance `deep-link` feature), which tells
        // `links`; a second start at login stays in the tray.
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            if !args.iter().any(|arg| arg == autostart::HIDDEN_FLAG) {
                tray::show_main_window(app);
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(autostart::plugin())
        .plugin(updates::plugin())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .register_asynchronous_uri_scheme_protocol(frames::SCHEME, |context, request, responder| {
            let streams = context
                .app_handle()
                .state::<calls::CallDesk>()
                .streams
                .clone();
            tauri::async_runtime::spawn(async move {
                responder.respond(frames::serve(&streams, &request).await);
            });
        })
        .setup(move |app| {
            let handle = app.handle().clone();
            let streams = Arc::new(frames::Streams::default());
            let desktop = desktop::Desktop::load(
                desktop::data_dir(&handle),
                options.server_url.as_ref(),
                streams.clone(),
                &ACCOUNT_HOOKS,
            );
            app.manage(calls::CallDesk::new(streams, desktop.picks()));
            app.manage(desktop.clone());
            app.manage(links::PendingLink::default());
            app.manage(file_desk::FileDesk::default());
            app.manage(updates::Found::default());
            let in_tray = match tray::install(&handle, on_tray_action) {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(%error, "no tray icon");
                    false
                }
            };
            // The window starts hidden (tauri.conf.json) and shows unless the app starts at
            // login; without a tray to come back from, it shows anyway, and after an update
            // (started again with the old arguments) too.
            let after_update = updates::restarted_for_update(&handle);
            if !options.hidden || !in_tray || after_update {
                tray::show_main_window(&handle);
            }
            listen_for_links(&handle, !after_update);
            tauri::async_runtime::spawn(async move {
                autostart::sync(&handle).await;
                desktop.restore(&handle).await;
                updates::keep_checking(&handle);
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            // The incoming-call window stays while the call rings: closing it would leave no
            // way to answer on platforms whose notifications have no buttons. It goes when
            // ringing stops.
            if window.label() == calls::CALL_WINDOW {
                if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                    api.prevent_close();
                }
                return;
            }
            if window.label() != "main" {
                return;
            }
            if let tauri::WindowEvent::DragDrop(drag) = event {
                file_commands::on_drag_drop(window.app_handle(), drag);
            }
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                let app = window.app_handle();
                let desktop = app.state::<desktop::Desktop>().inner().clone();
                let close_to_tray =
                    tauri::async_runtime::block_on(desktop.settings()).close_to_tray;
                if close_to_tray && app.tray_by_id("natter").is_some() {
                    api.prevent_close();
                    let _ = window.hide();
                } else {
                    tauri::async_runtime::block_on(desktop.stop());
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            account_commands::server_info,
            account_commands::reset_password,
            account_commands::account,
            account_commands::change_password,
            account_commands::sessions,
            account_commands::revoke_session,
            account_commands::revoke_other_sessions,
            account_commands::totp_setup,
            account_commands::totp_confirm,
            account_commands::totp_disable,
            account_commands::blocked_users,
            account_commands::block_user,
            account_commands::unblock_user,
            account_commands::create_invite,
            account_commands::my_invites,
            account_commands::revoke_invite,
            account_commands::report_message,
            account_commands::export_data,
            account_commands::delete_account,
            admin_commands::admin_users,
            admin_commands::admin_update_user,
            admin_commands::admin_delete_user,
            admin_commands::admin_reset_password,
            admin_commands::admin_reset_two_factor,
            admin_commands::admin_invites,
            admin_commands::admin_stats,
            admin_commands::admin_audit,
            admin_commands::admin_reports,
            admin_commands::admin_resolve_report,
            commands::app_state,
            commands::choose_server,
            commands::sign_in,
            commands::sign_up,
            commands::sign_out,
            commands::connection,
            commands::conversations,
            commands::open_conversation,
            commands::close_conversation,
            commands::load_older,
            commands::send_message,
            commands::react_to_message,
            commands::mute_conversation,
            commands::edit_message,
            commands::delete_message,
            commands::discard_message,
            commands::typing,
            commands::search_users,
            commands::search_messages,
            commands::start_direct,
            commands::create_group,
            commands::update_profile,
            commands::upload_avatar,
            commands::avatar,
            commands::set_settings,
            file_commands::pick_files,
            file_commands::stage_pasted,
            file_commands::unstage_file,
            file_commands::send_files,
            file_commands::attachment_picture,
            file_commands::download_attachment,
            file_commands::cancel_download,
            file_commands::open_download,
            file_commands::show_download,
            call_commands::start_call,
            call_commands::accept_call,
            call_commands::decline_call,
            call_commands::hang_up,
            call_commands::set_muted,
            call_commands::set_camera,
            call_commands::current_call,
            call_commands::devices,
            call_commands::use_device,
            call_commands::call_history,
            call_commands::start_device_test,
            call_commands::stop_device_test,
            call_commands::test_speaker,
            call_commands::set_fullscreen,
            call_commands::show_main_window,
            links::follow_links,
            updates::install_update,
            updates::offered_update,
            web_links::open_link,
        ])
        .build(tauri::generate_context!());
    match result {
        Ok(app) => {
            app.run(on_run_event);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("natter-desktop: {error}");
            ExitCode::FAILURE
        }
    }
}

/// natter:// links: the one the app was started with (unless `follow_start_link` is false),
/// and those that reach it later. Windows installs without the installer (a zip) register the
/// scheme for this copy of the app; the bundles register it on Linux and macOS.
fn listen_for_links(app: &tauri::AppHandle, follow_start_link: bool) {
    use tauri_plugin_deep_link::DeepLinkExt;

    let deep_link = app.deep_link();
    #[cfg(windows)]
    register_toast_identity();
    #[cfg(windows)]
    if !deep_link.is_registered(links::SCHEME).unwrap_or(false)
        && let Err(error) = deep_link.register(links::SCHEME)
    {
        tracing::warn!(%error, "natter:// links not registered");
    }
    let handle = app.clone();
    deep_link.on_open_url(move |event| links::open(&handle, event.urls()));
    if !follow_start_link {
        return;
    }
    match deep_link.get_current() {
        Ok(Some(urls)) => links::open(app, urls),
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "the link the app was started with is lost"),
    }
}

/// Windows shows a toast only for an app it knows by its AppUserModelID; the installer registers
/// ours, and a copy run without it (a zip) registers itself here, per user, with its own path
/// for the icon.
#[cfg(windows)]
fn register_toast_identity() {
    let key = format!(
        r"Software\Classes\AppUserModelId\{}",
        desktop::APP_IDENTIFIER
    );
    let registered = windows_registry::CURRENT_USER
        .create(&key)
        .and_then(|entry| {
            if entry.get_string("DisplayName").is_ok() {
                return Ok(());
            }
            entry.set_string("DisplayName", "Natter")?;
            if let Ok(exe) = std::env::current_exe() {
                entry.set_string("IconUri", exe.display().to_string())?;
            }
            Ok(())
        });
    if let Err(error) = registered {
        tracing::warn!(%error, "the toasts' identity is not registered; toasts may not show");
    }
}

/// How long quitting waits for the client to stop before the app goes anyway.
const STOP_ON_EXIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The app's life as the OS drives it. On macOS a click on the Dock icon brings back the window
/// that was closed to the tray (the app lives on without windows, as Mac apps do). Everywhere,
/// quitting by any route (the tray's Quit, Cmd-Q and the Dock's Quit on macOS, logging out)
/// stops the client first, as the tray's Quit does, so the realtime session ends cleanly and
/// the outbox is on disk.
/// The app's parts that follow the account's client, wired here so that `desktop.rs` (the
/// state they all read) depends on none of them.
static ACCOUNT_HOOKS: desktop::AccountHooks = desktop::AccountHooks {
    forward_events: |app, desktop, client| {
        tauri::async_runtime::spawn(events::forward(app, desktop, client.subscribe()))
    },
    // A natter:// link that came while nobody was signed in; pasted copies left behind.
    signed_in: |app| {
        Box::pin(async move {
            file_commands::sweep_copies(app).await;
            links::follow_pending(app).await;
        })
    },
    signed_out: |app| {
        Box::pin(async move {
            let desk = app.state::<calls::CallDesk>().inner().clone();
            desk.reset(app).await;
        })
    },
};

/// The tray menu's items that need the account.
fn on_tray_action(app: &tauri::AppHandle, action: tray::TrayAction) {
    let app = app.clone();
    let desktop = app.state::<desktop::Desktop>().inner().clone();
    tauri::async_runtime::spawn(async move {
        match action {
            tray::TrayAction::SignOut => {
                desktop.sign_out(&app, false).await;
                tray::show_main_window(&app);
            }
            tray::TrayAction::Quit => {
                desktop.stop().await;
                app.exit(0);
            }
        }
    });
}

fn on_run_event(app: &tauri::AppHandle, event: tauri::RunEvent) {
    match event {
        #[cfg(target_os = "macos")]
        tauri::RunEvent::Reopen {
            has_visible_windows: false,
            ..
        } => tray::show_main_window(app),
        tauri::RunEvent::Exit => stop_client_before_exit(app),
        _ => {}
    }
}

/// Stops the client, waiting at most [`STOP_ON_EXIT`]. Called outside the async runtime (the
/// main thread at exit; the updater's thread before a Windows installer takes over).
pub(crate) fn stop_client_before_exit(app: &tauri::AppHandle) {
    let Some(desktop) = app.try_state::<desktop::Desktop>() else {
        return;
    };
    let desktop = desktop.inner().clone();
    // The timer is made inside the runtime's block_on: outside it there is no reactor.
    let stopped = tauri::async_runtime::block_on(async move {
        tokio::time::timeout(STOP_ON_EXIT, desktop.stop()).await
    });
    if stopped.is_err() {
        tracing::warn!("the client did not stop within {STOP_ON_EXIT:?}; quitting anyway");
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_line_is_well_formed() {
        Options::command().debug_assert();
    }

    #[test]
    fn default_server_url() {
        let options = Options::try_parse_from(["natter-desktop"]).unwrap();
        // The environment of the test run may set NATTER_SERVER_URL; only check the default
        // when it does not.
        if std::env::var_os("NATTER_SERVER_URL").is_none() {
            assert_eq!(options.server_url, None);
        }
    }

    #[test]
    fn server_url_flag() {
        let options =
            Options::try_parse_from(["natter-desktop", "--server-url", "https://chat.example.org"])
                .unwrap();
        let url = options.server_url.expect("the flag is read");
        assert_eq!(display_server_url(&url), "https://chat.example.org");
    }

    #[test]
    fn accepts_http_and_https_only() {
        assert!(parse_server_url("http://127.0.0.1:8080").is_ok());
        assert!(parse_server_url(" https://natter.example/base/ ").is_ok());
        assert!(parse_server_url("ftp://natter.example").is_err());
        assert!(parse_server_url("javascript:alert(1)").is_err());
        assert!(parse_server_url("127.0.0.1:8080").is_err());
        assert!(parse_server_url("").is_err());
    }

    #[test]
    fn display_keeps_paths() {
        let url = parse_server_url("https://natter.example/base/").unwrap();
        assert_eq!(display_server_url(&url), "https://natter.example/base/");
    }
}
