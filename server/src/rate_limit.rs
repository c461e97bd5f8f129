//! Rate limits (governor's GCRA limiters): sign-up and log-in per client address and per
//! account name, so password guessing is slow from one address and against one account; and
//! what one user may send (messages, calls, typing notices).

use std::{net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{
    DefaultKeyedRateLimiter, Quota,
    clock::{Clock, DefaultClock},
};

use natter_protocol::{ConversationId, UserId, limits::TYPING_MIN_INTERVAL_MS};

use crate::error::{Error, Result};

pub struct AuthRateLimits {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_account: Option<DefaultKeyedRateLimiter<String>>,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|rate| DefaultKeyedRateLimiter::keyed(Quota::per_minute(rate)))
}

fn retry_after(wait: Duration) -> Error {
    Error::RateLimited {
        retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
    }
}

impl AuthRateLimits {
    pub fn new(per_ip_per_minute: u32, per_account_per_minute: u32) -> Self {
        AuthRateLimits {
            per_ip: limiter(per_ip_per_minute),
            per_account: limiter(per_account_per_minute),
        }
    }

    /// Counts one attempt of `action` ("login", "signup") from `ip` against `account` (a
    /// normalised username). Actions count separately per account, so that signing up does not
    /// spend the new account's log-in attempts; per address they count together.
    pub fn check(&self, ip: IpAddr, action: &str, account: &str) -> Result<()> {
        let now = DefaultClock::default().now();
        if let Some(per_ip) = &self.per_ip {
            per_ip
                .check_key(&ip)
                .map_err(|not_until| retry_after(not_until.wait_time_from(now)))?;
        }
        if let Some(per_account) = &self.per_account {
            per_account
                .check_key(&format!("{action}:{account}"))
                .map_err(|not_until| retry_after(not_until.wait_time_from(now)))?;
        }
        Ok(())
    }

    /// Counts one attempt from `ip` that names no account (a reset code, an invite).
    pub fn check_address(&self, ip: IpAddr) -> Result<()> {
        let now = DefaultClock::default().now();
        if let Some(per_ip) = &self.per_ip {
            per_ip
                .check_key(&ip)
                .map_err(|not_until| retry_after(not_until.wait_time_from(now)))?;
        }
        Ok(())
    }

    /// Forgets keys whose limits are back to full, so the maps do not grow without bound.
    pub fn forget_idle_keys(&self) {
        if let Some(per_ip) = &self.per_ip {
            per_ip.retain_recent();
            per_ip.shrink_to_fit();
        }
        if let Some(per_account) = &self.per_account {
            per_account.retain_recent();
            per_account.shrink_to_fit();
        }
    }
}

/// What one user may do, whichever device it comes from: messages sent and calls placed per
/// minute (over it, `rate_limited` with the wait), and typing notices, one a second per
/// conversation (more are dropped quietly).
pub struct UserRateLimits {
    messages: Option<DefaultKeyedRateLimiter<UserId>>,
    calls: Option<DefaultKeyedRateLimiter<UserId>>,
    typing: DefaultKeyedRateLimiter<(UserId, ConversationId)>,
}

impl UserRateLimits {
    pub fn new(messages_per_minute: u32, calls_per_minute: u32) -> Self {
        UserRateLimits {
            messages: limiter(messages_per_minute),
            calls: limiter(calls_per_minute),
            typing: DefaultKeyedRateLimiter::keyed(
                Quota::with_period(Duration::from_millis(TYPING_MIN_INTERVAL_MS))
                    .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN)),
            ),
        }
    }

    fn check(limiter: Option<&DefaultKeyedRateLimiter<UserId>>, user: UserId) -> Result<()> {
        let now = DefaultClock::default().now();
        match limiter {
            Some(limiter) => limiter
                .check_key(&user)
                .map_err(|not_until| retry_after(not_until.wait_time_from(now))),
            None => Ok(()),
        }
    }

    pub fn check_message(&self, user: UserId) -> Result<()> {
        Self::check(self.messages.as_ref(), user)
    }

    pub fn check_call(&self, user: UserId) -> Result<()> {
        Self::check(self.calls.as_ref(), user)
    }

    /// Whether a typing notice may go out now (the last one was a second ago or more).
    pub fn allow_typing(&self, user: UserId, conversation: ConversationId) -> bool {
        self.typing.check_key(&(user, conversation)).is_ok()
    }

    pub fn forget_idle_keys(&self) {
        for limiter in [&self.messages, &self.calls].into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.typing.retain_recent();
        self.typing.shrink_to_fit();
    }
}
