//! The state the shells share (`api/`, `realtime/socket.rs`, `console.rs`, `lib.rs`):
//! configuration, database, hub, switchboard, limits, shutdown. Core is built here from the
//! configuration and handed to nobody below: a domain function takes only the parts it uses
//! (the `Db`, the hub as `&dyn Live`, a limit), so no domain module depends on this one.

use std::{sync::Arc, time::Instant};

use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    accounts::Gate,
    calls::{referee::RefereeConfig, signaling::Switchboard},
    config::Config,
    credentials::PasswordHashing,
    db::Db,
    files::Files,
    hub::Hub,
    metrics::Metrics,
    rate_limit::{AuthRateLimits, UserRateLimits},
};

pub struct Core {
    pub config: Config,
    pub db: Db,
    pub hub: Hub,
    /// The calls in progress on this node.
    pub calls: Switchboard,
    pub metrics: Arc<Metrics>,
    /// Where files go, and their limits.
    pub files: Files,
    /// The sign-in limits and the password hasher.
    pub gate: Gate,
    /// Messages sent, calls placed and typing notices per user.
    pub user_limits: UserRateLimits,
    /// Cancelled when the server shuts down: WebSocket tasks close their sockets cleanly.
    pub shutdown: CancellationToken,
    /// Open WebSocket sessions, so shutdown can wait for them to close.
    pub connections: TaskTracker,
    pub started_at: Instant,
}

impl Core {
    pub fn new(config: Config, db: Db, files: Files, shutdown: CancellationToken) -> Arc<Core> {
        let metrics = Arc::new(Metrics::new());
        let hub = Hub::new(config.ws_queue_frames, metrics.clone());
        let calls = Switchboard::new(
            RefereeConfig {
                ring_timeout_ms: config.call_ring_timeout_ms(),
                offline_grace_ms: config.call_offline_grace_ms(),
            },
            db.clone(),
            Arc::new(hub.clone()),
            metrics.clone(),
        );
        Arc::new(Core {
            hub,
            calls,
            gate: Gate {
                limits: AuthRateLimits::new(
                    config.auth_attempts_per_ip_per_minute,
                    config.login_attempts_per_account_per_minute,
                ),
                passwords: PasswordHashing::new(),
            },
            user_limits: UserRateLimits::new(
                config.user_messages_per_minute,
                config.user_calls_per_minute,
            ),
            metrics,
            files,
            db,
            config,
            shutdown,
            connections: TaskTracker::new(),
            started_at: Instant::now(),
        })
    }
}
