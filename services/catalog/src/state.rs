//! What the catalog handlers share.

use inventory_common::{cache::Cache, db::PgPool, read::Db};

use crate::config::Config;

/// What the handlers share.
pub struct CatalogState {
    /// The primary: every write.
    pub pg: PgPool,
    /// Reads (cache fills included), served by a replica when it is fresh enough.
    pub db: Db,
    /// Cache-aside over Redis for every read; a Redis outage degrades to the database.
    pub cache: Cache,
    pub config: Config,
}
