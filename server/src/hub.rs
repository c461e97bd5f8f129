//! The registry of live WebSocket connections and the fan-out of frames to them.
//!
//! Each connection has a bounded queue. Publishing never waits: a connection whose queue is
//! full is kicked (closed as too slow) so that one laggard can never hold up everyone else; the
//! client resumes from its cursors when it reconnects, so nothing durable is lost. A live-only
//! frame is dropped instead. The hub is what `live::Live` stands for: domain code publishes
//! through that interface and never sees a queue or a registration.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU8, AtomicU64, Ordering},
    },
};

use natter_protocol::{SessionId, UserId};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    live::{Live, Outbound},
    metrics::Metrics,
};

/// Why the hub told a connection to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum KickReason {
    None = 0,
    TooSlow = 1,
    SessionRevoked = 2,
}

/// Shared between the hub and one connection task: the signal to close and its reason.
#[derive(Debug, Default)]
pub struct Kick {
    token: CancellationToken,
    reason: AtomicU8,
}

impl Kick {
    fn fire(&self, reason: KickReason) {
        let _ = self.reason.compare_exchange(
            KickReason::None as u8,
            reason as u8,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        self.token.cancel();
    }

    pub async fn fired(&self) -> KickReason {
        self.token.cancelled().await;
        match self.reason.load(Ordering::SeqCst) {
            1 => KickReason::TooSlow,
            2 => KickReason::SessionRevoked,
            _ => KickReason::None,
        }
    }
}

struct Entry {
    connection_id: u64,
    session_id: SessionId,
    sender: mpsc::Sender<Outbound>,
    kick: Arc<Kick>,
}

/// A connection's end of the hub. Unregister it when the connection ends.
pub struct Registration {
    pub connection_id: u64,
    pub receiver: mpsc::Receiver<Outbound>,
    pub kick: Arc<Kick>,
    /// True when this is the user's first live connection: they just came online.
    pub came_online: bool,
}

/// Clones share one registry: the call switchboard keeps one to send from its timer task.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

struct Shared {
    connections: Mutex<HashMap<UserId, Vec<Entry>>>,
    next_connection_id: AtomicU64,
    queue_capacity: usize,
    metrics: Arc<Metrics>,
}

impl Hub {
    pub fn new(queue_capacity: usize, metrics: Arc<Metrics>) -> Hub {
        Hub {
            shared: Arc::new(Shared {
                connections: Mutex::new(HashMap::new()),
                next_connection_id: AtomicU64::new(1),
                queue_capacity: queue_capacity.max(1),
                metrics,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Vec<Entry>>> {
        // A panic while holding this lock leaves only plain data behind; keep serving.
        self.shared
            .connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn register(&self, user_id: UserId, session_id: SessionId) -> Registration {
        let (sender, receiver) = mpsc::channel(self.shared.queue_capacity);
        let kick = Arc::new(Kick::default());
        let connection_id = self
            .shared
            .next_connection_id
            .fetch_add(1, Ordering::Relaxed);
        let mut connections = self.lock();
        let entries = connections.entry(user_id).or_default();
        let came_online = entries.is_empty();
        entries.push(Entry {
            connection_id,
            session_id,
            sender,
            kick: kick.clone(),
        });
        self.shared.metrics.websocket_connections.inc();
        if came_online {
            self.shared.metrics.users_online.inc();
        }
        Registration {
            connection_id,
            receiver,
            kick,
            came_online,
        }
    }

    /// Removes a connection; returns true when it was the user's last one (they went offline).
    pub fn unregister(&self, user_id: UserId, connection_id: u64) -> bool {
        let mut connections = self.lock();
        let Some(entries) = connections.get_mut(&user_id) else {
            return false;
        };
        let before = entries.len();
        entries.retain(|entry| entry.connection_id != connection_id);
        if entries.len() < before {
            self.shared.metrics.websocket_connections.dec();
        }
        if entries.is_empty() {
            connections.remove(&user_id);
            if before > 0 {
                self.shared.metrics.users_online.dec();
            }
            return before > 0;
        }
        false
    }

    fn queue(&self, entry: &Entry, frame: Outbound) {
        if entry.kick.token.is_cancelled() {
            return;
        }
        match entry.sender.try_send(frame) {
            Ok(()) => {}
            // A live-only frame (typing, presence) is not worth a disconnect: drop it.
            Err(mpsc::error::TrySendError::Full(Outbound::Frame(_))) => {}
            // A frame that must arrive (an event, a call frame) cannot be dropped: the client
            // reconnects and resumes instead.
            Err(mpsc::error::TrySendError::Full(Outbound::Event(_) | Outbound::Vital(_))) => {
                self.shared.metrics.slow_clients_disconnected.inc();
                entry.kick.fire(KickReason::TooSlow);
            }
            // The connection task is ending; it unregisters itself.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Whether the session still has a live connection (a device may briefly have two while
    /// it reconnects).
    pub fn session_connected(&self, user_id: UserId, session_id: SessionId) -> bool {
        self.lock()
            .get(&user_id)
            .is_some_and(|entries| entries.iter().any(|entry| entry.session_id == session_id))
    }
}

impl Live for Hub {
    fn send_to_users(&self, user_ids: &[UserId], frame: Outbound) {
        let connections = self.lock();
        for user_id in user_ids {
            for entry in connections.get(user_id).into_iter().flatten() {
                self.queue(entry, frame.clone());
            }
        }
    }

    fn send_to_sessions_of(
        &self,
        user_id: UserId,
        matches: &dyn Fn(SessionId) -> bool,
        frame: Outbound,
    ) {
        let connections = self.lock();
        for entry in connections.get(&user_id).into_iter().flatten() {
            if matches(entry.session_id) {
                self.queue(entry, frame.clone());
            }
        }
    }

    fn kick_sessions(&self, session_ids: &[SessionId]) {
        let connections = self.lock();
        for entry in connections.values().flatten() {
            if session_ids.contains(&entry.session_id) {
                entry.kick.fire(KickReason::SessionRevoked);
            }
        }
    }

    fn kick_users(&self, user_ids: &[UserId]) {
        let connections = self.lock();
        for user_id in user_ids {
            for entry in connections.get(user_id).into_iter().flatten() {
                entry.kick.fire(KickReason::SessionRevoked);
            }
        }
    }

    fn is_online(&self, user_id: &UserId) -> bool {
        self.lock().contains_key(user_id)
    }

    fn online_among(&self, user_ids: &[UserId]) -> Vec<UserId> {
        let connections = self.lock();
        user_ids
            .iter()
            .filter(|user_id| connections.contains_key(user_id))
            .copied()
            .collect()
    }

    fn counts(&self) -> (usize, usize) {
        let connections = self.lock();
        (connections.len(), connections.values().map(Vec::len).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_protocol::{ConversationId, Seq};

    use crate::live::{FrameText, LiveEvent};

    fn event(seq: Seq) -> Outbound {
        Outbound::Event(Arc::new(LiveEvent {
            conversation_id: ConversationId::nil(),
            seq,
            json: FrameText::from_static("{}"),
        }))
    }

    #[test]
    fn first_and_last_connection_flip_presence() {
        let hub = Hub::new(4, Arc::new(Metrics::new()));
        let user = UserId::now_v7();
        let first = hub.register(user, SessionId::now_v7());
        let second = hub.register(user, SessionId::now_v7());
        assert!(first.came_online);
        assert!(!second.came_online);
        assert!(!hub.unregister(user, first.connection_id));
        assert!(hub.is_online(&user));
        assert!(hub.unregister(user, second.connection_id));
        assert!(!hub.is_online(&user));
    }

    #[tokio::test]
    async fn a_full_queue_kicks_only_that_connection() {
        let hub = Hub::new(2, Arc::new(Metrics::new()));
        let (slow_user, fast_user) = (UserId::now_v7(), UserId::now_v7());
        let slow = hub.register(slow_user, SessionId::now_v7());
        let mut fast = hub.register(fast_user, SessionId::now_v7());
        for seq in 1..=3 {
            hub.send_to_users(&[slow_user, fast_user], event(seq));
            // The fast connection drains its queue as it goes.
            assert!(fast.receiver.recv().await.is_some());
        }
        assert_eq!(slow.kick.fired().await, KickReason::TooSlow);
        assert!(!fast.kick.token.is_cancelled());
    }

    #[test]
    fn a_full_queue_drops_live_only_frames_without_kicking() {
        let hub = Hub::new(1, Arc::new(Metrics::new()));
        let user = UserId::now_v7();
        let registration = hub.register(user, SessionId::now_v7());
        for _ in 0..3 {
            hub.send_to_users(&[user], Outbound::Frame(FrameText::from_static("{}")));
        }
        assert!(!registration.kick.token.is_cancelled());
    }
}
