//! The auth service's settings (shared ones in [`ServiceConfig`]).

use inventory_common::config::{ConfigError, ServiceConfig, optional, required, var_or};

#[derive(Debug, Clone)]
pub struct Config {
    pub service: ServiceConfig,
    /// `INVENTORY_JWT_PRIVATE_KEY_FILE`: the Ed25519 PEM key that signs access tokens.
    pub private_key_file: String,
    /// `INVENTORY_ACCESS_TOKEN_TTL_SECS` (default 900).
    pub access_ttl_secs: i64,
    /// `INVENTORY_REFRESH_TOKEN_TTL_SECS` (default 30 days).
    pub refresh_ttl_secs: i64,
    /// `INVENTORY_BCRYPT_COST` (default 12; 4..=31).
    pub bcrypt_cost: u32,
    /// `INVENTORY_AUTH_RATE_LIMIT_PER_MINUTE`: login and register requests per client address per
    /// minute (default 30), on top of the service-wide limit.
    pub credential_rate_per_minute: u32,
    /// `INVENTORY_AUTH_RATE_LIMIT_BURST` (default 10).
    pub credential_rate_burst: u32,
    /// `INVENTORY_LOGIN_ATTEMPTS_PER_MINUTE`: failed logins per (username, client address) per
    /// minute (default 10; burst half of it). Successful logins and other addresses are not counted.
    pub login_attempts_per_minute: u32,
    /// `INVENTORY_ADMIN_USERNAME` (default `admin`).
    pub admin_username: String,
    /// `INVENTORY_ADMIN_PASSWORD`: creates the first admin when set and missing.
    pub admin_password: Option<String>,
    /// `INVENTORY_REGISTRATION`: who may `POST /auth/register` (default `open`).
    pub registration: Registration,
}

/// Who may register users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Registration {
    /// Anyone (rate-limited): the new user is a clerk without stores, so sees only the catalog.
    #[default]
    Open,
    /// Only an admin, with an admin's access token (401 without a token, 403 for anyone else).
    Admin,
}

impl std::str::FromStr for Registration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(Registration::Open),
            "admin" => Ok(Registration::Admin),
            other => Err(format!("`{other}`: expected open or admin")),
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let bcrypt_cost = var_or("INVENTORY_BCRYPT_COST", 12u32)?;
        if !(4..=31).contains(&bcrypt_cost) {
            return Err(ConfigError::Invalid {
                name: "INVENTORY_BCRYPT_COST".into(),
                reason: "must be 4..=31".into(),
            });
        }
        Ok(Self {
            service: ServiceConfig::from_env()?,
            private_key_file: required("INVENTORY_JWT_PRIVATE_KEY_FILE")?,
            access_ttl_secs: var_or("INVENTORY_ACCESS_TOKEN_TTL_SECS", 900)?,
            refresh_ttl_secs: var_or("INVENTORY_REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            bcrypt_cost,
            credential_rate_per_minute: var_or("INVENTORY_AUTH_RATE_LIMIT_PER_MINUTE", 30)?,
            credential_rate_burst: var_or("INVENTORY_AUTH_RATE_LIMIT_BURST", 10)?,
            login_attempts_per_minute: var_or("INVENTORY_LOGIN_ATTEMPTS_PER_MINUTE", 10)?,
            admin_username: var_or("INVENTORY_ADMIN_USERNAME", "admin".to_owned())?,
            admin_password: optional("INVENTORY_ADMIN_PASSWORD")?,
            registration: var_or("INVENTORY_REGISTRATION", Registration::Open)?,
        })
    }
}
