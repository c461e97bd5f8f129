//! The Windows builds (`natter-server.exe`, `natter.exe`, cross-compiled with mingw-w64) run
//! under Wine against the Linux `natter`: the server on its embedded SQLite, chat both ways,
//! and a video call with pictures and tones checked on both sides.
//!
//! They need the Windows build and a prepared Wine prefix, which `cargo xtask test` makes and
//! passes in `NATTER_WINDOWS_BIN` (the folder of the .exe files) and `WINEPREFIX`; so they are
//! ignored by a plain `cargo test` (they would have nothing to run), and `cargo xtask test` runs
//! them with `--ignored`. Alone: `cargo xtask windows`.

mod common;

use std::{
    io::BufRead,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use common::{Running, Setup, check_video_call_seen_by_both};
use serde_json::Value;

/// Wine starting a process, on top of what the process does (the prefix is already made).
const WINE_START: Duration = Duration::from_secs(30);

/// Where the Windows binaries are and how to run them.
struct Windows {
    binaries: PathBuf,
}

impl Windows {
    fn from_env() -> Windows {
        let binaries = std::env::var_os("NATTER_WINDOWS_BIN").map(PathBuf::from).expect(
            "NATTER_WINDOWS_BIN names the folder of the Windows build (cargo xtask windows sets it)",
        );
        assert!(
            std::env::var_os("WINEPREFIX").is_some(),
            "WINEPREFIX names the prepared Wine prefix (cargo xtask windows sets it)"
        );
        for exe in ["natter.exe", "natter-server.exe"] {
            assert!(
                binaries.join(exe).is_file(),
                "{} is missing",
                binaries.join(exe).display()
            );
        }
        Windows { binaries }
    }

    /// `wine <exe>`, quiet.
    fn command(&self, exe: &str) -> Command {
        let mut command = Command::new("wine");
        command
            .arg(self.binaries.join(exe))
            .env("WINEDEBUG", "-all");
        command
    }

    /// `natter.exe ARGS` as the user with `token`, against `setup`'s server.
    fn natter(&self, setup: &Setup, token: Option<&str>, args: &[&str]) -> Command {
        let mut command = self.command("natter.exe");
        command
            .args(args)
            .env("NATTER_SERVER_URL", &setup.url)
            .env("NATTER_PASSWORD", "correct horse battery")
            .env_remove("NATTER_TOKEN");
        if let Some(token) = token {
            command.env("NATTER_TOKEN", token);
        }
        command
    }

    /// Runs `natter.exe` to completion in its own data folder and returns its JSON lines.
    async fn run(&self, setup: &Setup, token: Option<&str>, args: &[&str]) -> Vec<Value> {
        let mut command = self.natter(setup, token, args);
        command.arg("--data-dir").arg(windows_path(
            &setup.data.path().join(format!("exe-{}", args[0])),
        ));
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the runner does not panic")
            .expect("wine runs");
        assert!(
            output.status.success(),
            "natter.exe {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        json_lines(&output.stdout)
    }
}

/// The path a Windows program under Wine sees for a Linux path (Wine's `Z:` drive is `/`), so
/// the Windows binaries get real Windows paths, drive letter and backslashes included.
fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| {
            serde_json::from_str(line.trim_end_matches('\r'))
                .unwrap_or_else(|_| panic!("not JSON: {line}"))
        })
        .collect()
}

/// `natter-server.exe` under Wine on a loopback port, with its data in a Windows path; killed
/// when dropped.
struct WindowsServer {
    child: Child,
    url: String,
    _data: tempfile::TempDir,
}

impl WindowsServer {
    fn start(windows: &Windows) -> WindowsServer {
        let data = tempfile::tempdir().expect("a temporary directory");
        let mut child = windows
            .command("natter-server.exe")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(windows_path(&data.path().join("server data")))
            .env("NATTER_LOG_JSON", "true")
            .env("NATTER_SIGNUP", "open")
            .env("NATTER_LOG", "info")
            .stdout(Stdio::piped())
            .spawn()
            .expect("wine starts natter-server.exe");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (found, address) = std::sync::mpsc::channel();
        // Reads the log to its end, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let entry: Value =
                    serde_json::from_str(line.trim_end_matches('\r')).unwrap_or_default();
                if let Some(address) = entry["fields"]["address"].as_str() {
                    let _ = found.send(address.to_owned());
                }
            }
        });
        let mut server = WindowsServer {
            child,
            url: String::new(),
            _data: data,
        };
        let address = address
            .recv_timeout(WINE_START)
            .expect("natter-server.exe says where it listens");
        server.url = format!("http://{address}");
        server
    }
}

impl Drop for WindowsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status line of a plain HTTP/1.1 GET of `path`.
fn first_line_of_get(url: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connects to the server");
    stream
        .set_read_timeout(Some(WINE_START))
        .expect("a read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("the request is sent");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Windows build and Wine: cargo xtask windows"]
async fn the_windows_server_runs_on_its_embedded_sqlite() {
    let windows = Windows::from_env();
    let server = WindowsServer::start(&windows);
    for path in ["/healthz", "/readyz"] {
        let status_line = first_line_of_get(&server.url, path);
        assert_eq!(status_line, "HTTP/1.1 200 OK", "{path}");
    }
    // The database in a folder with a space, under a drive letter, takes a sign-up and keeps it.
    let setup = Setup::elsewhere(server.url.clone());
    let alice = setup.sign_up("alice").await;
    let me = setup.run(Some(&alice), &["whoami"]).await;
    assert_eq!(me[0]["username"], "alice", "{me:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Windows build and Wine: cargo xtask windows"]
async fn natter_exe_chats_with_the_linux_natter() {
    let windows = Windows::from_env();
    let server = WindowsServer::start(&windows);
    let setup = Setup::elsewhere(server.url.clone());
    let signed_up = windows
        .run(&setup, None, &["signup", "alice", "--print-token"])
        .await;
    let alice = signed_up[0]["token"]
        .as_str()
        .expect("natter.exe prints a token")
        .to_owned();
    let bob = setup.sign_up("bob").await;

    // Windows to Linux, received live.
    let mut bob_follows = setup.start("bob-follows", &bob, &["follow"]);
    bob_follows.wait_for("online status", |line| {
        line["type"] == "connection" && line["status"]["state"] == "online"
    });
    let sent = windows
        .run(
            &setup,
            Some(&alice),
            &["send", "@bob", "hello from Windows: é ✓"],
        )
        .await;
    assert_eq!(sent[0]["state"], "sent", "{sent:?}");
    let conversation_id = sent[0]["conversation_id"]
        .as_str()
        .expect("a conversation id")
        .to_owned();
    let received = bob_follows.wait_for("alice's message", |line| {
        line["type"] == "message" && line["incoming"] == true
    });
    assert_eq!(received["message"]["body"], "hello from Windows: é ✓");
    assert_eq!(received["message"]["sender_name"], "alice");

    // Linux to Windows, received live by natter.exe's WebSocket.
    let mut follow = windows.natter(&setup, Some(&alice), &["follow", &conversation_id]);
    follow
        .arg("--data-dir")
        .arg(windows_path(&setup.data.path().join("exe-follow")));
    let mut alice_follows = Running::spawn("alice-follows (natter.exe)", follow);
    alice_follows.wait_for("online status", |line| {
        line["type"] == "connection" && line["status"]["state"] == "online"
    });
    setup
        .run(
            Some(&bob),
            &["send", &conversation_id, "and back from Linux"],
        )
        .await;
    let received = alice_follows.wait_for("bob's reply", |line| {
        line["type"] == "message" && line["message"]["body"] == "and back from Linux"
    });
    assert_eq!(received["incoming"], true);
    assert_eq!(received["message"]["sender_name"], "bob");

    let conversations = windows.run(&setup, Some(&alice), &["conversations"]).await;
    assert_eq!(conversations.len(), 1, "{conversations:#?}");
    assert_eq!(conversations[0]["title"], "bob");
    assert_eq!(
        conversations[0]["last_message"]["body"],
        "and back from Linux"
    );
}

/// Alice calls from `natter.exe` under Wine (test pattern, 440 Hz), Bob answers on Linux (test
/// pattern, 660 Hz); each side's probe must see the other's pictures in order and hear its tone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Windows build and Wine: cargo xtask windows"]
async fn a_video_call_between_natter_exe_and_the_linux_natter() {
    let windows = Windows::from_env();
    let server = WindowsServer::start(&windows);
    let setup = Setup::elsewhere(server.url.clone());
    let alice = setup.sign_up("alice").await;
    let bob = setup.sign_up("bob").await;
    setup.run(Some(&alice), &["dm", "@bob"]).await;
    // IPv6 loopback: WebRTC's UDP layer (quinn-udp) asks every socket for IPV6_V6ONLY, which
    // Windows answers for IPv4 sockets too but Wine 8 refuses (WSAEOPNOTSUPP), so under Wine
    // only IPv6 sockets can carry media.
    let media = |tone: &'static str| {
        [
            "--fake-camera",
            "--fake-mic",
            tone,
            "--bind",
            "[::1]:0",
            "--no-mdns",
            "--probe",
        ]
    };
    let mut bob_answers = setup.start(
        "bob (Linux)",
        &bob,
        &[&["answer"][..], &media("660")].concat(),
    );
    let mut call = windows.natter(
        &setup,
        Some(&alice),
        &[
            &["call", "bob", "--video", "--duration", "8"][..],
            &media("440"),
        ]
        .concat(),
    );
    call.arg("--data-dir")
        .arg(windows_path(&setup.data.path().join("exe-call")));
    let alice_calls = Running::spawn("alice (natter.exe)", call);
    bob_answers.wait_for("the incoming call", |line| {
        line["type"] == "call" && line["call"]["phase"] == "incoming"
    });

    let (alice_seen, alice_ok) = alice_calls.finish();
    let (bob_seen, bob_ok) = bob_answers.finish();
    // Both sides' lines either way: a call that fails is read from both ends.
    assert!(
        alice_ok && bob_ok,
        "natter.exe {}: {alice_seen:#?}\nnatter (Linux) {}: {bob_seen:#?}",
        if alice_ok { "succeeded" } else { "failed" },
        if bob_ok { "succeeded" } else { "failed" },
    );
    check_video_call_seen_by_both(&alice_seen, &bob_seen);
    let calls = setup.run(Some(&bob), &["calls"]).await;
    assert_eq!(calls[0]["end_reason"], "completed", "{calls:#?}");
    assert_eq!(calls[0]["kind"], "video");
}

/// `wine reg query KEY [/v VALUE]`: the output, or `None` when the key or value is absent.
fn registry(key: &str, value: Option<&str>) -> Option<String> {
    let mut command = Command::new("wine");
    command.args(["reg", "query", key]).env("WINEDEBUG", "-all");
    if let Some(value) = value {
        command.args(["/v", value]);
    }
    let output = command.output().expect("wine runs");
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The Wine prefix's user folder (`C:\users\<name>`), where a per-user install goes.
fn wine_user_folder() -> PathBuf {
    let prefix = PathBuf::from(std::env::var_os("WINEPREFIX").expect("WINEPREFIX is set"));
    let users = prefix.join("drive_c/users");
    std::fs::read_dir(&users)
        .expect("the prefix has users")
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.file_name().is_some_and(|name| name != "Public"))
        .unwrap_or_else(|| panic!("no user folder in {}", users.display()))
}

const UNINSTALL_KEY: &str =
    r"HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\org.natter.desktop";
const RUN_KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";

/// tauri-utils' `bundle_type` placeholder, and what the installer writes over it.
const BUNDLE_TYPE_UNKNOWN: &[u8] = b"__TAURI_BUNDLE_TYPE_VAR_UNK";
const BUNDLE_TYPE_NSIS: &[u8] = b"__TAURI_BUNDLE_TYPE_VAR_NSS";

#[test]
#[ignore = "needs the Windows installer and Wine: cargo xtask windows"]
fn the_installer_installs_for_the_user_and_the_uninstaller_removes_everything() {
    let installer = std::env::var_os("NATTER_WINDOWS_INSTALLER")
        .map(PathBuf::from)
        .expect("NATTER_WINDOWS_INSTALLER names the installer (cargo xtask windows sets it)");
    let built = Windows::from_env().binaries.join("natter-desktop.exe");
    let home = wine_user_folder();
    let folder = home.join("AppData/Local/Programs/Natter");
    let shortcut = home.join("AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Natter.lnk");

    let status = Command::new("wine")
        .arg(&installer)
        .arg("/S")
        .env("WINEDEBUG", "-all")
        .status()
        .expect("wine runs the installer");
    assert!(status.success(), "the silent install failed: {status}");
    for file in ["natter-desktop.exe", "WebView2Loader.dll", "uninstall.exe"] {
        assert!(
            folder.join(file).is_file(),
            "{} was not installed",
            folder.join(file).display()
        );
    }
    // The installer marks the app as installed by NSIS (as tauri-cli's bundler does), so its
    // updater asks for NSIS installers; otherwise it is the build, byte for byte.
    // (The binary also holds every mark as a literal, for comparing: the one that changes is
    // the first placeholder.)
    let installed = std::fs::read(folder.join("natter-desktop.exe")).expect("installed app");
    let mut expected = std::fs::read(&built).expect("built app");
    let marker = expected
        .windows(BUNDLE_TYPE_UNKNOWN.len())
        .position(|window| window == BUNDLE_TYPE_UNKNOWN)
        .expect("the built app has no bundle type placeholder");
    expected[marker..marker + BUNDLE_TYPE_NSIS.len()].copy_from_slice(BUNDLE_TYPE_NSIS);
    assert!(
        installed.get(marker..marker + BUNDLE_TYPE_NSIS.len()) == Some(BUNDLE_TYPE_NSIS),
        "the installed app is not marked as installed by NSIS"
    );
    assert!(
        installed == expected,
        "the installed app is not the one built"
    );
    assert!(shortcut.is_file(), "no Start menu shortcut");
    let handler = registry(r"HKCU\Software\Classes\natter\shell\open\command", None)
        .expect("natter:// links are registered");
    assert!(
        handler.contains(r#"Programs\Natter\natter-desktop.exe" "%1""#),
        "natter:// links start {handler}"
    );
    let toasts = registry(
        r"HKCU\Software\Classes\AppUserModelId\org.natter.desktop",
        Some("DisplayName"),
    )
    .expect("toasts have a name");
    assert!(toasts.contains("Natter"), "{toasts}");
    let listed = registry(UNINSTALL_KEY, Some("DisplayVersion")).expect("listed in Installed apps");
    assert!(listed.contains(env!("CARGO_PKG_VERSION")), "{listed}");

    // "Start Natter when I log in" was turned on (the autostart plugin's value): uninstalling
    // must not leave it starting a program that is gone.
    let added = Command::new("wine")
        .args(["reg", "add", RUN_KEY, "/v", "Natter", "/d"])
        .arg(format!(
            r#""{}" --hidden"#,
            r"C:\Programs\Natter\natter-desktop.exe"
        ))
        .args(["/f"])
        .env("WINEDEBUG", "-all")
        .status()
        .expect("wine reg runs");
    assert!(added.success());

    // The uninstaller copies itself away and runs from there: wait for its work.
    let status = Command::new("wine")
        .arg(folder.join("uninstall.exe"))
        .arg("/S")
        .env("WINEDEBUG", "-all")
        .status()
        .expect("wine runs the uninstaller");
    assert!(status.success(), "the silent uninstall failed: {status}");
    let deadline = std::time::Instant::now() + WINE_START;
    while folder.exists() || registry(UNINSTALL_KEY, None).is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} or the Installed apps entry is still there {} s after uninstalling",
            folder.display(),
            WINE_START.as_secs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!shortcut.exists(), "the Start menu shortcut is left");
    assert_eq!(
        registry(r"HKCU\Software\Classes\natter", None),
        None,
        "natter:// links still registered"
    );
    assert_eq!(
        registry(
            r"HKCU\Software\Classes\AppUserModelId\org.natter.desktop",
            None
        ),
        None
    );
    assert_eq!(
        registry(RUN_KEY, Some("Natter")),
        None,
        "the login entry is left"
    );
}
