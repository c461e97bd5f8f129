//! natter-server: the self-hosted Natter server as a library, so tests and benchmarks run the
//! same code as the binary. `main.rs` only parses flags, sets up logging and waits for signals.

pub mod accounts;
pub mod api;
pub mod avatar;
pub mod calls;
pub mod config;
pub mod conversations;
pub mod core;
pub mod credentials;
pub mod db;
pub mod error;
pub mod events;
pub mod messages;
pub mod metrics;
pub mod rate_limit;
pub mod realtime;
pub mod users;
pub mod util;
pub mod validate;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use crate::config::Config;
use crate::{core::Core, db::Db};

/// How long shutdown waits for WebSocket sessions to send their close frames.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A server with its database open and its port bound, ready to run.
pub struct Server {
    core: Arc<Core>,
    listener: TcpListener,
}

impl Server {
    /// Creates the data directory, opens and migrates the database, and binds the listener.
    pub async fn bind(config: Config) -> anyhow::Result<Server> {
        if config.database_url.is_none() {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!(
                    "could not create the data directory {}",
                    config.data_dir.display()
                )
            })?;
        }
        let db = Db::open(&config.effective_database_url(), config.database_pool_size).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("could not listen on {}", config.listen))?;
        let core = Core::new(config, db, CancellationToken::new());
        Ok(Server { core, listener })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.core.config.listen)
    }

    /// Serves until `shutdown` completes, then closes every WebSocket with "going away" and
    /// lets in-flight requests finish.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let core = self.core;
        let janitor = tokio::spawn({
            let core = core.clone();
            async move {
                let mut every_minute = tokio::time::interval(Duration::from_secs(60));
                loop {
                    every_minute.tick().await;
                    core.auth_limits.forget_idle_keys();
                    core.typing_limits.retain_recent();
                    core.typing_limits.shrink_to_fit();
                }
            }
        });
        let call_timers = tokio::spawn(calls::signaling::run_timers(core.clone()));
        let signal = {
            let core = core.clone();
            async move {
                shutdown.await;
                tracing::info!("shutting down");
                core.shutdown.cancel();
            }
        };
        let app = api::router(core.clone());
        // Realtime frames are small and latency-bound: without TCP_NODELAY, Nagle's algorithm
        // and delayed ACKs hold some of them back ~40 ms.
        let listener = self.listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal)
        .await
        .context("the HTTP server failed")?;
        core.connections.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, core.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("some WebSocket sessions did not close in time");
        }
        janitor.abort();
        call_timers.abort();
        core.db.pool.close().await;
        Ok(())
    }
}
