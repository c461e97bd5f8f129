//! The realtime connection as the page shows it, numbered. The page learns it two ways that
//! reach it separately and in no fixed order: the `connection` command's answer (asked once
//! after signing in) and the `natter://connection` events. An answer read while the client was
//! still connecting could arrive after the event saying it is online, and leave the
//! "Connecting…" banner up for the whole session (issue 14). So each carries `seq` and the page
//! keeps the highest, the answer winning a tie (it was read after that event's change).

use std::{sync::Mutex, time::Instant};

use natter_client::ConnectionStatus;
use serde::Serialize;
use tokio::sync::watch;

/// The connection as the webview shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct ConnectionView {
    pub state: ConnectionState,
    /// When offline: milliseconds until the next attempt.
    pub retry_in_ms: Option<u64>,
    /// Grows with every `natter://connection` event; the `connection` command's answer has
    /// the number of the last event before it. Answer and events reach the page in no fixed
    /// order: keep the highest (an answer wins a tie), or a late answer "connecting" can undo
    /// the event "online".
    pub seq: u64,
}

/// The banner's three states: everything that is not connected or connecting is offline.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    Online,
    Connecting,
    Offline,
}

/// Numbers what the page is told; one per app, so numbers keep growing across sign-ins.
#[derive(Debug, Default)]
pub struct ConnectionFeed {
    /// The number of the last event. Held while numbering an event and while reading the
    /// status for an answer, so that an answer numbered n was read after event n's change.
    last_event: Mutex<u64>,
}

impl ConnectionFeed {
    /// A change the client reported, for a `natter://connection` event.
    pub fn event(&self, status: ConnectionStatus, retry_in_ms: Option<u64>) -> ConnectionView {
        let mut last_event = self.last_event.lock().unwrap_or_else(|p| p.into_inner());
        *last_event += 1;
        view(status, retry_in_ms, *last_event)
    }

    /// The status now, for the `connection` command. The client updates `status` before it
    /// reports the change, so what is read here is at least as new as the last event numbered.
    pub fn current(&self, status: &watch::Receiver<ConnectionStatus>) -> ConnectionView {
        let last_event = self.last_event.lock().unwrap_or_else(|p| p.into_inner());
        let status = *status.borrow();
        let retry_in_ms = match status {
            ConnectionStatus::Offline { retry_at } => Some(
                retry_at
                    .saturating_duration_since(Instant::now())
                    .as_millis()
                    .try_into()
                    .unwrap_or(u64::MAX),
            ),
            _ => None,
        };
        view(status, retry_in_ms, *last_event)
    }
}

fn view(status: ConnectionStatus, retry_in_ms: Option<u64>, seq: u64) -> ConnectionView {
    let state = match status {
        ConnectionStatus::Online => ConnectionState::Online,
        ConnectionStatus::Connecting => ConnectionState::Connecting,
        ConnectionStatus::Offline { .. } | ConnectionStatus::Idle | ConnectionStatus::SignedOut => {
            ConnectionState::Offline
        }
    };
    ConnectionView {
        state,
        retry_in_ms,
        seq,
    }
}

/// What the page does with a view (ui/src/banners.ts does the same): shows it unless it has
/// shown a newer one.
#[cfg(test)]
fn newest(shown: Option<&ConnectionView>, arrived: ConnectionView) -> ConnectionView {
    match shown {
        Some(shown) if shown.seq > arrived.seq => shown.clone(),
        _ => arrived,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14: the answer asked right after signing in, while connecting, reaches the page
    /// after the event saying it is online.
    #[test]
    fn a_late_answer_does_not_undo_a_newer_event() {
        let feed = ConnectionFeed::default();
        let (status, watched) = watch::channel(ConnectionStatus::Connecting);
        let connecting = feed.event(ConnectionStatus::Connecting, None);
        let answer = feed.current(&watched);
        assert_eq!(answer.state, ConnectionState::Connecting);

        status.send_replace(ConnectionStatus::Online);
        let online = feed.event(ConnectionStatus::Online, None);

        let shown = newest(None, connecting);
        let shown = newest(Some(&shown), online);
        let shown = newest(Some(&shown), answer);
        assert_eq!(
            shown.state,
            ConnectionState::Online,
            "the late answer won: {shown:?}"
        );
    }

    #[test]
    fn an_answer_read_after_a_change_wins_over_its_event() {
        let feed = ConnectionFeed::default();
        let (status, watched) = watch::channel(ConnectionStatus::Connecting);
        let connecting = feed.event(ConnectionStatus::Connecting, None);
        // Online already, but its event is not numbered yet: the answer knows it first.
        status.send_replace(ConnectionStatus::Online);
        let answer = feed.current(&watched);
        let shown = newest(Some(&connecting), answer);
        assert_eq!(shown.state, ConnectionState::Online);
        let online = feed.event(ConnectionStatus::Online, None);
        assert!(online.seq > shown.seq);
        assert_eq!(newest(Some(&shown), online).state, ConnectionState::Online);
    }

    #[test]
    fn numbers_keep_growing() {
        let feed = ConnectionFeed::default();
        let (_status, watched) = watch::channel(ConnectionStatus::Idle);
        let first = feed.event(ConnectionStatus::Connecting, None);
        assert_eq!(feed.current(&watched).seq, first.seq);
        let second = feed.event(ConnectionStatus::Online, None);
        assert!(second.seq > first.seq);
        assert_eq!(feed.current(&watched).seq, second.seq);
    }
}
