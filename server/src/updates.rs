//! Desktop app updates served by this server (`--updates-dir`), so an organisation decides which
//! version its people run: the operator puts the release's installers, their signatures and
//! its `latest.json` in a folder, and the app's updater asks this server instead of the
//! internet.
//!
//! `latest.json` is the static manifest Tauri's tools write:
//!
//! ```json
//! { "version": "0.2.0", "notes": "…", "pub_date": "2026-12-01T10:00:00Z",
//!   "platforms": { "linux-x86_64-deb": { "url": "Natter_0.2.0_amd64.deb", "signature": "…" } } }
//! ```
//!
//! A `url` that is a plain file name is a file of the folder, served at
//! `/api/updates/files/<name>`; an absolute `https://` URL is passed on as is. The signatures are
//! checked by the app against the public key built into it, never here: a server can withhold
//! an update but cannot make the app install anything Natter's release key did not sign. The
//! folder is read on every request, so a new release is live the moment its files are in place.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The manifest's name in the folder.
pub const MANIFEST: &str = "latest.json";
/// The largest manifest read (a release for a few platforms is a few KiB).
const MANIFEST_MAX_BYTES: u64 = 256 * 1024;

#[derive(Debug, Deserialize)]
struct Manifest {
    version: String,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    pub_date: Option<String>,
    platforms: std::collections::BTreeMap<String, PlatformRelease>,
}

#[derive(Debug, Deserialize)]
struct PlatformRelease {
    url: String,
    signature: String,
}

/// What the updater gets when there is something newer: Tauri's "dynamic server" answer.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Offer {
    pub version: String,
    pub url: String,
    pub signature: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pub_date: Option<String>,
}

/// Where the file of an offer is served, relative to the server's public address.
pub enum Location {
    /// A file of the folder: `/api/updates/files/<name>`.
    Folder(String),
    /// Somewhere else, as the manifest says.
    Absolute(String),
}

/// The update for an app on `platform` (`linux-x86_64-deb`, `windows-x86_64-nsis`, …; the
/// manifest may also list `linux-x86_64` for every Linux bundle) now at `current`, if the
/// folder has a newer one. The URL comes back as a [`Location`] for the caller to make absolute.
pub async fn offer(
    folder: &Path,
    platform: &str,
    platform_fallback: &str,
    current: &semver::Version,
) -> Result<Option<(Offer, Location)>> {
    let Some(manifest) = read_manifest(folder).await? else {
        return Ok(None);
    };
    let latest = semver::Version::parse(&manifest.version).map_err(|error| {
        Error::Internal(anyhow::anyhow!(
            "{MANIFEST} in the updates folder has no valid version: {error}"
        ))
    })?;
    if latest <= *current {
        return Ok(None);
    }
    let Some(release) = manifest
        .platforms
        .get(platform)
        .or_else(|| manifest.platforms.get(platform_fallback))
    else {
        return Ok(None);
    };
    let location = if release.url.starts_with("https://") || release.url.starts_with("http://") {
        Location::Absolute(release.url.clone())
    } else {
        if !is_file_name(&release.url) {
            return Err(Error::Internal(anyhow::anyhow!(
                "{MANIFEST} names {:?}, which is neither a file of the folder nor a URL",
                release.url
            )));
        }
        Location::Folder(release.url.clone())
    };
    let offer = Offer {
        version: manifest.version.clone(),
        url: String::new(),
        signature: release.signature.clone(),
        notes: manifest.notes,
        pub_date: manifest.pub_date,
    };
    Ok(Some((offer, location)))
}

async fn read_manifest(folder: &Path) -> Result<Option<Manifest>> {
    let path = folder.join(MANIFEST);
    let metadata = match tokio::fs::metadata(&path).await {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(folder_error(&path, error)),
    };
    if metadata.len() > MANIFEST_MAX_BYTES {
        return Err(Error::Internal(anyhow::anyhow!(
            "{} is larger than {MANIFEST_MAX_BYTES} bytes",
            path.display()
        )));
    }
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|error| folder_error(&path, error))?;
    serde_json::from_slice(&bytes).map(Some).map_err(|error| {
        Error::Internal(anyhow::anyhow!(
            "{} is not a release manifest: {error}",
            path.display()
        ))
    })
}

fn folder_error(path: &Path, error: std::io::Error) -> Error {
    Error::Internal(anyhow::anyhow!("cannot read {}: {error}", path.display()))
}

/// A name that can only be a file directly in the folder: no separators, no `..`, nothing
/// hidden, nothing a URL or a shell would read differently.
pub fn is_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+~".contains(c))
}

/// The file of the folder called `name` ([`is_file_name`]), if it is a regular file (not a
/// folder, not a link leading out).
pub async fn file(folder: &Path, name: &str) -> Result<(PathBuf, u64)> {
    if !is_file_name(name) {
        return Err(Error::NotFound);
    }
    let path = folder.join(name);
    match tokio::fs::symlink_metadata(&path).await {
        Ok(metadata) if metadata.is_file() => Ok((path, metadata.len())),
        Ok(_) => Err(Error::NotFound),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound),
        Err(error) => Err(folder_error(&path, error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_stay_in_the_folder() {
        assert!(is_file_name("Natter_0.2.0_amd64.deb"));
        assert!(is_file_name("Natter_0.2.0_x64-setup.exe.sig"));
        for bad in [
            "",
            ".",
            "..",
            "../etc/passwd",
            "a/b",
            "a\\b",
            ".hidden",
            "a b",
            "%2e%2e",
        ] {
            assert!(!is_file_name(bad), "{bad:?} accepted");
        }
    }
}
