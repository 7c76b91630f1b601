//! What the stock handlers share, and the one thing every write does after its commit.

use std::sync::Arc;

use inventory_common::{
    cache::Cache,
    db::PgPool,
    read::{Committed, Db, Lsn},
    redis::RedisPool,
};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::config::Config;

/// What the handlers share.
pub struct StockState {
    /// The primary: every write, the reads inside it, idempotency lookups, the outbox relay.
    pub pg: PgPool,
    /// Level pages, movement history and reports, served by a replica when it is fresh enough.
    pub db: Db,
    pub redis: RedisPool,
    pub cache: Cache,
    pub config: Config,
    /// Wakes this instance's outbox relay.
    pub relay: Arc<Notify>,
    /// The line of each level's changes in this instance.
    pub turns: crate::commands::Turns,
}

impl StockState {
    /// The cache key of a store's stock reads (one definition, shared with the catalog).
    pub fn store_key(store_id: Uuid) -> String {
        inventory_common::cache::stock_store_key(store_id)
    }

    /// After a commit by `writer` (whose position `position` is, with a replica): wakes the relay,
    /// drops the cached reads of the changed stores and, in the same round trip to Redis,
    /// remembers the position as the writer's last write. Returns what the response tells the
    /// consistency middleware.
    pub async fn committed(
        &self,
        stores: &[Uuid],
        writer: Uuid,
        position: Option<Lsn>,
    ) -> Option<Committed> {
        self.relay.notify_one();
        let mut keys: Vec<String> = stores.iter().map(|s| Self::store_key(*s)).collect();
        keys.sort();
        keys.dedup();
        self.cache.written(&keys, writer, position).await
    }
}
