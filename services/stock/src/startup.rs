//! Builds the stock application; used by `main` and by the tests.

use std::sync::Arc;

use actix_web::web;
use inventory_common::{
    cache::Cache,
    web::{ServiceContext, StartupError},
};
use inventory_events::STOCK_EVENTS_STREAM;
use tokio::sync::Notify;

use crate::{
    config::Config,
    relay::{self, Relay},
    state::StockState,
};

/// Builds the pools, starts the outbox relay and the idempotency cleanup, and binds the server.
pub async fn build(config: Config) -> Result<inventory_common::web::Server, StartupError> {
    let ctx = ServiceContext::new("stock", config.service.clone())?;
    let wake = Arc::new(Notify::new());
    let relay = Relay {
        pg: relay::pool(&config.service),
        redis: inventory_common::redis::stream_pool(&config.service, &ctx.redis)?,
        stream: config.service.redis_key(STOCK_EVENTS_STREAM),
        batch: config.outbox_batch,
        poll: config.outbox_poll,
        redis_timeout: config.service.redis_timeout * 4,
        wake: wake.clone(),
    };
    let cleanup_every = config.idempotency_cleanup;
    let cache = Cache::new(
        ctx.redis.clone(),
        config.service.redis_key_prefix.clone(),
        config.cache_ttl,
        config.service.redis_timeout,
    )
    .with_positions(&ctx.db);
    let turns = crate::commands::Turns::new(config.service.db_pool_timeout);
    let state = web::Data::new(StockState {
        pg: ctx.pg.clone(),
        db: ctx.db.clone(),
        redis: ctx.redis.clone(),
        cache,
        config,
        relay: wake,
        turns,
    });
    let server = inventory_common::web::serve(&ctx, move |cfg| {
        cfg.app_data(state.clone());
        crate::routes::config(cfg);
    })?;
    relay.spawn();
    crate::commands::register_metrics();
    crate::relay::spawn_idempotency_cleanup(ctx.pg.clone(), cleanup_every);
    Ok(server)
}
