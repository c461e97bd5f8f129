//! Installs what the project needs on a Debian or Ubuntu machine: system packages through apt
//! (with sudo when not root), cargo tools (tauri-driver, for the desktop end-to-end test) and
//! Python packages (moto, the S3-compatible server the file store's tests talk to).
//! Does nothing for what is present. (npm packages are installed by `desktop::build_ui`.)

use std::{path::Path, process::Command};

use anyhow::{Context, Result};

use crate::{cargo, desktop::find_program, run_command};

/// Debian packages: build tools, the WebKitGTK stack Tauri needs, a virtual display and
/// audio for headless tests, the OS keyring, and PostgreSQL/Redis binaries that the test
/// harness starts privately.
pub const APT_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "libssl-dev",
    "cmake",
    "nasm",
    "libwebkit2gtk-4.1-dev",
    "libgtk-3-dev",
    "libsoup-3.0-dev",
    "libjavascriptcoregtk-4.1-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "libasound2-dev",
    "libdbus-1-dev",
    "libclang-dev",
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "dbus-x11",
    "xdotool",
    "imagemagick",
    "pulseaudio",
    "pulseaudio-utils",
    "libasound2-plugins",
    "gnome-keyring",
    "libsecret-tools",
    "keyutils",
    "dunst",
    "postgresql",
    "redis-server",
    // pip, for moto (see `install_python_packages`).
    "python3-pip",
    // The WebRTC interoperability test calls a headless Chromium (crates/cli/tests/interop.rs).
    "chromium",
    // Network namespaces, links pulled and slowed for the call tests (crates/cli/tests/network.rs).
    "iproute2",
    // The Windows build: mingw-w64 links it (and builds the C of opus and openh264); Wine runs
    // the Windows CLI and server in the tests (xtask/src/windows.rs).
    "mingw-w64",
    "wine",
    "wine64",
    // The Windows installer (src-tauri/windows/installer.nsi, xtask/src/bundle.rs).
    "nsis",
    // The desktop app's updater installs a .deb with pkexec, else sudo (the update test runs
    // as root, without polkit).
    "sudo",
];

fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// `program`, through sudo unless this already runs as root.
pub fn as_root(program: &str) -> Command {
    if is_root() {
        Command::new(program)
    } else {
        let mut sudo = Command::new("sudo");
        sudo.arg(program);
        sudo
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        .unwrap_or(false)
}

pub fn install() -> Result<()> {
    install_system_packages()?;
    install_python_packages()?;
    install_cargo_tools()
}

/// moto's S3 server: the real S3 protocol on a loopback port, for the tests of the file store
/// on S3 (Debian packages no S3-compatible server; PyPI has moto).
fn install_python_packages() -> Result<()> {
    // The S3 tests run with the server's tests on Linux; elsewhere nothing needs moto.
    if !cfg!(target_os = "linux") {
        return Ok(());
    }
    let present = Command::new("python3")
        .args(["-c", "import moto.server, flask, flask_cors"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !present {
        eprintln!("xtask: installing moto[server] (pip)");
        run_command(Command::new("python3").args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--break-system-packages",
            "moto[server]>=5.1,<6",
        ]))?;
    }
    Ok(())
}

fn install_system_packages() -> Result<()> {
    if cfg!(target_os = "linux") && Path::new("/usr/bin/apt-get").exists() {
        let missing: Vec<&str> = APT_PACKAGES
            .iter()
            .copied()
            .filter(|package| !is_installed(package))
            .collect();
        if !missing.is_empty() {
            eprintln!("xtask: installing system packages: {}", missing.join(" "));
            let apt = |args: &[&str]| {
                let mut command = as_root("apt-get");
                command.env("DEBIAN_FRONTEND", "noninteractive").args(args);
                command
            };
            run_command(&mut apt(&["update", "-qq"]))?;
            let mut install = apt(&["install", "-y", "-qq", "--no-install-recommends"]);
            install.args(&missing);
            run_command(&mut install)?;
        }
    } else if cfg!(target_os = "linux") {
        eprintln!(
            "xtask: not a Debian-like system; install the packages in xtask/src/setup.rs yourself"
        );
    }
    Ok(())
}

/// Cargo tools: tauri-driver, the WebDriver server that starts the desktop app for the
/// end-to-end test (in front of WebKitWebDriver on Linux).
fn install_cargo_tools() -> Result<()> {
    if cfg!(target_os = "linux") && find_tauri_driver().is_none() {
        eprintln!("xtask: installing tauri-driver");
        run_command(cargo().args([
            "install",
            "tauri-driver",
            "--locked",
            "--version",
            TAURI_DRIVER_VERSION,
        ]))?;
    }
    Ok(())
}

/// The tauri-driver release the end-to-end test is written against.
const TAURI_DRIVER_VERSION: &str = "2.1.0";

/// tauri-driver on PATH or in cargo's bin directory.
pub fn find_tauri_driver() -> Option<std::path::PathBuf> {
    find_program("tauri-driver").or_else(|| {
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))?;
        let installed = cargo_home.join("bin").join("tauri-driver");
        installed.is_file().then_some(installed)
    })
}

/// Adds a rustup target when it is missing (rustup reaches its targets from here).
pub fn install_rustup_target(target: &str) -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup lists its targets")?;
    if !String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == target)
    {
        run_command(Command::new("rustup").args(["target", "add", target]))?;
    }
    Ok(())
}
