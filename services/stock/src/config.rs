//! The stock service's settings (shared ones in [`ServiceConfig`]).

use std::time::Duration;

use inventory_common::config::{ConfigError, ServiceConfig, var_or};

/// Defaults, used by [`Config::new`] (tests) and [`Config::from_env`] alike.
const CACHE_TTL_SECS: u64 = 60;
const OUTBOX_POLL_MS: u64 = 500;
/// A relay that keeps up takes what has arrived; one that is behind takes this many per round, and
/// each round's claim walks the rows deleted since the table was last vacuumed only once for all
/// of them. At 100, under 2,100 events/s on a saturated 2-core machine, events waited 3–7 s in the
/// outbox; at 500, under 0.6 s.
const OUTBOX_BATCH: i64 = 500;
const IDEMPOTENCY_TTL_SECS: u64 = 24 * 3600;
const IDEMPOTENCY_CLEANUP_SECS: u64 = 300;

/// Everything the stock service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub service: ServiceConfig,
    /// `INVENTORY_CACHE_TTL_SECS`: lifetime of cached stock reads (default 60).
    pub cache_ttl: Duration,
    /// `INVENTORY_OUTBOX_POLL_MS`: how often the relay looks for events when nothing woke it
    /// (default 500); commits of this instance wake it at once.
    pub outbox_poll: Duration,
    /// `INVENTORY_OUTBOX_BATCH`: events claimed and published per relay round trip (default 500).
    pub outbox_batch: i64,
    /// `INVENTORY_IDEMPOTENCY_TTL_SECS`: how long a stored response is replayed (default 86400).
    pub idempotency_ttl: Duration,
    /// `INVENTORY_IDEMPOTENCY_CLEANUP_SECS`: how often expired idempotency keys are deleted
    /// (default 300).
    pub idempotency_cleanup: Duration,
}

impl Config {
    /// The defaults around shared settings (tests build it this way).
    pub fn new(service: ServiceConfig) -> Self {
        Self {
            service,
            cache_ttl: Duration::from_secs(CACHE_TTL_SECS),
            outbox_poll: Duration::from_millis(OUTBOX_POLL_MS),
            outbox_batch: OUTBOX_BATCH,
            idempotency_ttl: Duration::from_secs(IDEMPOTENCY_TTL_SECS),
            idempotency_cleanup: Duration::from_secs(IDEMPOTENCY_CLEANUP_SECS),
        }
    }

    /// Reads the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let batch: i64 = var_or("INVENTORY_OUTBOX_BATCH", OUTBOX_BATCH)?;
        if !(1..=10_000).contains(&batch) {
            return Err(ConfigError::Invalid {
                name: "INVENTORY_OUTBOX_BATCH".into(),
                reason: "must be between 1 and 10000".into(),
            });
        }
        Ok(Self {
            service: ServiceConfig::from_env()?,
            cache_ttl: Duration::from_secs(var_or("INVENTORY_CACHE_TTL_SECS", CACHE_TTL_SECS)?),
            outbox_poll: Duration::from_millis(
                var_or("INVENTORY_OUTBOX_POLL_MS", OUTBOX_POLL_MS)?.max(10),
            ),
            outbox_batch: batch,
            idempotency_ttl: Duration::from_secs(var_or(
                "INVENTORY_IDEMPOTENCY_TTL_SECS",
                IDEMPOTENCY_TTL_SECS,
            )?),
            idempotency_cleanup: Duration::from_secs(
                var_or(
                    "INVENTORY_IDEMPOTENCY_CLEANUP_SECS",
                    IDEMPOTENCY_CLEANUP_SECS,
                )?
                .max(1),
            ),
        })
    }
}
