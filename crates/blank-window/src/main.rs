//! The smallest Tauri 2 app: one window showing a static page, nothing else. The desktop
//! benchmark measures it exactly as it measures Natter, so the README can show what Natter
//! adds on top of the webview's own cost.

fn main() -> std::process::ExitCode {
    match tauri::Builder::default().run(tauri::generate_context!()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("natter-blank-window: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
