//! Builds the catalog application; used by `main` and by the tests.

use actix_web::web;
use inventory_common::{
    db::PgPool,
    redis::RedisPool,
    web::{ServiceContext, StartupError},
};

use crate::config::Config;

/// What the handlers share.
pub struct CatalogState {
    pub pg: PgPool,
    pub redis: RedisPool,
    pub config: Config,
}

pub async fn build(config: Config) -> Result<inventory_common::web::Server, StartupError> {
    let ctx = ServiceContext::new("catalog", config.service.clone())?;
    let state = web::Data::new(CatalogState {
        pg: ctx.pg.clone(),
        redis: ctx.redis.clone(),
        config,
    });
    inventory_common::web::serve(&ctx, move |cfg| {
        cfg.app_data(state.clone());
        crate::routes::config(cfg);
    })
}
