//! What the catalog handlers share.

use inventory_common::{cache::Cache, db::PgPool};

use crate::config::Config;

/// What the handlers share.
pub struct CatalogState {
    pub pg: PgPool,
    /// Cache-aside over Redis for every read; a Redis outage degrades to the database.
    pub cache: Cache,
    pub config: Config,
}
