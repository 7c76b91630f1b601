//! Retrying with exponential backoff: one delay sequence ([`Backoff`]) for every loop that waits for
//! a dependency (startup steps, the outbox relay, the ledger worker), and [`until_ok`] for the
//! loops that retry one step until it succeeds.

use std::{fmt::Display, future::Future, time::Duration};

/// Delays that double after each failure, from `first` up to `max`; [`reset`](Self::reset) after a
/// success starts again from `first`.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// A sequence `first`, `2 × first`, … capped at `max`.
    pub const fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            next: first,
        }
    }

    /// The delay to wait now; the one after it is twice as long (at most `max`).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next.min(self.max);
        self.next = (delay * 2).min(self.max);
        delay
    }

    /// Starts again from the first delay (after a success).
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

/// Runs `attempt` until it returns `Ok`, waiting the next delay of `backoff` after each failure,
/// which is logged as a warning: `"{what}; retrying"` with the error and the delay. Forever: use it
/// where nothing can go on without the step (a spawned task, or a start that must wait).
pub async fn until_ok<T, E, F, Fut>(mut backoff: Backoff, what: &str, mut attempt: F) -> T
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "{what}; retrying");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_reset() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(200), ms(1000));
        let delays: Vec<Duration> = (0..5).map(|_| backoff.next_delay()).collect();
        assert_eq!(delays, [ms(200), ms(400), ms(800), ms(1000), ms(1000)]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), ms(200));
    }

    #[tokio::test]
    async fn until_ok_retries_failures_with_the_backoff() {
        let started = std::time::Instant::now();
        let mut failures_left = 3;
        let value = until_ok(
            Backoff::new(Duration::from_millis(10), Duration::from_secs(5)),
            "step",
            || {
                let fail = failures_left > 0;
                failures_left -= 1;
                async move { if fail { Err("down") } else { Ok(7) } }
            },
        )
        .await;
        assert_eq!(value, 7);
        assert_eq!(failures_left, -1, "three failures, then the success");
        // 10 + 20 + 40 ms of waiting for three failures.
        assert!(started.elapsed() >= Duration::from_millis(70));
    }
}
