//! Natter desktop app: a thin Tauri shell.
//!
//! The web UI (`ui/`, embedded from `ui/dist`) talks to this crate only through the commands
//! registered in [`run_with`]; each one is listed in `build.rs` (app manifest) and granted to the
//! main window in `capabilities/default.json`. Real work (API client, realtime session, media)
//! will live in the client core crates; this crate only wires them to the webview.

use std::process::ExitCode;

use clap::Parser;
use tauri::Url;

/// Server address used when neither `--server-url` nor `NATTER_SERVER_URL` is given.
pub const DEFAULT_SERVER_URL: &str = "http://127.0.0.1:8080";

/// Command-line options of the desktop app.
#[derive(Debug, Clone, Parser)]
#[command(name = "natter-desktop", version, about = "Natter desktop app")]
pub struct Options {
    /// Address of the Natter server (http:// or https://), shown on the start page.
    #[arg(
        long,
        env = "NATTER_SERVER_URL",
        value_name = "URL",
        default_value = DEFAULT_SERVER_URL,
        value_parser = parse_server_url,
    )]
    pub server_url: Url,
}

/// State shared with the commands.
#[derive(Debug)]
pub struct AppState {
    server_url: Url,
}

impl AppState {
    pub fn new(options: &Options) -> Self {
        Self {
            server_url: options.server_url.clone(),
        }
    }
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

/// Returns the server address the app was started with.
#[tauri::command]
fn server_url(state: tauri::State<'_, AppState>) -> String {
    display_server_url(&state.server_url)
}

/// Parses the command line and environment, then runs the app until its last window closes.
pub fn run() -> ExitCode {
    run_with(Options::parse())
}

/// Runs the app with the given options.
pub fn run_with(options: Options) -> ExitCode {
    let result = tauri::Builder::default()
        .manage(AppState::new(&options))
        .invoke_handler(tauri::generate_handler![server_url])
        .run(tauri::generate_context!());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("natter-desktop: {error}");
            ExitCode::FAILURE
        }
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
            assert_eq!(display_server_url(&options.server_url), DEFAULT_SERVER_URL);
        }
    }

    #[test]
    fn server_url_flag() {
        let options =
            Options::try_parse_from(["natter-desktop", "--server-url", "https://chat.example.org"])
                .unwrap();
        assert_eq!(
            display_server_url(&options.server_url),
            "https://chat.example.org"
        );
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
