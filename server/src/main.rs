//! The natter-server binary: flags, logging, signals. Everything else is in the library.

use clap::Parser;
use natter_server::{Config, Server};
use tracing_subscriber::{EnvFilter, fmt};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    return_large_allocations_to_the_system();
    let config = Config::parse();
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

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
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
