//! What the auth handlers share.

use inventory_common::{auth::JwtSigner, db::PgPool, rate_limit::AttemptLimiter};

use crate::config::Config;

/// What the handlers share.
pub struct AuthState {
    pub pg: PgPool,
    pub signer: JwtSigner,
    pub config: Config,
    /// A hash of nothing, checked for unknown users so that their login takes as long as a wrong password.
    pub dummy_hash: String,
    /// Failed logins per (username, client address).
    pub login_failures: AttemptLimiter,
}
