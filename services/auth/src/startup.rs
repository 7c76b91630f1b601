//! Builds the auth application; used by `main` and by the tests.

use actix_web::web;
use inventory_common::{
    auth::JwtSigner,
    rate_limit::{self, AttemptLimiter, ClientKey},
    web::{ServiceContext, StartupError},
};

use crate::{config::Config, state::AuthState};

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
    let credential_limits = rate_limit::limiter_every(
        ClientKey::address(config.service.trusted_proxies.clone()),
        std::time::Duration::from_secs(60) / config.credential_rate_per_minute.max(1),
        config.credential_rate_burst,
    )
    .map_err(StartupError::Other)?;
    rate_limit::forget_idle_keys(&credential_limits, "credentials");
    let login_failures = AttemptLimiter::per_minute(
        config.login_attempts_per_minute,
        config.login_attempts_per_minute.div_ceil(2),
    )
    .map_err(StartupError::Other)?;
    let state = web::Data::new(AuthState {
        pg: ctx.pg.clone(),
        signer,
        config,
        dummy_hash,
        login_failures,
    });
    forget_idle_failures(state.clone());
    inventory_common::web::serve(&ctx, move |cfg| {
        cfg.app_data(state.clone());
        crate::routes::config(cfg, &credential_limits);
    })
}

/// Every [`rate_limit::SWEEP_PERIOD`], forgets the (username, address) pairs back to a full
/// allowance and publishes how many remain as `rate_limiter_keys{limiter="login_failures"}`.
fn forget_idle_failures(state: web::Data<AuthState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(rate_limit::SWEEP_PERIOD);
        loop {
            tick.tick().await;
            let kept = state.login_failures.forget_idle();
            metrics::gauge!("rate_limiter_keys", "limiter" => "login_failures").set(kept as f64);
        }
    });
}
