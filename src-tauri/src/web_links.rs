//! Web links in messages open in the system's browser, never inside the app's webview: the
//! page hands the address to `open_link`, which opens only http and https addresses. Anything
//! else a message may contain (`file:`, `javascript:`, a custom scheme that starts some other
//! program) is refused, since the text came from another person.

use tauri::Url;

use crate::desktop::IpcError;

/// The longest address opened; a message holds at most 16 KiB anyway.
const MAX_LINK_BYTES: usize = 4096;

/// The address to open, or why not.
pub fn checked_web_link(text: &str) -> Result<Url, IpcError> {
    let refused = |why: &str| {
        IpcError::new(
            "invalid_link",
            format!("This link cannot be opened: {why}."),
        )
    };
    if text.len() > MAX_LINK_BYTES {
        return Err(refused("it is too long"));
    }
    let url = Url::parse(text).map_err(|_| refused("it is not a web address"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused("only http and https links open from a message"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refused("it names no host"));
    }
    Ok(url)
}

/// Opens a web link from a message in the system's default browser.
#[tauri::command]
pub async fn open_link(url: String) -> Result<(), IpcError> {
    let url = checked_web_link(&url)?;
    tauri_plugin_opener::open_url(url.as_str(), None::<&str>).map_err(|error| {
        tracing::warn!(%error, "the browser did not open");
        IpcError::new(
            "open_failed",
            "The link could not be opened: no web browser answered.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_addresses_open() {
        for link in [
            "https://natter.example/a?b=c#d",
            "http://127.0.0.1:8080/",
            "HTTPS://Example.org",
        ] {
            assert!(checked_web_link(link).is_ok(), "{link} refused");
        }
    }

    #[test]
    fn other_schemes_and_non_addresses_are_refused() {
        for link in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "natter://call/alice",
            "mailto:someone@example.org",
            "data:text/html,<script>alert(1)</script>",
            "example.org",
            "",
            "https://",
        ] {
            let refused = checked_web_link(link).expect_err(link);
            assert_eq!(refused.code, "invalid_link", "{link}");
        }
        let long = format!("https://example.org/{}", "a".repeat(MAX_LINK_BYTES));
        assert!(checked_web_link(&long).is_err());
    }
}
