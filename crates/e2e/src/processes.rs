//! The processes the end-to-end test starts: each one is stopped and waited for when its
//! handle is dropped (PID 1 on the test machines does not reap orphans), and its output lines
//! can be waited for.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

/// Pause between two polls of a condition; every wait is a bounded poll.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A started child process, killed and reaped on drop.
pub struct Running {
    name: String,
    child: Child,
    /// Lines the process printed on stdout, when it was started with [`Running::capture`].
    lines: Option<Lines>,
}

impl Running {
    /// Starts a process whose output goes to `log` (stdout and stderr).
    pub fn logged(name: &str, command: &mut Command, log: &Path) -> Result<Self> {
        let file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        Self::spawn(name, command)
    }

    /// Starts a process whose stdout lines are kept for [`Running::wait_for_line`]; stderr goes
    /// to `log`.
    pub fn capture(name: &str, command: &mut Command, log: &Path) -> Result<Self> {
        let file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(file);
        let mut running = Self::spawn(name, command)?;
        let stdout = running
            .child
            .stdout
            .take()
            .with_context(|| format!("{name} has no stdout"))?;
        running.lines = Some(Lines::collect(stdout));
        Ok(running)
    }

    /// Starts a process with the standard streams `command` was given.
    pub fn spawned(name: &str, command: &mut Command) -> Result<Self> {
        Self::spawn(name, command)
    }

    fn spawn(name: &str, command: &mut Command) -> Result<Self> {
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {name} ({command:?})"))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            lines: None,
        })
    }

    /// Fails when the process has exited.
    pub fn ensure_running(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited unexpectedly ({status})", self.name);
        }
        Ok(())
    }

    /// Everything printed on stdout so far.
    pub fn output(&self) -> String {
        self.lines.as_ref().map(Lines::text).unwrap_or_default()
    }

    /// Waits until a stdout line satisfies `wanted`, and returns it.
    pub fn wait_for_line(
        &mut self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.lines.as_ref().and_then(|lines| lines.find(&wanted)) {
                return Ok(line);
            }
            self.ensure_running()?;
            if Instant::now() >= deadline {
                bail!(
                    "{what}: not printed by {} within {} s; it printed:\n{}",
                    self.name,
                    timeout.as_secs(),
                    self.output()
                );
            }
            thread::sleep(POLL_INTERVAL);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lines read from a child's stdout by a background thread.
#[derive(Clone)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn collect(stdout: ChildStdout) -> Self {
        let lines = Self(Arc::default());
        let sink = lines.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Ok(mut all) = sink.0.lock() {
                    all.push(line);
                }
            }
        });
        lines
    }

    fn find(&self, wanted: &impl Fn(&str) -> bool) -> Option<String> {
        let all = self.0.lock().ok()?;
        all.iter().find(|line| wanted(line)).cloned()
    }

    fn text(&self) -> String {
        self.0.lock().map(|all| all.join("\n")).unwrap_or_default()
    }
}

/// Runs a command to completion and returns its stdout; fails with its stderr otherwise.
pub fn output(command: &mut Command) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {command:?}"))?;
    ensure!(
        output.status.success(),
        "{command:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    String::from_utf8(output.stdout).with_context(|| format!("{command:?} printed invalid UTF-8"))
}

/// Polls `check` until it yields a value, fails, or `timeout` passes; the error names `what`.
pub fn poll<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check()? {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            bail!("{what}: not true within {} s", timeout.as_secs());
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// A loopback port nobody listens on now.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("no free port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether something accepts TCP connections on the loopback port.
pub fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Whether an HTTP GET of `path` on the loopback port answers 200.
pub fn http_ok(port: u16, path: &str) -> bool {
    use std::io::Write;
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

/// PIDs of running processes whose executable is `program`.
pub fn processes_running(program: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let exe: PathBuf = std::fs::read_link(entry.path().join("exe")).ok()?;
            (exe == program).then_some(pid)
        })
        .collect()
}

/// Asks the process `pid` (as /proc numbers it) to end (SIGTERM). The tests may run in a PID
/// namespace whose /proc is the outer one (xtask's `unshare --pid` without `--mount-proc`):
/// the signal goes to the number the process has in its own, innermost namespace (`NSpid`).
pub fn terminate(pid: u32) -> Result<()> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("process {pid} is not running"))?;
    let own_pid = status
        .lines()
        .find_map(|line| line.strip_prefix("NSpid:"))
        .and_then(|numbers| numbers.split_whitespace().next_back())
        .map_or_else(|| pid.to_string(), str::to_owned);
    output(Command::new("kill").arg(&own_pid))
        .map(drop)
        .with_context(|| format!("cannot end process {pid} ({own_pid} in its namespace)"))
}

/// PIDs of the running children of `parent`.
pub fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // After the command name (in parentheses, may hold anything): state, then ppid.
            let ppid: u32 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            (ppid == parent).then_some(pid)
        })
        .collect()
}

/// The full path of `program` on PATH.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// A small X window that takes the keyboard focus from the app while it lives.
pub fn focus_other_window() -> Result<Running> {
    const TITLE: &str = "natter-e2e-other-window";
    let mut window = Running::logged(
        "another window",
        Command::new("display").args([
            "-title",
            TITLE,
            "-geometry",
            "120x80+1100+700",
            "-size",
            "120x80",
            "xc:gray",
        ]),
        Path::new("/dev/null"),
    )?;
    // Only a mapped (viewable) window can take the focus: focusing one found by its title
    // before it is mapped fails with BadMatch.
    let id = poll(
        "the other window appearing",
        crate::harness::START_TIMEOUT,
        || {
            window.ensure_running()?;
            visible_window(TITLE)
        },
    )?;
    output(Command::new("xdotool").args(["windowfocus", "--sync", &id]))?;
    Ok(window)
}

/// The first mapped X window whose title matches `pattern` (a regular expression), if any.
pub fn visible_window(pattern: &str) -> Result<Option<String>> {
    let found = Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", pattern])
        .output()
        .context("cannot run xdotool")?;
    // xdotool exits with 1 when no window matches.
    Ok(String::from_utf8_lossy(&found.stdout)
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map(str::to_owned))
}
