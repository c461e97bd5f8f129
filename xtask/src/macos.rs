//! macOS, as far as this Linux machine goes: a type check of the crates that can be checked
//! without Apple's SDK, for both Mac architectures, with zig as the C compiler for the crates
//! that build C (cargo-zigbuild, from PyPI). Not part of `cargo xtask test` (ten minutes of
//! building for a check CI's Mac runners do for real); run it with `cargo xtask macos`.
//!
//! The desktop app cannot be checked here: its notifications go through mac-notification-sys,
//! whose build compiles Objective-C against the SDK's Cocoa headers, which only a Mac has.

use std::{path::Path, process::Command};

use anyhow::Result;

use crate::{desktop::find_program, run_command, setup};

pub const TARGETS: [&str; 2] = ["aarch64-apple-darwin", "x86_64-apple-darwin"];

/// Everything but the desktop app and the Linux-only test harnesses.
const PACKAGES: [&str; 5] = [
    "natter-protocol",
    "natter-client",
    "natter-media",
    "natter-cli",
    "natter-server",
];

pub fn check(root: &Path) -> Result<()> {
    if find_program("cargo-zigbuild").is_none() {
        // The wheel carries the binary and pulls in ziglang (zig's compiler and macOS headers).
        run_command(Command::new("python3").args(["-m", "pip", "install", "cargo-zigbuild"]))?;
    }
    for target in TARGETS {
        setup::install_rustup_target(target)?;
        let mut command = Command::new("cargo-zigbuild");
        command
            .current_dir(root)
            .args(["check", "--target", target]);
        for package in PACKAGES {
            command.args(["-p", package]);
        }
        run_command(&mut command)?;
    }
    eprintln!(
        "xtask: {} type-check for {}; natter-desktop needs the macOS SDK (mac-notification-sys \
         compiles Objective-C against Cocoa)",
        PACKAGES.join(", "),
        TARGETS.join(" and ")
    );
    Ok(())
}
