//! Builds the catalog application; used by `main` and by the tests.

use actix_web::web;
use inventory_common::{
    cache::Cache,
    web::{ServiceContext, StartupError},
};

use crate::{config::Config, state::CatalogState};

/// Builds the pools and the cache, and binds the server.
pub async fn build(config: Config) -> Result<inventory_common::web::Server, StartupError> {
    let ctx = ServiceContext::new("catalog", config.service.clone())?;
    let cache = Cache::new(
        ctx.redis.clone(),
        config.service.redis_key_prefix.clone(),
        config.cache_ttl,
        config.service.redis_timeout,
    );
    let state = web::Data::new(CatalogState {
        pg: ctx.pg.clone(),
        cache,
        config,
    });
    inventory_common::web::serve(&ctx, move |cfg| {
        cfg.app_data(state.clone());
        crate::routes::config(cfg);
    })
}
