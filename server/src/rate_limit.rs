//! Rate limits on sign-up and log-in, per client address and per account name (governor's
//! GCRA limiters), so password guessing is slow from one address and against one account.

use std::{net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{
    DefaultKeyedRateLimiter, Quota,
    clock::{Clock, DefaultClock},
};

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

/// What one user may do per minute, whichever device and node it comes from: messages sent and
/// calls placed. Over it, `rate_limited` with the wait.
pub struct UserRateLimits {
    messages: Option<DefaultKeyedRateLimiter<natter_protocol::UserId>>,
    calls: Option<DefaultKeyedRateLimiter<natter_protocol::UserId>>,
}

impl UserRateLimits {
    pub fn new(messages_per_minute: u32, calls_per_minute: u32) -> Self {
        UserRateLimits {
            messages: limiter(messages_per_minute),
            calls: limiter(calls_per_minute),
        }
    }

    fn check(
        limiter: Option<&DefaultKeyedRateLimiter<natter_protocol::UserId>>,
        user: natter_protocol::UserId,
    ) -> Result<()> {
        let now = DefaultClock::default().now();
        match limiter {
            Some(limiter) => limiter
                .check_key(&user)
                .map_err(|not_until| retry_after(not_until.wait_time_from(now))),
            None => Ok(()),
        }
    }

    pub fn check_message(&self, user: natter_protocol::UserId) -> Result<()> {
        Self::check(self.messages.as_ref(), user)
    }

    pub fn check_call(&self, user: natter_protocol::UserId) -> Result<()> {
        Self::check(self.calls.as_ref(), user)
    }

    pub fn forget_idle_keys(&self) {
        for limiter in [&self.messages, &self.calls].into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}
