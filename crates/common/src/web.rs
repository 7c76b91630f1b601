//! actix-web glue shared by every service: problem+json rendering, the JSON body extractor that names
//! the offending field, request ids and access logs, and the operator routes (`/healthz`, `/readyz`,
//! `/metrics`).

use std::time::{Duration, Instant};

use actix_web::{
    Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError,
    body::MessageBody,
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::{
        StatusCode,
        header::{self, HeaderName, HeaderValue},
    },
    middleware::Next,
    web,
};
use diesel_async::RunQueryDsl;
use futures_util::future::LocalBoxFuture;
use metrics_exporter_prometheus::PrometheusHandle;
use serde::de::DeserializeOwned;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

use crate::{ApiError, FieldError, db::PgPool, redis::RedisPool};

/// The request id header, taken from the client (via the gateway) or generated.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The largest JSON body accepted (bytes).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => tracing::error!(error.cause = %cause, "request failed"),
            ApiError::Unavailable(cause) => {
                tracing::warn!(error.cause = %cause, "dependency unavailable")
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            ApiError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::TooManyRequests { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            ApiError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        response.body(self.problem().to_string())
    }
}

/// The request id of the current request (set by [`request_context`]).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl FromRequest for RequestId {
    type Error = ApiError;
    type Future = futures_util::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        futures_util::future::ready(Ok(req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(request_id_of(req)))))
    }
}

fn request_id_of(req: &HttpRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Outermost middleware: makes sure the request has an id (echoed on the response), logs one line per
/// request and records the request metrics.
pub async fn request_context(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    if let Ok(value) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let trace_id = trace_id_of(
        req.headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
    )
    .to_owned();
    let mut res = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method.clone(), "route" => route).record(elapsed.as_secs_f64());
    tracing::info!(
        http.method = %method,
        http.path = %path,
        http.status = status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        request_id = %id,
        trace_id,
        "request"
    );
    if matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") {
        audit(&res, &method, status, &id, &trace_id);
    }
    Ok(res)
}

/// The trace id of a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`), or "" without one.
fn trace_id_of(traceparent: Option<&str>) -> &str {
    traceparent
        .and_then(|tp| tp.split('-').nth(1))
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_default()
}

/// One structured audit record per mutating request: who (user and role, when authenticated), what
/// (method and route), on what (the path's ids and store), the request id and the outcome.
fn audit<B>(res: &ServiceResponse<B>, method: &str, status: u16, request_id: &str, trace_id: &str) {
    let req = res.request();
    let caller = req.extensions().get::<crate::auth::Caller>().cloned();
    let info = req.match_info();
    let store_id = info
        .get("storeId")
        .or_else(|| info.get("store_id"))
        .unwrap_or_default()
        .to_owned();
    // The entity is the id in the path (`/products/{id}`, `/stock/{stock_id}`, ...), when there is one.
    let entity_id = info
        .iter()
        .map(|(_, value)| value)
        .find(|value| uuid::Uuid::parse_str(value).is_ok())
        .unwrap_or_default()
        .to_owned();
    let outcome = match status {
        200..=399 => "success",
        401 | 403 => "denied",
        400..=499 => "rejected",
        _ => "failed",
    };
    tracing::info!(
        target: "audit",
        user_id = caller.as_ref().map(|c| c.user_id.to_string()).unwrap_or_default(),
        role = caller.as_ref().map(|c| c.role.as_str()).unwrap_or_default(),
        action = %format!("{method} {}", req.match_pattern().unwrap_or_else(|| req.path().to_owned())),
        store_id,
        entity_id,
        request_id,
        trace_id,
        status,
        outcome,
        "audit"
    );
}

/// Root span of every request, carrying the request id and (once the token is checked) the user.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let request_id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        tracing_actix_web::root_span!(request, request_id = %request_id, user_id = tracing::field::Empty)
    }

    fn on_request_end<B: MessageBody>(
        span: tracing::Span,
        outcome: &Result<ServiceResponse<B>, Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// A JSON request body, parsed strictly: `Content-Type: application/json`, at most
/// [`MAX_BODY_BYTES`], and every deserialization error reported as a 400 naming the field.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req.mime_type().ok().flatten().is_some_and(|m| {
            m.subtype() == mime_json() || m.suffix().is_some_and(|s| s == mime_json())
        });
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType(
                    "the body must be JSON (Content-Type: application/json)".into(),
                ));
            }
            if declared_len.is_some_and(|len| len > MAX_BODY_BYTES) {
                return Err(too_large());
            }
            let bytes = body.await.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    ApiError::field("body", "the body could not be read")
                }
            })?;
            parse_json(&bytes).map(JsonBody)
        })
    }
}

fn mime_json() -> &'static str {
    "json"
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!("the body is larger than {MAX_BODY_BYTES} bytes"))
}

/// Parses a JSON object into `T`, naming the failing field in the error. Every request body of this
/// API is an object: serde would also accept an array for a struct, which is refused here.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        None => {
            return Err(ApiError::field(
                "body",
                "the body is empty; expected a JSON object",
            ));
        }
        Some(_) => return Err(ApiError::field("body", "expected a JSON object")),
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|err| {
        let path = err.path().to_string();
        json_error(&path, err.into_inner())
    })?;
    de.end().map_err(|e| json_error(".", e))?;
    Ok(value)
}

fn json_error(path: &str, err: serde_json::Error) -> ApiError {
    if err.is_syntax() || err.is_eof() {
        return ApiError::field("body", format!("malformed JSON: {err}"));
    }
    let text = err.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
    // serde names missing and unknown fields in the message, relative to `path`.
    let named = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field") || message.starts_with("unknown field"));
    let field = match (path, named) {
        (".", Some(name)) => name.to_owned(),
        // For an unknown field the path already ends with it; for a missing one it is the parent.
        (p, Some(name)) if p == name || p.ends_with(&format!(".{name}")) => p.to_owned(),
        (p, Some(name)) => format!("{p}.{name}"),
        (".", None) => "body".to_owned(),
        (p, None) => p.to_owned(),
    };
    ApiError::fields(vec![FieldError::new(field, message)])
}

fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> Error {
    ApiError::field("path", format!("invalid path parameter: {err}")).into()
}

fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> Error {
    let text = err.to_string();
    let field = text.split('`').nth(1).unwrap_or("query").to_owned();
    ApiError::field(field, format!("invalid query string: {text}")).into()
}

/// Answers every unknown route with a problem+json 404.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    ApiError::NotFound(format!("no route for {} {}", req.method(), req.path())).error_response()
}

/// What `/readyz` checks.
#[derive(Clone)]
pub struct Readiness {
    pub service: &'static str,
    pub pg: PgPool,
    pub redis: RedisPool,
    pub metrics: PrometheusHandle,
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
    let failed: Vec<&str> = [("postgres", &pg), ("redis", &redis)]
        .iter()
        .filter(|(_, ok)| ok.is_err())
        .map(|(name, _)| *name)
        .collect();
    let checks = serde_json::json!({
        "postgres": pg.err().unwrap_or_else(|| "ok".into()),
        "redis": redis.err().unwrap_or_else(|| "ok".into()),
    });
    if failed.is_empty() {
        HttpResponse::Ok()
            .json(serde_json::json!({ "status": "ready", "service": r.service, "checks": checks }))
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("application/problem+json")
            .json(serde_json::json!({
                "type": "https://inventory.dev/problems/not-ready",
                "title": "Service not ready",
                "status": 503,
                "detail": format!("unavailable: {}", failed.join(", ")),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Line {
        quantity: i64,
        note: Option<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Batch {
        movements: Vec<Line>,
    }

    fn field_of(body: &str) -> String {
        match parse_json::<Batch>(body.as_bytes()) {
            Err(ApiError::BadRequest { errors, .. }) => errors[0].field.clone(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn names_the_nested_field_of_a_wrong_type() {
        assert_eq!(
            field_of(r#"{"movements":[{"quantity":1},{"quantity":"2"}]}"#),
            "movements[1].quantity"
        );
    }

    #[test]
    fn names_missing_and_unknown_fields() {
        assert_eq!(field_of(r#"{}"#), "movements");
        assert_eq!(field_of(r#"{"movements":[{}]}"#), "movements[0].quantity");
        assert_eq!(field_of(r#"{"movements":[],"admin":true}"#), "admin");
    }

    #[test]
    fn trace_ids_come_from_a_well_formed_traceparent() {
        assert_eq!(
            trace_id_of(Some(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            )),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(trace_id_of(Some("00-nothex-00f067aa0ba902b7-01")), "");
        assert_eq!(trace_id_of(None), "");
    }

    #[test]
    fn only_objects_are_bodies() {
        assert_eq!(field_of(r#"[[{"quantity":1,"note":null}]]"#), "body");
        assert_eq!(field_of("  "), "body");
        assert_eq!(field_of("42"), "body");
    }

    #[test]
    fn malformed_json_names_the_body() {
        assert_eq!(field_of(r#"{"movements":"#), "body");
        assert_eq!(field_of(r#"{"movements":[]} trailing"#), "body");
    }
}

/// What every HTTP service builds once at start: pools, the token verifier and the metrics handle.
#[derive(Clone)]
pub struct ServiceContext {
    pub name: &'static str,
    pub config: crate::config::ServiceConfig,
    pub pg: PgPool,
    pub redis: RedisPool,
    pub verifier: web::Data<crate::auth::JwtVerifier>,
    pub metrics: PrometheusHandle,
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
        let verifier = crate::auth::JwtVerifier::from_files(
            &config.jwt_public_key_files,
            &config.jwt_issuer,
            &config.jwt_audience,
        )?;
        Ok(Self {
            name,
            config,
            pg,
            redis,
            verifier: web::Data::new(verifier),
            metrics: crate::metrics::install(),
        })
    }

    fn readiness(&self) -> Readiness {
        Readiness {
            service: self.name,
            pg: self.pg.clone(),
            redis: self.redis.clone(),
            metrics: self.metrics.clone(),
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
    let limits = crate::rate_limit::limiter(
        crate::rate_limit::ClientKey::user_or_address(
            verifier.clone(),
            ctx.config.trusted_proxies.clone(),
        ),
        ctx.config.rate_limit_per_second,
        ctx.config.rate_limit_burst,
    )
    .map_err(StartupError::Other)?;
    crate::metrics::watch_pools(ctx.pg.clone(), ctx.redis.clone());
    let server = actix_web::HttpServer::new(move || {
        let readiness = readiness.clone();
        actix_web::App::new()
            .wrap(crate::rate_limit::middleware(&limits))
            .wrap(tracing_actix_web::TracingLogger::<RequestSpan>::new())
            .wrap(actix_web::middleware::from_fn(request_context))
            .app_data(verifier.clone())
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
