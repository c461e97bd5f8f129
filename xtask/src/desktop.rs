//! Desktop app tasks: building the web UI (`ui/`) and a smoke test that opens the real app window
//! under Xvfb and takes a screenshot of it.
//!
//! System tools used by the smoke test (Debian packages): `Xvfb` (xvfb), `xdotool` (xdotool),
//! `import` (imagemagick), `dbus-run-session` (dbus-daemon), `kill` (procps) and, when PID
//! namespaces are allowed, `unshare` (util-linux).
//! Only std and anyhow are used; processes are stopped by PID and always waited for, because
//! PID 1 on the CI machines does not reap orphans.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow, bail, ensure};

/// Title of the app's main window (tauri.conf.json).
const WINDOW_TITLE: &str = "Natter";
/// Longest wait for Xvfb to accept connections.
const XVFB_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait for the window to appear after the app is started.
const WINDOW_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for the page to be drawn once the window exists.
const RENDER_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a process to exit after SIGTERM before it gets SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between two polls of a condition (not a synchronisation: every wait is a bounded poll).
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// A drawn page has text and a logo: far more colours than an empty window (one flat colour).
const MIN_RENDERED_COLOURS: u64 = 16;

/// Builds the web UI into `ui/dist`: `npm ci` (or `npm install` when there is no lockfile) when
/// `ui/node_modules` is missing or older than `ui/package-lock.json`, then `npm run build`.
pub fn build_ui(root: &Path) -> Result<()> {
    let ui = root.join("ui");
    ensure!(
        ui.join("package.json").is_file(),
        "{} not found: is {} the repository root?",
        ui.join("package.json").display(),
        root.display()
    );
    let npm = find_program("npm").ok_or_else(|| {
        anyhow!("npm not found on PATH: the UI needs Node.js >= 20.19 with npm to build")
    })?;

    let lockfile = ui.join("package-lock.json");
    let has_lockfile = lockfile.is_file();
    // npm rewrites node_modules/.package-lock.json on every install, so its age says when
    // node_modules was last brought in line with the lockfile.
    let installed_marker = ui.join("node_modules/.package-lock.json");
    let reference = if has_lockfile {
        lockfile.clone()
    } else {
        ui.join("package.json")
    };
    let needs_install = match (modified(&installed_marker), modified(&reference)) {
        (Some(installed), Some(wanted)) => installed < wanted,
        _ => true,
    };
    if needs_install {
        let install = if has_lockfile { "ci" } else { "install" };
        run(Command::new(&npm).arg(install).current_dir(&ui))
            .with_context(|| format!("installing the UI's packages (npm {install}) failed"))?;
    }

    run(Command::new(&npm).args(["run", "build"]).current_dir(&ui))
        .context("building the UI (npm run build in ui/) failed")?;
    let index = ui.join("dist/index.html");
    ensure!(
        index.is_file(),
        "npm run build succeeded but {} is missing",
        index.display()
    );
    Ok(())
}

/// Starts the desktop app under a private Xvfb display and D-Bus session bus, checks that its
/// main window titled "Natter" appears and that the page is drawn, and saves a screenshot of the
/// screen as `artifacts_dir/desktop-start.png`. Logs of Xvfb and the app go to `artifacts_dir`
/// too (`xvfb.log`, `desktop-app.log`).
pub fn window_smoke_test(root: &Path, app_binary: &Path, artifacts_dir: &Path) -> Result<()> {
    ensure!(
        app_binary.is_file(),
        "desktop app binary {} not found: build the UI, then `cargo build -p natter-desktop`",
        app_binary.display()
    );
    let app_binary = fs::canonicalize(app_binary)
        .with_context(|| format!("cannot resolve {}", app_binary.display()))?;
    let tools = Tools::find()?;
    fs::create_dir_all(artifacts_dir)
        .with_context(|| format!("cannot create {}", artifacts_dir.display()))?;

    let mut xvfb = Xvfb::start(&tools, artifacts_dir)?;
    let outcome = with_app(root, &app_binary, artifacts_dir, &tools, &xvfb.display);
    let stopped = xvfb.process.stop();
    outcome?;
    stopped.context("stopping Xvfb failed")?;
    Ok(())
}

/// Runs `program` with `args` under a private Xvfb display and a private D-Bus session bus,
/// with a fresh HOME (so the keyring and notification server it starts are its own), as the
/// desktop end-to-end test and benchmark need. Fails if it fails or outlives `timeout`.
pub fn run_in_desktop_session(
    root: &Path,
    what: &'static str,
    program: &Path,
    args: &[OsString],
    artifacts_dir: &Path,
    timeout: Duration,
) -> Result<()> {
    let tools = Tools::find()?;
    fs::create_dir_all(artifacts_dir)
        .with_context(|| format!("cannot create {}", artifacts_dir.display()))?;
    let home = std::env::temp_dir().join(format!("natter-e2e-home-{}", std::process::id()));
    let runtime_dir = home.join("run");
    fs::create_dir_all(&runtime_dir)
        .with_context(|| format!("cannot create {}", runtime_dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&runtime_dir, fs::Permissions::from_mode(0o700))?;
    }

    let mut xvfb = Xvfb::start(&tools, artifacts_dir)?;
    let mut command = tools.isolated_session();
    command
        .arg(program)
        .args(args)
        .current_dir(root)
        .env("DISPLAY", &xvfb.display)
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &runtime_dir)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("GDK_BACKEND", "x11")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null());
    eprintln!("xtask: {what} ({})", program.display());
    let child = command
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let mut process = Process::new(what, child, Some(program.to_path_buf()));
    let outcome = poll(timeout, || Ok(process.child.try_wait()?))
        .with_context(|| format!("the {what} did not finish within {} s", timeout.as_secs()));
    let stopped = process.stop();
    let stopped_xvfb = xvfb.process.stop();
    let _ = fs::remove_dir_all(&home);
    let status = outcome?;
    stopped.with_context(|| format!("stopping the {what} failed"))?;
    stopped_xvfb.context("stopping Xvfb failed")?;
    ensure!(
        status.success(),
        "the {what} failed ({status}); logs in {}",
        artifacts_dir.display()
    );
    Ok(())
}

/// The part of the smoke test that runs while Xvfb is up.
fn with_app(
    root: &Path,
    app_binary: &Path,
    artifacts_dir: &Path,
    tools: &Tools,
    display: &str,
) -> Result<()> {
    let log_path = artifacts_dir.join("desktop-app.log");
    let log =
        File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
    let mut command = tools.isolated_session();
    command
        .arg(app_binary)
        .current_dir(root)
        .env("DISPLAY", display)
        .env("GDK_BACKEND", "x11")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let child = command
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let mut app = Process::new("desktop app", child, Some(app_binary.to_path_buf()));

    let outcome = check_window(tools, display, &mut app, artifacts_dir);
    let stopped = app.stop();
    outcome.map_err(|error| {
        error.context(format!(
            "desktop smoke test failed; end of the app log {}:\n{}",
            log_path.display(),
            tail(&log_path, 30)
        ))
    })?;
    stopped.context("stopping the desktop app failed")?;
    Ok(())
}

/// Waits for the window, checks its title, waits for the page, takes the screenshot.
fn check_window(
    tools: &Tools,
    display: &str,
    app: &mut Process,
    artifacts_dir: &Path,
) -> Result<()> {
    let started = Instant::now();
    let window = poll(WINDOW_TIMEOUT, || {
        app.ensure_running()?;
        find_window(tools, display)
    })
    .with_context(|| {
        format!(
            "no window named {WINDOW_TITLE:?} appeared within {} s",
            WINDOW_TIMEOUT.as_secs()
        )
    })?;
    let appeared = started.elapsed();

    let title = command_output(
        Command::new(&tools.xdotool)
            .args(["getwindowname", &window])
            .env("DISPLAY", display),
    )?;
    ensure!(
        title.trim_end() == WINDOW_TITLE,
        "window {window} is titled {:?}, expected {WINDOW_TITLE:?}",
        title.trim_end()
    );

    // The page is drawn once the window holds many colours (an empty webview is one flat
    // colour) and two pictures in a row are identical (the start script has filled the form).
    let mut previous: Option<String> = None;
    poll(RENDER_TIMEOUT, || {
        app.ensure_running()?;
        let (colours, signature) = window_picture(tools, display, &window)?;
        let settled = colours >= MIN_RENDERED_COLOURS && previous.as_deref() == Some(&signature);
        previous = Some(signature);
        Ok(settled.then_some(()))
    })
    .with_context(|| {
        format!(
            "the window appeared but the page was not drawn within {} s (window stayed flat \
             or kept changing)",
            RENDER_TIMEOUT.as_secs()
        )
    })?;
    let rendered = started.elapsed();

    let screenshot = artifacts_dir.join("desktop-start.png");
    run_quiet(
        Command::new(&tools.import)
            .args(["-window", "root"])
            .arg(&screenshot)
            .env("DISPLAY", display),
    )
    .context("taking the screenshot failed")?;
    println!(
        "desktop smoke test: window {WINDOW_TITLE:?} after {} ms, page drawn after {} ms, \
         screenshot {}",
        appeared.as_millis(),
        rendered.as_millis(),
        screenshot.display()
    );
    Ok(())
}

/// The id of a visible window titled exactly "Natter", if there is one yet.
fn find_window(tools: &Tools, display: &str) -> Result<Option<String>> {
    let output = Command::new(&tools.xdotool)
        .args([
            "search",
            "--onlyvisible",
            "--name",
            &format!("^{WINDOW_TITLE}$"),
        ])
        .env("DISPLAY", display)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .context("cannot run xdotool")?;
    // xdotool exits with 1 when no window matches.
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map(str::to_owned))
}

/// Number of distinct colours in the window and a hash of its pixels.
fn window_picture(tools: &Tools, display: &str, window: &str) -> Result<(u64, String)> {
    let info = command_output(
        Command::new(&tools.import)
            .args(["-window", window, "-format", "%k %#\n", "info:"])
            .env("DISPLAY", display),
    )?;
    let mut fields = info.split_whitespace();
    let (Some(colours), Some(signature)) = (fields.next(), fields.next()) else {
        bail!("unexpected output of import: {info:?}");
    };
    let colours = colours
        .parse()
        .with_context(|| format!("unexpected colour count from import: {colours:?}"))?;
    Ok((colours, signature.to_owned()))
}

/// A private X server on a free display number.
struct Xvfb {
    display: String,
    process: Process,
}

impl Xvfb {
    fn start(tools: &Tools, artifacts_dir: &Path) -> Result<Self> {
        let log_path = artifacts_dir.join("xvfb.log");
        let log = File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        // -displayfd 1: Xvfb picks a free display number itself and writes it to stdout once
        // it accepts connections, which is both the free-number search and the readiness signal.
        let mut child = Command::new(&tools.xvfb)
            .args(["-displayfd", "1", "-screen", "0", "1920x1080x24"])
            .args(["-nolisten", "tcp", "-noreset"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("cannot start Xvfb")?;
        let stdout = child.stdout.take().context("Xvfb has no stdout")?;
        let mut process = Process::new("Xvfb", child, None);

        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let result = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            // The receiver may have given up already; nothing to do then.
            let _ = sender.send(result);
        });
        let number = match receiver.recv_timeout(XVFB_TIMEOUT) {
            Ok(Ok(line)) if !line.trim().is_empty() => line.trim().to_owned(),
            Ok(Ok(_)) => {
                let _ = process.stop();
                bail!(
                    "Xvfb exited without opening a display; see {}:\n{}",
                    log_path.display(),
                    tail(&log_path, 20)
                );
            }
            Ok(Err(error)) => {
                let _ = process.stop();
                return Err(error).context("reading Xvfb's display number failed");
            }
            Err(_) => {
                let _ = process.stop();
                bail!(
                    "Xvfb did not open a display within {} s; see {}",
                    XVFB_TIMEOUT.as_secs(),
                    log_path.display()
                );
            }
        };
        ensure!(
            number.chars().all(|c| c.is_ascii_digit()),
            "Xvfb wrote an unexpected display number {number:?}"
        );
        Ok(Self {
            display: format!(":{number}"),
            process,
        })
    }
}

/// A child process that is stopped (SIGTERM, then SIGKILL) and waited for when dropped.
struct Process {
    name: &'static str,
    child: Child,
    /// When the child is a wrapper (unshare, dbus-run-session), the program it runs: SIGTERM
    /// goes to that program so the wrappers can clean up and exit by themselves.
    wrapped: Option<PathBuf>,
    status: Option<ExitStatus>,
}

impl Process {
    fn new(name: &'static str, child: Child, wrapped: Option<PathBuf>) -> Self {
        Self {
            name,
            child,
            wrapped,
            status: None,
        }
    }

    /// Fails when the process has exited already.
    fn ensure_running(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            self.status = Some(status);
            bail!("the {} exited early ({status})", self.name);
        }
        Ok(())
    }

    /// Stops the process and waits for it; fine if it has exited already.
    fn stop(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        if let Some(status) = self.child.try_wait()? {
            self.status = Some(status);
            return Ok(status);
        }
        let target = self
            .wrapped
            .as_deref()
            .and_then(|program| descendant_running(self.child.id(), program))
            .unwrap_or(self.child.id());
        // Ignore a failure here (the target may just have exited): the wait below decides.
        let _ = Command::new("kill")
            .args(["-TERM", &target.to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                self.status = Some(status);
                return Ok(status);
            }
            thread::sleep(POLL_INTERVAL);
        }
        self.child
            .kill()
            .with_context(|| format!("cannot kill the {}", self.name))?;
        let status = self.child.wait()?;
        self.status = Some(status);
        bail!(
            "the {} did not exit within {} s of SIGTERM and was killed",
            self.name,
            STOP_TIMEOUT.as_secs()
        )
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.stop();
        }
    }
}

/// The PID of a descendant of `ancestor` running `program`, found through /proc.
fn descendant_running(ancestor: u32, program: &Path) -> Option<u32> {
    // (pid, parent pid) of every process.
    let processes: Vec<(u32, u32)> = fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
            // After the command name, which is in parentheses and may hold anything: state, ppid.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut lineage = vec![ancestor];
    let mut next = 0;
    while let Some(&parent) = lineage.get(next) {
        next += 1;
        for &(pid, ppid) in &processes {
            if ppid == parent && !lineage.contains(&pid) {
                if fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == program) {
                    return Some(pid);
                }
                lineage.push(pid);
            }
        }
    }
    None
}

/// `unshare` arguments that run a program as init of a new PID namespace; `--kill-child`
/// SIGKILLs that namespace (and so all in it) should unshare itself be killed.
const UNSHARE_PID_NAMESPACE: [&str; 3] = ["--pid", "--fork", "--kill-child"];

/// Whether this user may create PID namespaces (root, or a container that allows it).
fn pid_namespace_works(unshare: &Path) -> bool {
    Command::new(unshare)
        .args(UNSHARE_PID_NAMESPACE)
        .arg("true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Paths of the system programs the smoke test needs.
struct Tools {
    xvfb: PathBuf,
    xdotool: PathBuf,
    import: PathBuf,
    dbus_run_session: PathBuf,
    /// util-linux `unshare`, when PID namespaces can be used here.
    unshare: Option<PathBuf>,
}

impl Tools {
    /// `dbus-run-session --`, inside a PID namespace of its own when allowed: everything the
    /// program starts (bus daemon, WebKit and accessibility helpers) is then killed and reaped
    /// by the kernel once dbus-run-session, the namespace's init, exits; otherwise those helpers
    /// would outlive it as orphans (dbus-run-session does not even wait for its bus daemon).
    /// Append the program and its arguments.
    fn isolated_session(&self) -> Command {
        let mut command = match &self.unshare {
            Some(unshare) => {
                let mut command = Command::new(unshare);
                command
                    .args(UNSHARE_PID_NAMESPACE)
                    .arg(&self.dbus_run_session);
                command
            }
            None => Command::new(&self.dbus_run_session),
        };
        command.arg("--");
        command
    }

    fn find() -> Result<Self> {
        let mut missing = Vec::new();
        let mut find = |program: &str, package: &str| {
            find_program(program).unwrap_or_else(|| {
                missing.push(format!("{program} (Debian package {package})"));
                PathBuf::new()
            })
        };
        let tools = Self {
            xvfb: find("Xvfb", "xvfb"),
            xdotool: find("xdotool", "xdotool"),
            import: find("import", "imagemagick"),
            dbus_run_session: find("dbus-run-session", "dbus-daemon"),
            unshare: find_program("unshare").filter(|unshare| pid_namespace_works(unshare)),
        };
        // Process::stop sends SIGTERM with it.
        find("kill", "procps");
        ensure!(
            missing.is_empty(),
            "the desktop smoke test needs programs that are not on PATH: {}",
            missing.join(", ")
        );
        if tools.unshare.is_none() {
            eprintln!(
                "note: cannot create a PID namespace here (unshare --pid); helper processes of \
                 the app (dbus-daemon, WebKit) may be left behind as orphans"
            );
        }
        Ok(tools)
    }
}

/// Polls `check` until it yields a value, fails, or `timeout` has passed.
fn poll<T>(timeout: Duration, mut check: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check()? {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {} s", timeout.as_secs());
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// The full path of `program` on PATH.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    // Windows finds `npm` as `npm.cmd` and `makensis` as `makensis.exe`.
    let names: Vec<String> = if cfg!(windows) {
        ["", ".exe", ".cmd"]
            .iter()
            .map(|extension| format!("{program}{extension}"))
            .collect()
    } else {
        vec![program.to_owned()]
    };
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|meta| meta.modified()).ok()
}

/// Runs a command with inherited output; fails unless it exits with 0.
fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot run {}", describe(command)))?;
    ensure!(status.success(), "{} failed ({status})", describe(command));
    Ok(())
}

/// Runs a command with captured output; fails (showing its stderr) unless it exits with 0.
fn run_quiet(command: &mut Command) -> Result<()> {
    command_output(command).map(drop)
}

/// Runs a command and returns its stdout; fails (showing its stderr) unless it exits with 0.
fn command_output(command: &mut Command) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", describe(command)))?;
    ensure!(
        output.status.success(),
        "{} failed ({}): {}",
        describe(command),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    String::from_utf8(output.stdout)
        .with_context(|| format!("{} printed invalid UTF-8", describe(command)))
}

/// `program arg arg ...` for messages.
fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last `lines` lines of a log file, for error messages.
fn tail(path: &Path, lines: usize) -> String {
    let mut text = String::new();
    if File::open(path)
        .and_then(|mut file| file.read_to_string(&mut text))
        .is_err()
    {
        return String::new();
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
