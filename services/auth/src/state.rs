//! What the auth handlers share.

use inventory_common::{auth::JwtSigner, db::PgPool, rate_limit::AttemptLimiter, read::Db};

use crate::config::Config;

/// What the handlers share.
pub struct AuthState {
    /// The primary: logins, tokens and every write (a login must see the latest password and role).
    pub pg: PgPool,
    /// Reads that may be served by a replica (the user list, `/auth/me`), read-your-writes kept.
    pub db: Db,
    pub signer: JwtSigner,
    pub config: Config,
    /// A hash of nothing, checked for unknown users so that their login takes as long as a wrong password.
    pub dummy_hash: String,
    /// Failed logins per (username, client address).
    pub login_failures: AttemptLimiter,
}
