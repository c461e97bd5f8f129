//! Windows, from this Linux machine: the desktop app, the CLI and the server cross-compiled for
//! `x86_64-pc-windows-gnu` with mingw-w64 (linted by clippy for that target while they build),
//! then the CLI and the server run under Wine against the Linux CLI, and the desktop app's
//! installer installs and uninstalls under Wine (`crates/cli/tests/windows.rs`). Wine has no
//! WebView2, so the desktop app itself is built and installed, not run.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Result, bail};

use crate::{bundle, linted_cargo, run_command, setup, target_dir};

/// The Windows target built here: the GNU ABI, whose C toolchain (mingw-w64) Debian packages.
/// Windows developers build the same code for `x86_64-pc-windows-msvc` with Visual Studio.
pub const TARGET: &str = "x86_64-pc-windows-gnu";

/// The packages whose binaries Windows users get.
const PACKAGES: [&str; 3] = ["natter-server", "natter-cli", "natter-desktop"];

/// Where the Windows binaries land.
pub fn binaries(root: &Path) -> PathBuf {
    target_dir(root).join(TARGET).join("debug")
}

/// `natter-desktop.exe`, `natter.exe` and `natter-server.exe`, linted for Windows as they build.
pub fn build(root: &Path) -> Result<PathBuf> {
    setup::install_rustup_target(TARGET)?;
    let mut command = linted_cargo();
    command
        .current_dir(root)
        .args(["build", "--target", TARGET, "--bins"]);
    for package in PACKAGES {
        command.args(["-p", package]);
    }
    run_command(&mut command)?;
    let binaries = binaries(root);
    for exe in ["natter-desktop.exe", "natter.exe", "natter-server.exe"] {
        if !binaries.join(exe).is_file() {
            bail!("the Windows build made no {}", binaries.join(exe).display());
        }
    }
    Ok(binaries)
}

/// Builds the binaries and the installer, then runs the Windows tests under Wine.
pub fn test(root: &Path) -> Result<()> {
    let binaries = build(root)?;
    let installer = bundle::windows_installer(root, &binaries, bundle::Profile::Debug)?;
    let prefix = prepare_wine(root)?;
    // One wineserver for the whole run, instead of one started and stopped by every process.
    run_command(wine_env(Command::new("wineserver").arg("-p"), &prefix))?;
    let mut command = linted_cargo();
    command
        .current_dir(root)
        // The workspace's feature set, as `cargo test --workspace` built it: nothing recompiles.
        .args([
            "test",
            "--workspace",
            "--test",
            "windows",
            "--",
            "--ignored",
        ])
        .env("NATTER_WINDOWS_BIN", &binaries)
        .env("NATTER_WINDOWS_INSTALLER", &installer);
    let result = run_command(wine_env(&mut command, &prefix));
    let _ = wine_env(Command::new("wineserver").arg("-k"), &prefix).status();
    result
}

/// The environment every Wine process of the tests gets: the private prefix, no debug noise,
/// and no prompt to install Mono or Gecko (nothing here needs .NET or an HTML engine).
fn wine_env<'a>(command: &'a mut Command, prefix: &Path) -> &'a mut Command {
    command
        .env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        .env_remove("DISPLAY")
}

/// A private 64-bit Wine prefix in the target directory, made once, with the
/// `bcryptprimitives.dll` stand-in (`xtask/wine/bcryptprimitives.c`) that Rust programs need
/// on Wine 8.
fn prepare_wine(root: &Path) -> Result<PathBuf> {
    let prefix = target_dir(root).join("wine-prefix");
    if !prefix.join("system.reg").is_file() {
        eprintln!("xtask: making a Wine prefix in {}", prefix.display());
        run_command(wine_env(Command::new("wineboot").arg("--init"), &prefix))?;
        // wineboot returns before the prefix is written: wait for its wineserver to finish.
        run_command(wine_env(Command::new("wineserver").arg("--wait"), &prefix))?;
    }
    let system32 = prefix.join("drive_c/windows/system32");
    if !system32.is_dir() {
        bail!("the Wine prefix {} has no system32", prefix.display());
    }
    run_command(
        Command::new("x86_64-w64-mingw32-gcc")
            .args(["-shared", "-O2", "-Wall", "-Werror", "-o"])
            .arg(system32.join("bcryptprimitives.dll"))
            .arg(root.join("xtask/wine/bcryptprimitives.c"))
            .arg("-ladvapi32"),
    )?;
    Ok(prefix)
}
