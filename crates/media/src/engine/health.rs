//! When a dropped connection gets an ICE restart and when the call's media gives up: a pure
//! machine driven by the connection's state changes and the time, like the server's referee,
//! so its policy is tested without sockets or waiting.

use std::time::{Duration, Instant};

use super::Role;

/// How long a dropped connection may take to come back by itself before an ICE restart.
pub const RECONNECT_WAIT: Duration = Duration::from_secs(2);
/// Between two restarts while the connection stays down. Restarts keep coming for the whole
/// outage: an offer sent while the peer's own network was down is lost with its connection to
/// the server, and only one sent after it is back can succeed.
pub const RESTART_INTERVAL: Duration = Duration::from_secs(3);
/// How long an outage may last before the call's media counts as failed (the server ends a
/// call whose device stays offline half as long anyway).
pub const OFFERER_GIVE_UP: Duration = Duration::from_secs(30);
/// The answerer waits a little longer: the offerer decides.
pub const ANSWERER_GIVE_UP: Duration = Duration::from_secs(35);

/// What the peer connection says about itself, as far as the policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Connected,
    /// Disconnected or failed: either may come back (by itself or through a restart).
    Down,
}

/// What the driver must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Tell the call: the media is (back) up.
    Connected,
    /// Tell the call: the connection dropped and is being brought back.
    Reconnecting,
    /// Make an offer with ICE restart (the offerer only); `attempt` counts this outage's.
    RestartIce { attempt: u32 },
    /// Tell the call: the media gave up.
    Failed,
}

#[derive(Debug)]
pub struct Health {
    role: Role,
    /// When the current outage began.
    down_since: Option<Instant>,
    /// Restarts in this outage.
    restarts: u32,
    last_restart: Option<Instant>,
}

impl Health {
    pub fn new(role: Role) -> Self {
        Self {
            role,
            down_since: None,
            restarts: 0,
            last_restart: None,
        }
    }

    pub fn connection(&mut self, connection: Connection, now: Instant) -> Option<Action> {
        match connection {
            Connection::Connected => {
                self.down_since = None;
                self.restarts = 0;
                self.last_restart = None;
                Some(Action::Connected)
            }
            // Disconnected then failed is one outage.
            Connection::Down if self.down_since.is_none() => {
                self.down_since = Some(now);
                Some(Action::Reconnecting)
            }
            Connection::Down => None,
        }
    }

    /// When [`Health::handle_timeout`] has something to do next, if anything.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let since = self.down_since?;
        Some(match self.role {
            Role::Answerer => since + ANSWERER_GIVE_UP,
            Role::Offerer => {
                let restart = match self.last_restart {
                    None => since + RECONNECT_WAIT,
                    Some(at) => at + RESTART_INTERVAL,
                };
                restart.min(since + OFFERER_GIVE_UP)
            }
        })
    }

    pub fn handle_timeout(&mut self, now: Instant) -> Option<Action> {
        let since = self.down_since?;
        let give_up = match self.role {
            Role::Offerer => OFFERER_GIVE_UP,
            Role::Answerer => ANSWERER_GIVE_UP,
        };
        if now >= since + give_up {
            // Over: a later drop is a new outage.
            self.down_since = None;
            return Some(Action::Failed);
        }
        if self.role == Role::Offerer
            && now >= since + RECONNECT_WAIT
            && self
                .last_restart
                .is_none_or(|at| now >= at + RESTART_INTERVAL)
        {
            self.restarts += 1;
            self.last_restart = Some(now);
            return Some(Action::RestartIce {
                attempt: self.restarts,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action the machine takes from `start` to `until`, woken at its own deadlines.
    fn run_until(health: &mut Health, start: Instant, until: Duration) -> Vec<(Duration, Action)> {
        let mut actions = Vec::new();
        while let Some(at) = health.poll_timeout() {
            if at > start + until {
                break;
            }
            if let Some(action) = health.handle_timeout(at) {
                actions.push((at - start, action));
            }
        }
        actions
    }

    fn seconds(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn the_offerer_restarts_after_a_wait_then_at_intervals_and_gives_up_at_30_s() {
        let start = Instant::now();
        let mut health = Health::new(Role::Offerer);
        assert_eq!(health.poll_timeout(), None, "nothing to do while up");
        assert_eq!(
            health.connection(Connection::Down, start),
            Some(Action::Reconnecting)
        );
        // Failed after disconnected: the same outage, told once.
        assert_eq!(
            health.connection(Connection::Down, start + seconds(1)),
            None
        );
        assert_eq!(health.handle_timeout(start + seconds(1)), None, "too soon");
        let actions = run_until(&mut health, start, seconds(40));
        let restarts: Vec<Duration> = actions
            .iter()
            .filter(|(_, action)| matches!(action, Action::RestartIce { .. }))
            .map(|(at, _)| *at)
            .collect();
        // 2 s, then every 3 s while the outage lasts (the 30 s one gives way to giving up).
        assert_eq!(
            restarts,
            (0..10).map(|n| seconds(2 + 3 * n)).collect::<Vec<_>>()
        );
        assert!(actions.contains(&(seconds(29), Action::RestartIce { attempt: 10 })));
        assert_eq!(actions.last(), Some(&(seconds(30), Action::Failed)));
        assert_eq!(health.poll_timeout(), None, "given up: nothing more");
    }

    #[test]
    fn the_answerer_never_restarts_and_waits_longer() {
        let start = Instant::now();
        let mut health = Health::new(Role::Answerer);
        health.connection(Connection::Down, start);
        assert_eq!(
            run_until(&mut health, start, seconds(60)),
            [(seconds(35), Action::Failed)]
        );
    }

    #[test]
    fn coming_back_ends_the_outage_and_the_next_one_starts_over() {
        let start = Instant::now();
        let mut health = Health::new(Role::Offerer);
        health.connection(Connection::Down, start);
        assert_eq!(
            health.handle_timeout(start + seconds(2)),
            Some(Action::RestartIce { attempt: 1 })
        );
        assert_eq!(
            health.connection(Connection::Connected, start + seconds(3)),
            Some(Action::Connected)
        );
        assert_eq!(health.poll_timeout(), None);
        assert_eq!(health.handle_timeout(start + seconds(40)), None);
        // A new outage waits again before its first restart, counted from one.
        let later = start + seconds(50);
        assert_eq!(
            health.connection(Connection::Down, later),
            Some(Action::Reconnecting)
        );
        assert_eq!(health.poll_timeout(), Some(later + RECONNECT_WAIT));
        assert_eq!(
            health.handle_timeout(later + RECONNECT_WAIT),
            Some(Action::RestartIce { attempt: 1 })
        );
        // Its give-up is 30 s after it began, not after the first one.
        assert_eq!(
            health.handle_timeout(later + seconds(29)),
            Some(Action::RestartIce { attempt: 2 })
        );
        assert_eq!(
            health.handle_timeout(later + seconds(30)),
            Some(Action::Failed)
        );
    }

    #[test]
    fn a_late_wake_up_restarts_once_not_for_each_missed_interval() {
        let start = Instant::now();
        let mut health = Health::new(Role::Offerer);
        health.connection(Connection::Down, start);
        assert_eq!(
            health.handle_timeout(start + seconds(11)),
            Some(Action::RestartIce { attempt: 1 })
        );
        assert_eq!(health.handle_timeout(start + seconds(12)), None);
        assert_eq!(health.poll_timeout(), Some(start + seconds(14)));
    }
}
