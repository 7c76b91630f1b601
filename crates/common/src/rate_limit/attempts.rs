//! Failed attempts per key, in process, with a peek before the attempt: the login counts only
//! failures per (username, client address), so a flood of wrong passwords from one address
//! cannot keep the account's owner out from another.
//!
//! Each key holds one instant (GCRA's theoretical arrival time): `burst` failures at once, then one
//! more every `60 s / per_minute`. A key is forgotten by [`AttemptLimiter::forget_idle`] once it is
//! back to a full allowance, so it lives at most `burst × 60 s / per_minute` after its last failure
//! plus the sweep period, and the map never holds more than `max_keys` keys (a failure that would
//! add a key to a full map is not tracked, and counted in `attempt_limiter_full_total`; the
//! per-address limit still applies to it).

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::ApiError;

/// The default bound on tracked keys: about 200 bytes each, so at most ~20 MB.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// Counts failed attempts per key; see the module documentation.
pub struct AttemptLimiter {
    interval: Duration,
    /// How far ahead of now a key's arrival time may be and still allow an attempt.
    tolerance: Duration,
    max_keys: usize,
    arrivals: Mutex<HashMap<String, Instant>>,
}

impl AttemptLimiter {
    /// `per_minute` failures sustained per key, `burst` at once.
    pub fn per_minute(per_minute: u32, burst: u32) -> Result<Self, String> {
        let rate = NonZeroU32::new(per_minute).ok_or("attempt limits must be positive")?;
        let burst = NonZeroU32::new(burst).ok_or("attempt limits must be positive")?;
        let interval = Duration::from_secs(60) / rate.get();
        Ok(Self {
            interval,
            tolerance: interval * (burst.get() - 1),
            max_keys: DEFAULT_MAX_KEYS,
            arrivals: Mutex::default(),
        })
    }

    /// The same limiter holding at most `max_keys` keys.
    pub fn with_max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// Whether `key` may make an attempt now (nothing is recorded); a 429 with the wait if not.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        self.check_at(key, Instant::now())
    }

    /// Records a failed attempt of `key`.
    pub fn failed(&self, key: &str) {
        self.failed_at(key, Instant::now());
    }

    /// Forgets the keys back to a full allowance (call periodically); returns how many remain.
    pub fn forget_idle(&self) -> usize {
        self.forget_idle_at(Instant::now())
    }

    /// How many keys are tracked.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.arrivals.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), ApiError> {
        let Some(&arrival) = self.lock().get(key) else {
            return Ok(());
        };
        let allowed_from = arrival.checked_sub(self.tolerance).unwrap_or(now);
        if allowed_from <= now {
            return Ok(());
        }
        metrics::counter!("rate_limited_total").increment(1);
        let wait = allowed_from - now;
        Err(ApiError::TooManyRequests {
            retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        })
    }

    fn failed_at(&self, key: &str, now: Instant) {
        let mut arrivals = self.lock();
        if let Some(arrival) = arrivals.get_mut(key) {
            *arrival = (*arrival).max(now) + self.interval;
            return;
        }
        if arrivals.len() >= self.max_keys {
            arrivals.retain(|_, arrival| *arrival > now);
        }
        if arrivals.len() >= self.max_keys {
            metrics::counter!("attempt_limiter_full_total").increment(1);
            tracing::warn!(
                keys = arrivals.len(),
                "attempt limiter full; this failure is not tracked"
            );
            return;
        }
        arrivals.insert(key.to_owned(), now + self.interval);
    }

    fn forget_idle_at(&self, now: Instant) -> usize {
        let mut arrivals = self.lock();
        arrivals.retain(|_, arrival| *arrival > now);
        arrivals.shrink_to_fit();
        arrivals.len()
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn only_failures_count_and_the_burst_then_blocks_with_a_wait() {
        let limiter = AttemptLimiter::per_minute(6, 3).expect("limiter");
        let now = Instant::now();
        // Checking is free: any number of successful attempts record nothing.
        for _ in 0..100 {
            limiter
                .check_at("admin|ip:192.0.2.1", now)
                .expect("allowed");
        }
        for _ in 0..3 {
            limiter
                .check_at("admin|ip:192.0.2.1", now)
                .expect("allowed");
            limiter.failed_at("admin|ip:192.0.2.1", now);
        }
        match limiter.check_at("admin|ip:192.0.2.1", now) {
            Err(ApiError::TooManyRequests { retry_after }) => assert_eq!(retry_after, 10),
            other => panic!("expected a 429, got {other:?}"),
        }
        // Another address for the same user is a key of its own.
        limiter
            .check_at("admin|ip:192.0.2.2", now)
            .expect("allowed");
        // One interval (10 s at 6 per minute) later, one more attempt.
        let later = now + Duration::from_secs(10);
        limiter
            .check_at("admin|ip:192.0.2.1", later)
            .expect("allowed");
    }

    #[test]
    fn idle_keys_are_forgotten() {
        let limiter = AttemptLimiter::per_minute(10, 5).expect("limiter");
        let now = Instant::now();
        for i in 0..1000 {
            limiter.failed_at(&format!("user{i}|ip:192.0.2.1"), now);
        }
        limiter.failed_at("busy|ip:192.0.2.1", now + MINUTE);
        assert_eq!(limiter.len(), 1001);
        // Still within one interval (6 s) of their failure: kept.
        assert_eq!(limiter.forget_idle_at(now + Duration::from_secs(5)), 1001);
        // Back to a full allowance: forgotten; the one that failed later is kept.
        assert_eq!(limiter.forget_idle_at(now + Duration::from_secs(7)), 1);
        limiter
            .check_at("user1|ip:192.0.2.1", now + Duration::from_secs(7))
            .expect("a forgotten key starts afresh");
    }

    #[test]
    fn the_number_of_keys_is_capped() {
        let limiter = AttemptLimiter::per_minute(10, 5)
            .expect("limiter")
            .with_max_keys(100);
        let now = Instant::now();
        for i in 0..10_000 {
            limiter.failed_at(&format!("user{i}|ip:192.0.2.1"), now);
        }
        assert_eq!(limiter.len(), 100);
        // Once the tracked keys are idle, new ones take their place.
        let later = now + MINUTE;
        limiter.failed_at("late|ip:192.0.2.1", later);
        assert_eq!(limiter.len(), 1);
    }
}
