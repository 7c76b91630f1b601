//! The catalog service's settings (shared ones in [`ServiceConfig`]).

use std::time::Duration;

use inventory_common::config::{ConfigError, ServiceConfig, var_or};

#[derive(Debug, Clone)]
pub struct Config {
    pub service: ServiceConfig,
    /// `INVENTORY_CACHE_TTL_SECS`: lifetime of cached catalog reads (default 60).
    pub cache_ttl: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            service: ServiceConfig::from_env()?,
            cache_ttl: Duration::from_secs(var_or("INVENTORY_CACHE_TTL_SECS", 60)?),
        })
    }
}
