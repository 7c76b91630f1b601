//! The ledger worker's settings (shared ones in [`ServiceConfig`]).

use inventory_common::config::{ConfigError, ServiceConfig, var_or};

/// The consumer group every ledger instance joins.
pub use inventory_events::LEDGER_GROUP as GROUP;
/// The stream the stock service publishes to.
pub use inventory_events::STOCK_EVENTS_STREAM as STREAM;

#[derive(Debug, Clone)]
pub struct Config {
    pub service: ServiceConfig,
    /// `INVENTORY_LEDGER_CONSUMER`: this instance's consumer name (default host-pid).
    pub consumer: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let default_consumer = format!(
            "{}-{}",
            std::env::var("HOSTNAME")
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "ledger".into()),
            std::process::id()
        );
        Ok(Self {
            service: ServiceConfig::from_env()?,
            consumer: var_or("INVENTORY_LEDGER_CONSUMER", default_consumer)?,
        })
    }
}
