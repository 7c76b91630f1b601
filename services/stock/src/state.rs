//! What the stock handlers share, and the one thing every write does after its commit.

use std::sync::Arc;

use inventory_common::{cache::Cache, db::PgPool, redis::RedisPool};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::config::Config;

/// What the handlers share.
pub struct StockState {
    pub pg: PgPool,
    pub redis: RedisPool,
    pub cache: Cache,
    pub config: Config,
    /// Wakes this instance's outbox relay.
    pub relay: Arc<Notify>,
}

impl StockState {
    /// The cache key of a store's stock reads (one definition, shared with the catalog).
    pub fn store_key(store_id: Uuid) -> String {
        inventory_common::cache::stock_store_key(store_id)
    }

    /// After a commit: wakes the relay and drops the cached reads of the changed stores.
    pub async fn committed(&self, stores: &[Uuid]) {
        self.relay.notify_one();
        let mut keys: Vec<String> = stores.iter().map(|s| Self::store_key(*s)).collect();
        keys.sort();
        keys.dedup();
        self.cache.invalidate(&keys).await;
    }
}
