//! Configuration as an operator meets it: every option is documented in docs/operations.md, and
//! the binary reads its environment the way that document says.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use clap::CommandFactory;
use natter_server::Config;

fn operations_md() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/operations.md");
    std::fs::read_to_string(path).expect("docs/operations.md is readable")
}

/// Issue 14, items 3 and 14: the flags table names every flag and environment variable
/// (`--call-ring-seconds` and `--call-offline-grace-seconds` were missing), and the proxy
/// example says which `X-Forwarded-For` address the server takes: the last.
#[test]
fn every_option_is_in_the_operations_guide() {
    let guide = operations_md();
    let mut missing = Vec::new();
    for argument in Config::command().get_arguments() {
        if let Some(long) = argument.get_long()
            && !guide.contains(&format!("`--{long}"))
        {
            missing.push(format!("--{long}"));
        }
        if let Some(variable) = argument.get_env().and_then(|env| env.to_str())
            && !guide.contains(&format!("`{variable}`"))
        {
            missing.push(variable.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "docs/operations.md does not document {missing:?}"
    );
    for line in guide
        .lines()
        .filter(|line| line.contains("X-Forwarded-For"))
    {
        assert!(
            !line.contains("first"),
            "the server uses the last X-Forwarded-For address, not the first: {line:?}"
        );
    }
}

/// Runs the real binary with `NATTER_LOG_JSON` set to `value`: its first log line, or its
/// error output if it refused to start.
fn first_line_with_log_json(value: &str) -> Result<String, String> {
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_natter-server"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("NATTER_LOG_JSON", value)
        .env("NATTER_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("natter-server starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (lines, line) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut first = String::new();
        let _ = BufReader::new(stdout).read_line(&mut first);
        let _ = lines.send(first);
    });
    let limit = Duration::from_secs(20);
    let first = line
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("natter-server printed nothing within {limit:?}"));
    if first.is_empty() {
        // End of output: it refused to start.
        let output = child.wait_with_output().expect("its output");
        return Err(format!(
            "exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(first)
}

/// Issue 14, item 14: docs/operations.md says which spellings a boolean variable takes; the
/// binary takes those (`1` turns JSON logs on) and refuses anything else at start-up.
#[test]
fn boolean_variables_take_the_documented_spellings() {
    assert!(
        operations_md().contains("`NATTER_LOG_JSON=1` turns JSON logs on"),
        "the guide says how NATTER_LOG_JSON=1 is taken"
    );
    for on in ["true", "1", "yes", "on"] {
        let line = first_line_with_log_json(on).unwrap_or_else(|error| panic!("{on}: {error}"));
        let parsed: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|error| panic!("NATTER_LOG_JSON={on}: not JSON ({error}): {line}"));
        assert_eq!(parsed["level"], "INFO", "{line}");
    }
    let line = first_line_with_log_json("0").expect("0 is false");
    assert!(
        serde_json::from_str::<serde_json::Value>(&line).is_err(),
        "NATTER_LOG_JSON=0 logs text: {line}"
    );
    let refused = first_line_with_log_json("maybe").expect_err("an unknown spelling is refused");
    assert!(refused.contains("maybe"), "{refused}");
}

/// The embedded SQLite file opens from any data directory: the path is not pasted into a URL
/// as is (on Windows `sqlite://C:\\…` did not parse, and `?` or `%20` in a folder name broke
/// it everywhere).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_database_opens_in_a_folder_with_any_name() {
    let parent = tempfile::tempdir().expect("a temporary directory");
    let data_dir = parent.path().join("odd ?#%20& names");
    let server =
        crate::harness::TestServer::start_with(crate::harness::Backend::Sqlite, |config| {
            config.data_dir = data_dir.clone();
        })
        .await;
    server.user("alice").await;
    assert!(
        data_dir.join("natter.db").is_file(),
        "the database is in the folder as named"
    );
}
