//! A few changes of a level at a time in each instance. Sales of a popular level otherwise all wait
//! in PostgreSQL on the level's row lock: every request holds a pooled connection and a backend
//! while it waits, and each commit wakes the waiters to find one winner — on a busy machine the
//! handoff, not the work, sets the pace and the tail. Here the requests for one level beyond
//! [`Turns::PER_LEVEL`] wait in line in the instance, in arrival order, without a connection.
//!
//! Measured (`make bench`'s hot level, 32 connections, two instances, back to back): one change
//! at a time ran 255–307 sales/s (p99 238–316 ms) — the next change only started once the previous
//! one had finished; four ran 391–414/s (p99 152–177 ms) against 299–317/s (p99 394–471 ms) with
//! no line at all; random levels were unchanged (557–618/s either way).
//!
//! A wait for a turn is bounded like a wait for a pooled connection (`INVENTORY_DB_POOL_TIMEOUT_MS`):
//! past it the request is a 503, as when the pool is exhausted, so a burst on one level sheds load
//! instead of queueing without end. Bounded by construction: a fixed number of stripes, a level's
//! stripe chosen by hashing its store and product. Levels that share a stripe share its turns (rarely a wait: with 32 changes in
//! flight, five on one stripe almost never happen unless they are of the same level).

use std::time::Duration;

use inventory_common::ApiError;
use tokio::sync::{Semaphore, SemaphorePermit};
use uuid::Uuid;

/// The lines of an instance.
pub struct Turns {
    stripes: Box<[Semaphore]>,
    /// The longest wait for a turn.
    wait: Duration,
}

/// A change's turn: the next in the level's line goes when it is dropped.
pub type Turn<'a> = SemaphorePermit<'a>;

impl Turns {
    /// How many lines an instance keeps.
    pub const STRIPES: usize = 1024;
    /// How many changes of one level (one stripe) an instance runs at once: enough that the next
    /// change already waits on the row when one commits, few enough that a commit wakes few.
    pub const PER_LEVEL: usize = 4;

    /// Lines whose turns are waited for at most `wait` (the pool's check-out timeout).
    pub fn new(wait: Duration) -> Self {
        Self {
            stripes: (0..Self::STRIPES)
                .map(|_| Semaphore::new(Self::PER_LEVEL))
                .collect(),
            wait,
        }
    }

    /// Waits for a turn of the level of `store` and `product` (first come, first served); 503
    /// after the longest wait.
    pub async fn of_level(&self, store: Uuid, product: Uuid) -> Result<Turn<'_>, ApiError> {
        let stripe = &self.stripes[Self::stripe(store, product)];
        let started = std::time::Instant::now();
        let turn = tokio::time::timeout(self.wait, stripe.acquire()).await;
        metrics::histogram!("stock_level_turn_wait_seconds")
            .record(started.elapsed().as_secs_f64());
        match turn {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphores are never closed: acquiring fails only on a closed one.
            Ok(Err(_)) => Err(ApiError::internal("a level's line was closed")),
            Err(_) => Err(ApiError::Unavailable(
                "this stock level is busy; try again".into(),
            )),
        }
    }

    fn stripe(store: Uuid, product: Uuid) -> usize {
        let key = store.as_u128() ^ product.as_u128().rotate_left(64);
        let folded = (key as u64) ^ ((key >> 64) as u64);
        // Fibonacci hashing: the top bits of the product spread any input over the stripes.
        (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - Self::STRIPES.trailing_zeros()))
            as usize
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // tests: failing loudly is the point
mod tests {
    use std::time::Duration;

    use super::*;

    const SOON: Duration = Duration::from_millis(50);

    #[tokio::test]
    async fn a_level_has_a_few_changes_at_once_and_others_do_not_wait() {
        let turns = Turns::new(Duration::from_secs(10));
        let (store, product) = (Uuid::now_v7(), Uuid::now_v7());
        let mut running = Vec::new();
        for _ in 0..Turns::PER_LEVEL {
            running.push(turns.of_level(store, product).await.expect("a turn"));
        }
        let next = tokio::time::timeout(SOON, turns.of_level(store, product));
        assert!(next.await.is_err(), "one change more than PER_LEVEL waits");
        let other = (0..100)
            .map(|_| Uuid::now_v7())
            .find(|p| Turns::stripe(store, *p) != Turns::stripe(store, product))
            .expect("a level on another stripe");
        let unrelated = tokio::time::timeout(SOON, turns.of_level(store, other));
        assert!(
            matches!(unrelated.await, Ok(Ok(_))),
            "another level does not wait"
        );
        running.pop();
        let next = tokio::time::timeout(SOON, turns.of_level(store, product));
        assert!(
            matches!(next.await, Ok(Ok(_))),
            "the next change goes once one is done"
        );
    }

    #[tokio::test]
    async fn a_wait_past_the_bound_is_a_503() {
        let turns = Turns::new(SOON);
        let (store, product) = (Uuid::now_v7(), Uuid::now_v7());
        let mut running = Vec::new();
        for _ in 0..Turns::PER_LEVEL {
            running.push(turns.of_level(store, product).await.expect("a turn"));
        }
        let late = turns.of_level(store, product).await;
        assert!(
            matches!(late, Err(ApiError::Unavailable(_))),
            "{:?}",
            late.err()
        );
    }

    #[test]
    fn levels_spread_over_the_stripes() {
        let store = Uuid::now_v7();
        let mut used = vec![0_u32; Turns::STRIPES];
        for _ in 0..Turns::STRIPES * 8 {
            used[Turns::stripe(store, Uuid::now_v7())] += 1;
        }
        let busiest = used.iter().max().copied().unwrap_or_default();
        assert!(
            busiest < 32,
            "one stripe took {busiest} of {} levels",
            Turns::STRIPES * 8
        );
        assert!(used.iter().filter(|n| **n == 0).count() < Turns::STRIPES / 100);
    }
}
