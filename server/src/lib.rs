//! natter-server: the self-hosted Natter server as a library, so tests and benchmarks run the
//! same code as the binary. `main.rs` only parses flags, sets up logging and waits for signals.

pub mod accounts;
pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod avatar;
pub mod blocks;
pub mod calls;
pub mod config;
pub mod console;
pub mod contacts;
pub mod conversations;
pub mod core;
pub mod credentials;
pub mod db;
pub mod error;
pub mod events;
pub mod files;
pub mod hub;
pub mod live;
pub mod mentions;
pub mod messages;
pub mod metrics;
pub mod rate_limit;
pub mod realtime;
pub mod reports;
pub mod serve;
pub mod strict_json;
pub mod updates;
pub mod users;
pub mod util;
pub mod validate;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use crate::config::Config;
use crate::{core::Core, db::Db, live::Live};

/// How long shutdown waits for WebSocket sessions to send their close frames.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A server with its database open and its port bound, ready to run.
pub struct Server {
    core: Arc<Core>,
    listener: TcpListener,
    relay: Option<calls::relay::Relay>,
}

/// Starts the embedded STUN/TURN listener and points clients at it unless the configuration
/// names other servers.
async fn start_relay(
    config: &mut Config,
    listen: SocketAddr,
) -> anyhow::Result<calls::relay::Relay> {
    let public_ip = match (config.turn_public_ip, listen.ip()) {
        (Some(ip), _) => ip,
        (None, ip) if !ip.is_unspecified() => ip,
        (None, _) => anyhow::bail!(
            "--turn-listen {listen} listens on every interface: say which address clients \
             reach it at with --turn-public-ip"
        ),
    };
    if config.turn_secret.is_none() {
        // Only this process hands out and checks credentials: a secret of its own will do.
        let secret: String = rand::distr::SampleString::sample_string(
            &rand::distr::Alphanumeric,
            &mut rand::rng(),
            40,
        );
        config.turn_secret = Some(secret.parse().map_err(anyhow::Error::msg)?);
    }
    let secret = config
        .turn_secret
        .as_ref()
        .map(|secret| secret.expose().to_owned())
        .unwrap_or_default();
    let relay = calls::relay::Relay::start(calls::relay::RelayConfig {
        listen,
        public_ip,
        min_port: config.turn_min_port,
        max_port: config.turn_max_port,
        secret,
        realm: "natter".into(),
        allow_private_peers: config.turn_allow_private_peers,
    })
    .await?;
    if config.stun_urls.is_empty() && config.turn_urls.is_empty() {
        let port = relay.local_addr().port();
        let host = match public_ip {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            std::net::IpAddr::V4(v4) => v4.to_string(),
        };
        config.stun_urls = vec![format!("stun:{host}:{port}")];
        config.turn_urls = vec![format!("turn:{host}:{port}?transport=udp")];
    }
    Ok(relay)
}

/// How often the server looks for accounts disabled or deleted by another process (the
/// console, or another node), to close their connections here.
const ACCOUNT_WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Removes, every few minutes, uploads abandoned for a day (and their staged bytes) and files
/// uploaded but never sent for a day: they would hold their owner's quota and the disk forever.
async fn sweep_files(core: Arc<Core>) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(600));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let before = util::now_ms() - files::ABANDONED_AFTER_MS;
        if let Err(error) = files::sweep(&core.db, &core.files, before).await {
            tracing::warn!(%error, "abandoned uploads were not swept");
        }
    }
}

/// Closes the connections of accounts disabled or deleted anywhere, and takes deleted accounts
/// out of their groups. This process's own changes do both at once; this catches the
/// console's, other nodes' and an interrupted deletion's within a few seconds.
async fn close_ended_accounts(core: Arc<Core>) {
    // Clocks of other writers (another node) may differ a little: look back further than the
    // interval. Kicking a connection twice is harmless; it is gone after the first.
    const LOOK_BACK_MS: i64 = 30_000;
    let mut interval = tokio::time::interval(ACCOUNT_WATCH_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let since = util::now_ms() - LOOK_BACK_MS;
        match accounts::deletion::ended_since(&core.db, since).await {
            Ok(users) if !users.is_empty() => core.hub.kick_users(&users),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not look for disabled accounts"),
        }
        if let Err(error) = accounts::deletion::finish_leaving(&core.db, &core.hub).await {
            tracing::warn!(%error, "deleted accounts could not leave their groups");
        }
    }
}

/// The file store and the staging directory of uploads, both under the data directory unless
/// `--file-store` names another store.
pub(crate) fn open_files(config: &Config) -> anyhow::Result<files::Files> {
    let store = match &config.file_store {
        Some(url) => files::BlobStore::from_url(url, &config.file_store_options)?,
        None => files::BlobStore::local(&config.data_dir.join("files"))?,
    };
    Ok(files::Files {
        store,
        staging: config.data_dir.join("uploads"),
        max_bytes: config.max_file_bytes,
        quota_bytes: config.user_quota_bytes,
    })
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
        let files = open_files(&config)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("could not listen on {}", config.listen))?;
        let mut config = config;
        let relay = match config.turn_listen {
            Some(listen) => Some(start_relay(&mut config, listen).await?),
            None => None,
        };
        let core = Core::new(config, db, files, CancellationToken::new());
        Ok(Server {
            core,
            listener,
            relay,
        })
    }

    /// Where the embedded STUN/TURN listener is, when it runs.
    pub fn relay_addr(&self) -> Option<SocketAddr> {
        self.relay.as_ref().map(calls::relay::Relay::local_addr)
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
                    core.gate.limits.forget_idle_keys();
                    core.user_limits.forget_idle_keys();
                }
            }
        });
        let call_timers = tokio::spawn({
            let core = core.clone();
            async move { core.calls.run_timers(&core.shutdown).await }
        });
        let account_watch = tokio::spawn(close_ended_accounts(core.clone()));
        let file_sweeper = tokio::spawn(sweep_files(core.clone()));
        let signal = tokio::spawn({
            let core = core.clone();
            async move {
                shutdown.await;
                tracing::info!("shutting down");
                core.shutdown.cancel();
            }
        });
        let app = api::router(core.clone());
        serve::serve(
            self.listener,
            app,
            serve::ConnectionLimits {
                header_timeout: core.config.client_timeout(),
                per_address: core.config.effective_max_connections_per_ip(),
            },
            core.shutdown.clone(),
        )
        .await;
        signal.abort();
        core.connections.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, core.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("some WebSocket sessions did not close in time");
        }
        janitor.abort();
        call_timers.abort();
        account_watch.abort();
        file_sweeper.abort();
        if let Some(relay) = &self.relay {
            relay.close().await;
        }
        core.db.pool.close().await;
        Ok(())
    }
}
