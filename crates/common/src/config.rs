//! Typed configuration read from environment variables. Every variable is documented in the README's
//! configuration table; a malformed value stops the process at start with the variable's name.

use std::{fmt::Display, net::IpAddr, str::FromStr, time::Duration};

/// A configuration value that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is required")]
    Missing { name: String },
    #[error("environment variable {name} has an invalid value: {reason}")]
    Invalid { name: String, reason: String },
}

/// Reads `name`, or `default` when it is unset or empty.
pub fn var_or<T>(name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    match std::env::var(name) {
        Ok(raw) if !raw.trim().is_empty() => parse(name, raw.trim()),
        _ => Ok(default),
    }
}

/// Reads `name`, which must be set.
pub fn required<T>(name: &str) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    match std::env::var(name) {
        Ok(raw) if !raw.trim().is_empty() => parse(name, raw.trim()),
        _ => Err(ConfigError::Missing {
            name: name.to_owned(),
        }),
    }
}

/// Reads `name` if it is set.
pub fn optional<T>(name: &str) -> Result<Option<T>, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    match std::env::var(name) {
        Ok(raw) if !raw.trim().is_empty() => parse(name, raw.trim()).map(Some),
        _ => Ok(None),
    }
}

fn parse<T>(name: &str, raw: &str) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    raw.parse().map_err(|e: T::Err| ConfigError::Invalid {
        name: name.to_owned(),
        reason: e.to_string(),
    })
}

/// Reads a number that must not be 0 (pool sizes, timeouts, limits), or `default` when unset.
fn positive<T>(name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr + Default + PartialEq,
    T::Err: Display,
{
    let value = var_or(name, default)?;
    if value == T::default() {
        return Err(ConfigError::Invalid {
            name: name.to_owned(),
            reason: "must be at least 1".into(),
        });
    }
    Ok(value)
}

/// Reads a comma-separated list, or `default` when unset.
pub fn parse_list<T>(name: &str, default: &str) -> Result<Vec<T>, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    let raw: String = var_or(name, default.to_owned())?;
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| parse(name, item))
        .collect()
}

/// An address block (`10.0.0.0/8`, `127.0.0.1`, `::1/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in this block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not an address or address/prefix"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("bad prefix length in `{s}`"))?,
        };
        Ok(Self { addr, prefix })
    }
}

/// Settings every HTTP service shares.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// `INVENTORY_HOST`: address to bind (default 127.0.0.1).
    pub host: String,
    /// `INVENTORY_PORT`: port to bind; 0 picks a free one.
    pub port: u16,
    /// `INVENTORY_HTTP_WORKERS`: actix worker threads per instance.
    pub workers: usize,
    /// `INVENTORY_SHUTDOWN_TIMEOUT_SECS`: how long in-flight requests get after SIGTERM.
    pub shutdown_timeout: Duration,
    /// `DATABASE_URL`: this service's own PostgreSQL role.
    pub database_url: String,
    /// `INVENTORY_DB_POOL_SIZE`.
    pub db_pool_size: u32,
    /// `INVENTORY_DB_POOL_TIMEOUT_MS`: waiting longer for a connection answers 503.
    pub db_pool_timeout: Duration,
    /// `INVENTORY_PG_READ_URL`: a streaming replica (or a reader endpoint) for reads that may lag;
    /// `None`: every read uses `DATABASE_URL`.
    pub read_url: Option<String>,
    /// `INVENTORY_PG_READ_MAX_LAG_MS`: a replica further behind is bypassed until it catches up.
    pub read_max_lag: Duration,
    /// `INVENTORY_PG_RYW_TTL_MS`: how long a user's last write position is kept for their reads.
    pub ryw_ttl: Duration,
    /// `REDIS_URL`.
    pub redis_url: String,
    /// `REDIS_STREAM_URL`: the Redis holding the stock event stream (the outbox relay publishes to
    /// it, the ledger consumes it); default `REDIS_URL`. A deployment can keep the stream on a Redis
    /// that never evicts while caches and limiters use another. `None`: the stream is on `REDIS_URL`.
    pub redis_stream_url: Option<String>,
    /// `INVENTORY_REDIS_POOL_SIZE`.
    pub redis_pool_size: u32,
    /// `INVENTORY_REDIS_TIMEOUT_MS`: a Redis call slower than this is treated as an outage.
    pub redis_timeout: Duration,
    /// `INVENTORY_REDIS_KEY_PREFIX`: prepended to every Redis key and stream name (isolates tenants
    /// of one Redis, and tests).
    pub redis_key_prefix: String,
    /// `INVENTORY_RATE_LIMIT_PER_SECOND`: sustained requests per second per client (user or address).
    pub rate_limit_per_second: u32,
    /// `INVENTORY_RATE_LIMIT_BURST`: requests a client may make at once above the sustained rate.
    pub rate_limit_burst: u32,
    /// `INVENTORY_TRUSTED_PROXIES`: comma-separated addresses whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `INVENTORY_JWT_PUBLIC_KEY_FILES`: comma-separated PEM files of the keys that verify access tokens.
    pub jwt_public_key_files: Vec<String>,
    /// `INVENTORY_JWT_ISSUER`.
    pub jwt_issuer: String,
    /// `INVENTORY_JWT_AUDIENCE`.
    pub jwt_audience: String,
}

impl ServiceConfig {
    /// Reads the shared settings from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let key_files: String = var_or("INVENTORY_JWT_PUBLIC_KEY_FILES", String::new())?;
        Ok(Self {
            host: var_or("INVENTORY_HOST", "127.0.0.1".to_owned())?,
            port: var_or("INVENTORY_PORT", 0)?,
            workers: positive("INVENTORY_HTTP_WORKERS", 2usize)?,
            shutdown_timeout: Duration::from_secs(var_or("INVENTORY_SHUTDOWN_TIMEOUT_SECS", 30)?),
            database_url: required("DATABASE_URL")?,
            db_pool_size: positive("INVENTORY_DB_POOL_SIZE", 16u32)?,
            db_pool_timeout: Duration::from_millis(positive(
                "INVENTORY_DB_POOL_TIMEOUT_MS",
                2_000u64,
            )?),
            read_url: optional("INVENTORY_PG_READ_URL")?,
            read_max_lag: Duration::from_millis(var_or("INVENTORY_PG_READ_MAX_LAG_MS", 1_000u64)?),
            ryw_ttl: Duration::from_millis(positive("INVENTORY_PG_RYW_TTL_MS", 10_000u64)?),
            redis_url: var_or("REDIS_URL", "redis://127.0.0.1:6379".to_owned())?,
            redis_stream_url: std::env::var("REDIS_STREAM_URL")
                .ok()
                .filter(|url| !url.trim().is_empty()),
            redis_pool_size: positive("INVENTORY_REDIS_POOL_SIZE", 16u32)?,
            redis_timeout: Duration::from_millis(positive("INVENTORY_REDIS_TIMEOUT_MS", 250u64)?),
            rate_limit_per_second: positive("INVENTORY_RATE_LIMIT_PER_SECOND", 100u32)?,
            rate_limit_burst: positive("INVENTORY_RATE_LIMIT_BURST", 200u32)?,
            trusted_proxies: parse_list("INVENTORY_TRUSTED_PROXIES", "127.0.0.1,::1")?,
            redis_key_prefix: var_or("INVENTORY_REDIS_KEY_PREFIX", String::new())?,
            jwt_public_key_files: key_files
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            jwt_issuer: var_or("INVENTORY_JWT_ISSUER", "inventory-auth".to_owned())?,
            jwt_audience: var_or("INVENTORY_JWT_AUDIENCE", "inventory".to_owned())?,
        })
    }

    /// The URL of the Redis holding the event stream (`REDIS_STREAM_URL`, else `REDIS_URL`).
    pub fn stream_url(&self) -> &str {
        self.redis_stream_url.as_deref().unwrap_or(&self.redis_url)
    }

    /// `name` with the Redis key prefix.
    pub fn redis_key(&self, name: &str) -> String {
        format!("{}{}", self.redis_key_prefix, name)
    }

    /// The `host:port` to bind.
    pub fn bind_address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_blocks() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(net.contains("10.1.2.3".parse().unwrap_or_else(|e| panic!("{e}"))));
        assert!(!net.contains("11.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))));
        let one: IpNet = "127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(one.contains("127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))));
        assert!(!one.contains("127.0.0.2".parse().unwrap_or_else(|e| panic!("{e}"))));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("nonsense".parse::<IpNet>().is_err());
        let any: IpNet = "0.0.0.0/0".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(any.contains("8.8.8.8".parse().unwrap_or_else(|e| panic!("{e}"))));
    }
}
