//! What the server benchmarks share: the release `natter-server` binary started on a free
//! loopback port with a private data directory, and its resident memory (Linux's /proc; the
//! benchmarks run on the project's Linux machine).

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct ServerProcess {
    pub child: Child,
    pub url: String,
    _data: tempfile::TempDir,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Starts the server with open sign-up, quiet logs, and these extra flags and variables.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        let data = tempfile::tempdir().expect("a temporary directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_natter-server"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data.path())
            .args(args)
            .env("NATTER_LOG", "warn")
            .env("NATTER_SIGNUP", "open")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .expect("natter-server starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        ServerProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _data: data,
        }
    }

    /// Resident memory of the server process in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id())
    }
}

/// Resident memory of process `pid` in KiB (0 when it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
