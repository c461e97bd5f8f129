//! Installers: the Linux `.deb` and `.rpm` (tauri-cli from npm, `tauri bundle`) and the
//! Windows installer (our NSIS script, `src-tauri/windows/installer.nsi`, built by makensis:
//! Tauri's NSIS bundling downloads a plugin from GitHub, which this offline machine cannot).
//! AppImage is left out: its tools are downloaded at bundle time too.
//!
//! `cargo xtask bundle` makes release installers; the tests bundle the debug build they already
//! have (`Profile::Debug`), install the `.deb` here and the Windows installer under Wine.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::{cargo, desktop, run_command, setup, target_dir, windows};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Debug,
    Release,
}

impl Profile {
    fn folder(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        }
    }
}

/// The app's version, from `src-tauri/tauri.conf.json`.
pub fn version(root: &Path) -> Result<String> {
    let config = root.join("src-tauri/tauri.conf.json");
    let text = std::fs::read_to_string(&config)
        .with_context(|| format!("cannot read {}", config.display()))?;
    text.lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("\"version\": \"")
                .and_then(|rest| rest.split('"').next())
        })
        .map(str::to_owned)
        .with_context(|| format!("no \"version\" in {}", config.display()))
}

/// `cargo xtask bundle [--debug]`: builds the desktop app (release unless `--debug`, with the
/// embedded UI served as in a release) and makes its installers: on Linux the `.deb`, the
/// `.rpm` and (cross-built) the Windows installer; on Windows its installer; on macOS the
/// `.app` and `.dmg`.
pub fn command(root: &Path, args: &[String]) -> Result<()> {
    let profile = match args {
        [] => Profile::Release,
        [flag] if flag == "--debug" => Profile::Debug,
        _ => bail!("usage: cargo xtask bundle [--debug]"),
    };
    setup::install()?;
    desktop::build_ui(root)?;
    let made = if cfg!(windows) {
        vec![native_windows(root, profile)?]
    } else if cfg!(target_os = "macos") {
        macos(root, profile)?
    } else {
        linux_and_windows(root, profile)?
    };
    for file in made {
        println!("bundle: {}", file.display());
    }
    Ok(())
}

/// On Linux: the `.deb` and `.rpm`, and the Windows installer of the mingw-w64 build.
fn linux_and_windows(root: &Path, profile: Profile) -> Result<Vec<PathBuf>> {
    let mut linux = cargo();
    linux.current_dir(root).args([
        "build",
        "-p",
        "natter-desktop",
        "--features",
        "custom-protocol",
    ]);
    let mut windows_build = cargo();
    windows_build.current_dir(root).args([
        "build",
        "-p",
        "natter-desktop",
        "--features",
        "custom-protocol",
        "--target",
        windows::TARGET,
    ]);
    if profile == Profile::Release {
        linux.arg("--release");
        windows_build.arg("--release");
    }
    run_command(&mut linux)?;
    setup::install_rustup_target(windows::TARGET)?;
    run_command(&mut windows_build)?;
    let mut made = linux_packages(root, profile)?;
    let windows_binaries = target_dir(root)
        .join(windows::TARGET)
        .join(profile.folder());
    made.push(windows_installer(root, &windows_binaries, profile)?);
    Ok(made)
}

/// On Windows: the app built natively (MSVC, WebView2's loader inside the .exe) and its
/// installer.
fn native_windows(root: &Path, profile: Profile) -> Result<PathBuf> {
    let mut build = cargo();
    build.current_dir(root).args([
        "build",
        "-p",
        "natter-desktop",
        "--features",
        "custom-protocol",
    ]);
    if profile == Profile::Release {
        build.arg("--release");
    }
    run_command(&mut build)?;
    windows_installer(root, &target_dir(root).join(profile.folder()), profile)
}

/// On macOS: tauri-cli builds and packs the `.app` and the `.dmg` (signed when
/// `APPLE_SIGNING_IDENTITY` is set; .github/workflows/release.yml).
fn macos(root: &Path, profile: Profile) -> Result<Vec<PathBuf>> {
    let mut command = Command::new(tauri_cli(root)?);
    command
        .current_dir(root)
        .args(["build", "--bundles", "app,dmg", "--ci"]);
    if profile == Profile::Debug {
        command.arg("--debug");
    }
    run_command(&mut command)?;
    let bundles = target_dir(root).join(profile.folder()).join("bundle");
    Ok(vec![bundles.join("macos/Natter.app"), bundles.join("dmg")])
}

/// tauri-cli, from the UI's npm packages (`desktop::build_ui` installs them).
fn tauri_cli(root: &Path) -> Result<PathBuf> {
    let name = if cfg!(windows) { "tauri.cmd" } else { "tauri" };
    let tauri = root.join("ui/node_modules/.bin").join(name);
    ensure!(
        tauri.is_file(),
        "{} is missing: the UI's npm packages (desktop::build_ui) bring tauri-cli",
        tauri.display()
    );
    Ok(tauri)
}

/// The `.deb` and `.rpm` of the app already built for this profile (`tauri bundle` packs, it
/// does not build).
pub fn linux_packages(root: &Path, profile: Profile) -> Result<Vec<PathBuf>> {
    let mut command = Command::new(tauri_cli(root)?);
    command
        .current_dir(root)
        .args(["bundle", "--bundles", "deb,rpm", "--ci"]);
    if profile == Profile::Debug {
        command.arg("--debug");
    }
    run_command(&mut command)?;
    let version = version(root)?;
    let bundles = target_dir(root).join(profile.folder()).join("bundle");
    let made = vec![
        bundles.join(format!("deb/Natter_{version}_amd64.deb")),
        bundles.join(format!("rpm/Natter-{version}-1.x86_64.rpm")),
    ];
    for file in &made {
        ensure!(file.is_file(), "tauri bundle made no {}", file.display());
    }
    Ok(made)
}

/// Where a Tauri app records how it was installed (tauri-utils' `bundle_type`): the bundler
/// rewrites this placeholder in the binary, and the updater asks for updates of that kind
/// (`nsis`; with the placeholder left, `unknown`, which no release names).
const BUNDLE_TYPE_UNKNOWN: &[u8] = b"__TAURI_BUNDLE_TYPE_VAR_UNK";
const BUNDLE_TYPE_NSIS: &[u8] = b"__TAURI_BUNDLE_TYPE_VAR_NSS";

/// The Windows installer of the app built in `binaries`: `natter-desktop.exe`, marked as
/// installed by NSIS as tauri-cli would mark it, and the `WebView2Loader.dll` the GNU build
/// links (the MSVC build has none). The files it packs are in `bundle/nsis/app/`.
pub fn windows_installer(root: &Path, binaries: &Path, profile: Profile) -> Result<PathBuf> {
    let mut needed = vec!["natter-desktop.exe"];
    if binaries.starts_with(target_dir(root).join(windows::TARGET)) {
        needed.push("WebView2Loader.dll");
    }
    let version = version(root)?;
    let folder = binaries.join("bundle/nsis");
    let packed = folder.join("app");
    if packed.exists() {
        std::fs::remove_dir_all(&packed)
            .with_context(|| format!("cannot empty {}", packed.display()))?;
    }
    std::fs::create_dir_all(&packed)
        .with_context(|| format!("cannot create {}", packed.display()))?;
    for file in needed {
        let built = binaries.join(file);
        let mut bytes = std::fs::read(&built).with_context(|| {
            format!(
                "{} is missing: build the Windows app first",
                built.display()
            )
        })?;
        if file == "natter-desktop.exe" {
            let marker = bytes
                .windows(BUNDLE_TYPE_UNKNOWN.len())
                .position(|window| window == BUNDLE_TYPE_UNKNOWN)
                .with_context(|| format!("{} has no bundle type to mark", built.display()))?;
            bytes[marker..marker + BUNDLE_TYPE_NSIS.len()].copy_from_slice(BUNDLE_TYPE_NSIS);
        }
        std::fs::write(packed.join(file), bytes)
            .with_context(|| format!("cannot write {}", packed.join(file).display()))?;
    }
    let installer = folder.join(format!("Natter_{version}_x64-setup.exe"));
    let mut command = Command::new("makensis");
    command
        .arg("-V2")
        .arg(format!("-DVERSION={version}"))
        .arg(format!("-DSOURCE={}", packed.display()))
        .arg(format!("-DICON={}", root.join("icons/icon.ico").display()))
        .arg(format!("-DOUTFILE={}", installer.display()));
    if profile == Profile::Debug {
        command.arg("-DFAST");
    }
    command.arg(root.join("src-tauri/windows/installer.nsi"));
    run_command(&mut command).context("makensis (Debian package nsis) failed")?;
    Ok(installer)
}

/// Installs the `.deb` on this machine, as a user would (apt, which also brings its
/// dependencies), and checks what it put in place. Returns the installed app.
pub fn install_deb(deb: &Path) -> Result<PathBuf> {
    let mut command = setup::as_root("apt-get");
    command
        .args(["install", "--reinstall", "-y", "--no-install-recommends"])
        .arg(deb)
        .env("DEBIAN_FRONTEND", "noninteractive");
    run_command(&mut command).context("installing the .deb failed")?;
    let app = PathBuf::from("/usr/bin/natter-desktop");
    ensure!(app.is_file(), "the .deb installed no {}", app.display());
    let entry = Path::new("/usr/share/applications/Natter.desktop");
    let text = std::fs::read_to_string(entry)
        .with_context(|| format!("the .deb installed no {}", entry.display()))?;
    for line in [
        "Exec=natter-desktop %u",
        "MimeType=x-scheme-handler/natter;",
    ] {
        ensure!(
            text.lines().any(|candidate| candidate == line),
            "{} lacks {line:?}: natter:// links would not reach the app\n{text}",
            entry.display()
        );
    }
    Ok(app)
}

/// The test release key (minisign, no password), made with `tauri signer generate`: only the
/// test builds trust it (`linted_cargo`). Never a release's.
pub const TEST_KEY: &str = "xtask/updates/test-release.key";
pub const TEST_KEY_PUBLIC: &str = "xtask/updates/test-release.key.pub";

/// The release the update test offers, in `folder`: the desktop app built again as `version`
/// (the test build, through `TAURI_CONFIG`), packed as a `.deb`, signed with the test key for
/// that version, `latest.json` naming it, and `tampered.deb`, the package with one byte
/// changed. The next test build is the app as it was again (cargo rebuilds only the app).
pub fn update_release(root: &Path, folder: &Path, version: &str) -> Result<()> {
    let config = format!(r#"{{"version":"{version}"}}"#);
    run_command(
        crate::linted_cargo()
            .current_dir(root)
            .args(["build", "--workspace", "--bins", "--tests"])
            .env("TAURI_CONFIG", &config),
    )?;
    run_command(Command::new(tauri_cli(root)?).current_dir(root).args([
        "bundle",
        "--debug",
        "--bundles",
        "deb",
        "--ci",
        "--config",
        &config,
    ]))?;
    let name = format!("Natter_{version}_amd64.deb");
    let built = target_dir(root).join("debug/bundle/deb").join(&name);
    if folder.exists() {
        std::fs::remove_dir_all(folder)
            .with_context(|| format!("cannot empty {}", folder.display()))?;
    }
    std::fs::create_dir_all(folder)?;
    let package = folder.join(&name);
    std::fs::rename(&built, &package)
        .or_else(|_| std::fs::copy(&built, &package).map(drop))
        .with_context(|| format!("cannot move {} to {}", built.display(), folder.display()))?;
    run_command(
        Command::new(tauri_cli(root)?)
            .current_dir(root)
            .args(["signer", "sign", "--password", "", "--app-version", version])
            .arg("--private-key-path")
            .arg(root.join(TEST_KEY))
            .arg(&package)
            .env_remove("TAURI_SIGNING_PRIVATE_KEY"),
    )?;
    let signature = std::fs::read_to_string(folder.join(format!("{name}.sig")))
        .context("tauri signer wrote no signature")?;
    let manifest = format!(
        "{{\"version\":\"{version}\",\"notes\":\"The update test's release\",\
         \"platforms\":{{\"linux-x86_64-deb\":{{\"url\":\"{name}\",\"signature\":\"{}\"}}}}}}",
        signature.trim()
    );
    std::fs::write(folder.join("latest.json"), manifest)?;
    let mut tampered = std::fs::read(&package)?;
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    std::fs::write(folder.join("tampered.deb"), tampered)?;
    Ok(())
}

/// Removes the package `install_deb` installed.
pub fn remove_deb() -> Result<()> {
    let mut command = setup::as_root("apt-get");
    command
        .args(["remove", "-y", "natter"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    run_command(&mut command).context("removing the natter package failed")
}
