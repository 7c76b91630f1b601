//! Builds the auth application; used by `main` and by the tests.

use actix_web::web;
use inventory_common::{
    auth::JwtSigner,
    db::PgPool,
    web::{ServiceContext, StartupError},
};

use crate::config::Config;

/// What the handlers share.
pub struct AuthState {
    pub pg: PgPool,
    pub signer: JwtSigner,
    pub config: Config,
    /// A hash of nothing, checked for unknown users so that their login takes as long as a wrong password.
    pub dummy_hash: String,
}

/// Builds the pools, creates the first admin when configured, and binds the server.
pub async fn build(config: Config) -> Result<inventory_common::web::Server, StartupError> {
    let ctx = ServiceContext::new("auth", config.service.clone())?;
    let signer = JwtSigner::from_key_files(
        &config.private_key_file,
        &config.service.jwt_public_key_files,
        &config.service.jwt_issuer,
        &config.service.jwt_audience,
    )?;
    let dummy_hash = crate::password::hash("not a real password".into(), config.bcrypt_cost)
        .await
        .map_err(|e| StartupError::Other(e.to_string()))?;
    crate::bootstrap::ensure_admin(&ctx.pg, &config).await;
    let state = web::Data::new(AuthState {
        pg: ctx.pg.clone(),
        signer,
        config,
        dummy_hash,
    });
    inventory_common::web::serve(&ctx, move |cfg| {
        cfg.app_data(state.clone());
        crate::routes::config(cfg);
    })
}
