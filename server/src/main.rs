//! The natter-server binary: flags, logging, signals. Everything else is in the library.

use clap::Parser;
use natter_server::{
    Server,
    console::{Cli, Command},
};
use tracing_subscriber::{EnvFilter, fmt};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    return_large_allocations_to_the_system();
    let Cli { config, command } = Cli::parse();
    if let Some(Command::Admin(command)) = command {
        // The console speaks to a person on stdout; only problems are logged, to stderr.
        fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(EnvFilter::new("warn"))
            .init();
        return natter_server::console::run(config, command).await;
    }
    let filter = EnvFilter::try_from_env("NATTER_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,sqlx=warn"));
    if config.log_json {
        fmt().json().with_env_filter(filter).init();
    } else {
        fmt().with_env_filter(filter).init();
    }
    // Thousands of WebSockets need thousands of file descriptors; the soft limit is often 1024.
    if let Err(error) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(%error, "could not raise the open-file limit");
    }
    let server = Server::bind(config).await?;
    tracing::info!(address = %server.local_addr(), "natter-server listening");
    server.run(shutdown_signal()).await
}

/// Completes when the server is asked to stop: Ctrl-C everywhere; SIGTERM on Unix (systemd,
/// Docker, `kill`); on Windows, the console closing, the user logging off or the system shutting
/// down (a service manager or `taskkill` sends one of these, not Ctrl-C).
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    tokio::select! {
        _ = interrupt => {},
        _ = terminate() => {},
    }
}

#[cfg(unix)]
async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

#[cfg(windows)]
async fn terminate() {
    use tokio::signal::windows;

    let (Ok(mut close), Ok(mut break_key), Ok(mut logoff), Ok(mut shutdown)) = (
        windows::ctrl_close(),
        windows::ctrl_break(),
        windows::ctrl_logoff(),
        windows::ctrl_shutdown(),
    ) else {
        tracing::warn!("cannot listen for console close or shutdown; only Ctrl-C stops cleanly");
        return std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = close.recv() => {},
        _ = break_key.recv() => {},
        _ = logoff.recv() => {},
        _ = shutdown.recv() => {},
    }
}

#[cfg(not(any(unix, windows)))]
async fn terminate() {
    std::future::pending::<()>().await
}

/// Every password hash allocates ~19 MiB (Argon2id's memory cost). glibc raises its mmap
/// threshold after the first such block is freed, so later blocks come from per-thread arenas
/// and stay resident: a hundred sign-ups left the server at ~900 MiB. A fixed threshold keeps
/// large blocks in mmap, returned to the system as soon as they are freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_allocations_to_the_system() {
    // SAFETY: mallopt only changes allocator tuning; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_allocations_to_the_system() {}
