//! The ledger worker's settings (shared ones in [`ServiceConfig`]).

use std::time::Duration;

use inventory_common::config::{ConfigError, ServiceConfig, var_or};

/// The consumer group every ledger instance joins.
pub use inventory_events::LEDGER_GROUP as GROUP;
/// The stream the stock service publishes to.
pub use inventory_events::STOCK_EVENTS_STREAM as STREAM;

/// The largest batch the worker reads at once (one transaction applies a whole batch).
pub const MAX_BATCH_SIZE: usize = 5_000;

/// Entries read and applied at once by default. A worker that keeps up reads what has arrived
/// (a few entries); one that is behind applies this many per transaction, and each of its round
/// trips and its commit are shared by more events. At 200, under 2,100 events/s on a saturated
/// 2-core machine, the worker fell 4–12 s behind; at 1,000 it stayed within 0.6–2 s.
pub const BATCH_SIZE: usize = 1_000;

/// Everything the ledger process reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub service: ServiceConfig,
    pub worker: WorkerSettings,
    pub heal: HealSettings,
}

/// How the worker finds and closes gaps, reconciles, and judges its own readiness.
#[derive(Debug, Clone)]
pub struct HealSettings {
    /// `INVENTORY_LEDGER_GAP_CHECK_MS`: how often recent movements are checked for missing entries.
    pub gap_check: Duration,
    /// `INVENTORY_LEDGER_BACKFILL_AFTER_MS`: a movement without an entry for this long is taken from
    /// `stock_movements` (younger ones are most likely still on their way through the stream).
    pub backfill_after: Duration,
    /// `INVENTORY_LEDGER_GAP_WINDOW_SECS`: how far back the frequent check looks (older gaps are
    /// closed by the next comparison of everything: after a loss, or hourly).
    pub gap_window: Duration,
    /// `INVENTORY_LEDGER_RECONCILE_INTERVAL_SECS`: how often each worker compares what changed since
    /// the last check found the ledger in sync (and repairs what differs).
    pub reconcile_interval: Duration,
    /// `INVENTORY_LEDGER_FULL_RECONCILE_INTERVAL_SECS`: how often one of the workers compares
    /// everything (its cost follows the history).
    pub full_reconcile_interval: Duration,
    /// `INVENTORY_LEDGER_STALL_SECS`: a backlog that has not moved for this long makes `/readyz` 503.
    pub stall_after: Duration,
}

impl Default for HealSettings {
    fn default() -> Self {
        Self {
            gap_check: Duration::from_millis(5_000),
            backfill_after: Duration::from_millis(10_000),
            gap_window: Duration::from_secs(3_600),
            reconcile_interval: Duration::from_secs(60),
            full_reconcile_interval: Duration::from_secs(3_600),
            stall_after: Duration::from_secs(60),
        }
    }
}

impl HealSettings {
    /// Reads the settings from the environment, with their defaults; zero durations are refused.
    pub fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        let ms = |name: &str, default: Duration| -> Result<Duration, ConfigError> {
            let value: u64 = var_or(name, default.as_millis() as u64)?;
            nonzero(name, Duration::from_millis(value))
        };
        let secs = |name: &str, default: Duration| -> Result<Duration, ConfigError> {
            let value: u64 = var_or(name, default.as_secs())?;
            nonzero(name, Duration::from_secs(value))
        };
        Ok(Self {
            gap_check: ms("INVENTORY_LEDGER_GAP_CHECK_MS", d.gap_check)?,
            backfill_after: ms("INVENTORY_LEDGER_BACKFILL_AFTER_MS", d.backfill_after)?,
            gap_window: secs("INVENTORY_LEDGER_GAP_WINDOW_SECS", d.gap_window)?,
            reconcile_interval: secs(
                "INVENTORY_LEDGER_RECONCILE_INTERVAL_SECS",
                d.reconcile_interval,
            )?,
            full_reconcile_interval: secs(
                "INVENTORY_LEDGER_FULL_RECONCILE_INTERVAL_SECS",
                d.full_reconcile_interval,
            )?,
            stall_after: secs("INVENTORY_LEDGER_STALL_SECS", d.stall_after)?,
        })
    }
}

fn nonzero(name: &str, value: Duration) -> Result<Duration, ConfigError> {
    if value.is_zero() {
        return Err(ConfigError::Invalid {
            name: name.to_owned(),
            reason: "must be at least 1".to_owned(),
        });
    }
    Ok(value)
}

/// How the consumer loop reads, reclaims and gives up on stream entries.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `INVENTORY_LEDGER_CONSUMER`: this instance's consumer name (default `<host>-<pid>`).
    pub consumer: String,
    /// `INVENTORY_LEDGER_BATCH_SIZE`: entries read (and applied in one transaction) at once.
    pub batch_size: usize,
    /// `INVENTORY_LEDGER_BLOCK_MS`: how long one XREADGROUP waits for new entries.
    pub block: Duration,
    /// `INVENTORY_LEDGER_CLAIM_IDLE_MS`: entries pending this long on any consumer are reclaimed.
    pub claim_idle: Duration,
    /// `INVENTORY_LEDGER_MAX_DELIVERIES`: deliveries after which a failing entry goes to the DLQ.
    pub max_deliveries: usize,
    /// `INVENTORY_LEDGER_STREAM_KEEP_SECS`: how long entries every group has consumed stay on the
    /// event stream before they are trimmed.
    pub stream_keep: Duration,
}

impl Config {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            service: ServiceConfig::from_env()?,
            worker: WorkerSettings::from_env()?,
            heal: HealSettings::from_env()?,
        })
    }
}

impl WorkerSettings {
    /// Reads the worker settings from the environment, with their defaults.
    pub fn from_env() -> Result<Self, ConfigError> {
        let settings = Self {
            consumer: var_or("INVENTORY_LEDGER_CONSUMER", default_consumer())?,
            batch_size: var_or("INVENTORY_LEDGER_BATCH_SIZE", BATCH_SIZE)?,
            block: Duration::from_millis(var_or("INVENTORY_LEDGER_BLOCK_MS", 2_000)?),
            claim_idle: Duration::from_millis(var_or("INVENTORY_LEDGER_CLAIM_IDLE_MS", 30_000)?),
            max_deliveries: var_or("INVENTORY_LEDGER_MAX_DELIVERIES", 5)?,
            stream_keep: Duration::from_secs(var_or("INVENTORY_LEDGER_STREAM_KEEP_SECS", 120)?),
        };
        settings.validate()
    }

    /// Defaults with the given consumer name (tests and tools).
    pub fn with_consumer(consumer: impl Into<String>) -> Self {
        Self {
            consumer: consumer.into(),
            batch_size: BATCH_SIZE,
            block: Duration::from_millis(2_000),
            claim_idle: Duration::from_millis(30_000),
            max_deliveries: 5,
            stream_keep: Duration::from_secs(120),
        }
    }

    /// Checks the ranges the worker relies on.
    pub fn validate(self) -> Result<Self, ConfigError> {
        let invalid = |name: &str, reason: &str| ConfigError::Invalid {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        if self.consumer.trim().is_empty() {
            return Err(invalid("INVENTORY_LEDGER_CONSUMER", "must not be empty"));
        }
        if !(1..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(invalid(
                "INVENTORY_LEDGER_BATCH_SIZE",
                "must be between 1 and 5000",
            ));
        }
        if self.block.is_zero() {
            return Err(invalid(
                "INVENTORY_LEDGER_BLOCK_MS",
                "must be at least 1 (0 would block forever)",
            ));
        }
        if self.claim_idle.is_zero() {
            return Err(invalid(
                "INVENTORY_LEDGER_CLAIM_IDLE_MS",
                "must be at least 1",
            ));
        }
        if self.max_deliveries == 0 {
            return Err(invalid(
                "INVENTORY_LEDGER_MAX_DELIVERIES",
                "must be at least 1",
            ));
        }
        Ok(self)
    }
}

fn default_consumer() -> String {
    let host = std::env::var("INVENTORY_INSTANCE")
        .or_else(|_| std::env::var("HOSTNAME"))
        .ok()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| "ledger".into());
    format!("{host}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_out_of_range_settings() {
        let ok = WorkerSettings::with_consumer("c");
        assert!(ok.clone().validate().is_ok());
        for bad in [
            WorkerSettings {
                batch_size: 0,
                ..ok.clone()
            },
            WorkerSettings {
                batch_size: MAX_BATCH_SIZE + 1,
                ..ok.clone()
            },
            WorkerSettings {
                block: Duration::ZERO,
                ..ok.clone()
            },
            WorkerSettings {
                max_deliveries: 0,
                ..ok.clone()
            },
            WorkerSettings {
                consumer: " ".into(),
                ..ok.clone()
            },
        ] {
            assert!(bad.validate().is_err());
        }
    }
}
