//! The operator routes (`/healthz`, `/readyz`, `/metrics`), the extractor error handlers and the
//! problem+json 404 for unknown routes.

use std::time::Duration;

use actix_web::{Error, HttpRequest, HttpResponse, ResponseError, web};
use diesel_async::RunQueryDsl;
use metrics_exporter_prometheus::PrometheusHandle;

use super::json::MAX_BODY_BYTES;
use crate::{ApiError, db::PgPool, redis::RedisPool};

fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> Error {
    ApiError::field("path", format!("invalid path parameter: {err}")).into()
}

fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> Error {
    let text = err.to_string();
    let field = text.split('`').nth(1).unwrap_or("query").to_owned();
    ApiError::field(field, format!("invalid query string: {text}")).into()
}

/// Answers every unknown route with a problem+json 404. (A known path with another method is
/// answered 405 by its resource, rendered as a problem by the request middleware.)
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    ApiError::NotFound(format!("no route for {} {}", req.method(), req.path())).error_response()
}

/// A component's own readiness: what keeps it from making progress right now (empty when nothing).
pub type ProgressCheck = std::sync::Arc<dyn Fn() -> Vec<String> + Send + Sync>;

/// What `/readyz` checks: PostgreSQL and Redis answer, and the component's [`ProgressCheck`] (the
/// ledger worker's: no persistent error, its backlog moves) reports no problem.
#[derive(Clone)]
pub struct Readiness {
    pub service: &'static str,
    pub pg: PgPool,
    pub redis: RedisPool,
    pub metrics: PrometheusHandle,
    pub progress: Option<ProgressCheck>,
}

/// Registers the shared extractor settings, the operator routes and the 404 fallback.
pub fn configure(cfg: &mut web::ServiceConfig, readiness: Readiness) {
    cfg.app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .app_data(web::Data::new(readiness))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .default_service(web::to(not_found));
}

async fn healthz(r: web::Data<Readiness>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok", "service": r.service }))
}

async fn readyz(r: web::Data<Readiness>) -> HttpResponse {
    let (pg, redis) = futures_util::future::join(check_pg(&r.pg), check_redis(&r.redis)).await;
    let mut problems: Vec<String> = [("postgres", &pg), ("redis", &redis)]
        .iter()
        .filter_map(|(name, check)| check.as_ref().err().map(|e| format!("{name}: {e}")))
        .collect();
    let progress = r.progress.as_ref().map(|check| check()).unwrap_or_default();
    problems.extend(progress.iter().cloned());
    let mut checks = serde_json::json!({
        "postgres": pg.err().unwrap_or_else(|| "ok".into()),
        "redis": redis.err().unwrap_or_else(|| "ok".into()),
    });
    if r.progress.is_some() {
        checks["progress"] = if progress.is_empty() {
            "ok".into()
        } else {
            progress.into()
        };
    }
    if problems.is_empty() {
        HttpResponse::Ok()
            .json(serde_json::json!({ "status": "ready", "service": r.service, "checks": checks }))
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("application/problem+json")
            .json(serde_json::json!({
                "type": "https://inventory.dev/problems/not-ready",
                "title": "Service not ready",
                "status": 503,
                "detail": format!("not ready: {}", problems.join("; ")),
                "checks": checks,
            }))
    }
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `Ok` when PostgreSQL answers `SELECT 1` in time.
pub async fn check_pg(pool: &PgPool) -> Result<(), String> {
    let probe = async {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    };
    tokio::time::timeout(CHECK_TIMEOUT, probe)
        .await
        .unwrap_or_else(|_| Err("timed out".into()))
}

/// `Ok` when Redis answers `PING` in time.
pub async fn check_redis(pool: &RedisPool) -> Result<(), String> {
    let probe = async {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        redis::cmd("PING")
            .query_async::<String>(&mut *conn)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    };
    tokio::time::timeout(CHECK_TIMEOUT, probe)
        .await
        .unwrap_or_else(|_| Err("timed out".into()))
}

async fn metrics(r: web::Data<Readiness>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(r.metrics.render())
}
