//! What every HTTP service builds at start and the server it runs.

use actix_web::web;
use metrics_exporter_prometheus::PrometheusHandle;

use super::{
    ops::{Readiness, configure},
    request::{RequestSpan, request_context},
};
use crate::{db::PgPool, redis::RedisPool};

/// What every HTTP service builds once at start: pools, the token verifier and the metrics handle.
#[derive(Clone)]
pub struct ServiceContext {
    pub name: &'static str,
    pub config: crate::config::ServiceConfig,
    /// The primary pool (`DATABASE_URL`): writes, and reads that must see the latest state.
    pub pg: PgPool,
    /// The primary and, with `INVENTORY_PG_READ_URL`, the replica's read pool.
    pub db: crate::read::Db,
    pub redis: RedisPool,
    pub verifier: web::Data<crate::auth::JwtVerifier>,
    pub metrics: PrometheusHandle,
    /// The component's own readiness, added to `/readyz`'s checks (the ledger worker's progress).
    pub progress: Option<super::ProgressCheck>,
}

/// A service that could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Key(#[from] crate::auth::KeyError),
    #[error("invalid REDIS_URL: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

impl ServiceContext {
    /// Builds the pools (without connecting) and reads the verification keys, which are required.
    pub fn new(
        name: &'static str,
        config: crate::config::ServiceConfig,
    ) -> Result<Self, StartupError> {
        if config.jwt_public_key_files.is_empty() {
            return Err(crate::config::ConfigError::Missing {
                name: "INVENTORY_JWT_PUBLIC_KEY_FILES".into(),
            }
            .into());
        }
        Self::build(name, config)
    }

    /// Like [`ServiceContext::new`] for a process that serves no authenticated routes (the worker):
    /// keys are optional and, when absent, every token is rejected.
    pub fn without_auth(
        name: &'static str,
        config: crate::config::ServiceConfig,
    ) -> Result<Self, StartupError> {
        Self::build(name, config)
    }

    fn build(
        name: &'static str,
        config: crate::config::ServiceConfig,
    ) -> Result<Self, StartupError> {
        let pg = crate::db::build_pg_pool(
            &config.database_url,
            config.db_pool_size,
            config.db_pool_timeout,
        );
        let redis = crate::redis::build_redis_pool(
            &config.redis_url,
            config.redis_pool_size,
            config.redis_timeout,
        )?;
        let db = crate::read::Db::new(
            pg.clone(),
            redis.clone(),
            crate::read::DbSettings {
                read_url: config.read_url.as_deref(),
                pool_size: config.db_pool_size,
                pool_timeout: config.db_pool_timeout,
                max_lag: config.read_max_lag,
                ryw_ttl: config.ryw_ttl,
                redis_prefix: config.redis_key_prefix.clone(),
                redis_timeout: config.redis_timeout,
            },
        );
        let verifier = crate::auth::JwtVerifier::from_files(
            &config.jwt_public_key_files,
            &config.jwt_issuer,
            &config.jwt_audience,
        )?;
        Ok(Self {
            name,
            config,
            pg,
            db,
            redis,
            verifier: web::Data::new(verifier),
            metrics: crate::metrics::install(),
            progress: None,
        })
    }

    fn readiness(&self) -> Readiness {
        Readiness {
            service: self.name,
            pg: self.pg.clone(),
            redis: self.redis.clone(),
            metrics: self.metrics.clone(),
            progress: self.progress.clone(),
        }
    }
}

/// A bound, not yet running, HTTP server.
pub struct Server {
    pub port: u16,
    pub server: actix_web::dev::Server,
}

/// Binds the configured address and builds the HTTP server with the shared middleware, the operator
/// routes, and `routes` (the service's own). SIGTERM stops accepting and lets in-flight requests finish
/// within the configured shutdown timeout.
pub fn serve<F>(ctx: &ServiceContext, routes: F) -> Result<Server, StartupError>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let listener = std::net::TcpListener::bind(ctx.config.bind_address())?;
    let port = listener.local_addr()?.port();
    let readiness = ctx.readiness();
    let verifier = ctx.verifier.clone();
    let db = web::Data::new(ctx.db.clone());
    let limits = crate::rate_limit::limiter(
        crate::rate_limit::ClientKey::user_or_address(
            verifier.clone(),
            ctx.config.trusted_proxies.clone(),
        ),
        ctx.config.rate_limit_per_second,
        ctx.config.rate_limit_burst,
    )
    .map_err(StartupError::Other)?;
    crate::rate_limit::forget_idle_keys(&limits, "service");
    crate::metrics::watch_pools(ctx.pg.clone(), ctx.redis.clone());
    let server = actix_web::HttpServer::new(move || {
        let readiness = readiness.clone();
        actix_web::App::new()
            .wrap(crate::rate_limit::middleware(&limits))
            // Around the limiter (which needs an Unpin inner future); after the handler it still
            // finds the caller the limiter verified in the request's extensions.
            .wrap(actix_web::middleware::from_fn(super::consistency))
            .wrap(tracing_actix_web::TracingLogger::<RequestSpan>::new())
            .wrap(actix_web::middleware::from_fn(request_context))
            .app_data(verifier.clone())
            .app_data(db.clone())
            .configure(routes.clone())
            .configure(move |cfg| configure(cfg, readiness))
    })
    .workers(ctx.config.workers.max(1))
    .shutdown_timeout(ctx.config.shutdown_timeout.as_secs())
    .listen(listener)?
    .run();
    tracing::info!(service = ctx.name, port, "listening");
    Ok(Server { port, server })
}

/// The body of every service's `main`: reads the configuration, builds the server and runs it until
/// SIGTERM/SIGINT. Exit code 2 for bad configuration, 1 for a failed start or run.
pub async fn run<C, F, Fut>(
    config: Result<C, crate::config::ConfigError>,
    build: F,
) -> std::process::ExitCode
where
    F: FnOnce(C) -> Fut,
    Fut: std::future::Future<Output = Result<Server, StartupError>>,
{
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            tracing::error!(error = %e, "invalid configuration");
            return std::process::ExitCode::from(2);
        }
    };
    let server = match build(config).await {
        Ok(server) => server,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return std::process::ExitCode::FAILURE;
        }
    };
    match server.server.await {
        Ok(()) => {
            tracing::info!("stopped");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            std::process::ExitCode::FAILURE
        }
    }
}
