//! Request ids, the per-request access and audit log lines and metrics, and the root tracing span.
//!
//! Nothing a client sends becomes a metric label as is: the method is one of the API's methods or
//! `OTHER`, the route is the matched resource's template (`/products/{id}`) or `unmatched`, and the
//! status is the code the service chose. So every instance has at most
//! 8 methods × (its routes + 1) × the statuses it answers series, whatever clients send. A client's
//! `X-Request-Id` is kept only when short and plain ([`plain_request_id`]); otherwise one is generated.

use std::time::Instant;

use actix_web::{
    Error, FromRequest, HttpMessage, HttpRequest, ResponseError,
    body::{EitherBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::{
        Method, StatusCode,
        header::{self, HeaderName, HeaderValue},
    },
    middleware::Next,
};
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

use crate::ApiError;

/// The request id header, taken from the client (via the gateway) or generated.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id accepted from a client.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// The request id of the current request (set by [`request_context`]).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The trace id (32 hex digits) under which this service records the request: the OpenTelemetry
/// root span's, else the validated `traceparent`'s, else a fresh one. Set by [`RequestSpan`].
#[derive(Debug, Clone)]
pub struct TraceId(pub String);

/// A client's request id when it is short and plain: 1 to [`MAX_REQUEST_ID_LEN`] characters of
/// `[A-Za-z0-9._-]`. Anything else (long, spaces, quotes, control or non-ASCII characters) is not
/// stored or logged; the request gets a generated id instead.
pub fn plain_request_id(value: &str) -> Option<&str> {
    let plain = !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    plain.then_some(value)
}

/// The `method` label of a request: the API's methods by name, anything else `OTHER`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The `route` label of a request: the template of the resource that matched (from the service's
/// own routing table, never the raw path), or `unmatched`.
pub fn route_label(req: &HttpRequest) -> String {
    req.match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned())
}

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
        .and_then(plain_request_id)
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

impl FromRequest for TraceId {
    type Error = ApiError;
    type Future = futures_util::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        futures_util::future::ready(Ok(trace_id_of_request(req)))
    }
}

/// What an audit record names its request by: the request id and the service's trace id.
#[derive(Debug, Clone)]
pub struct AuditIds {
    pub request_id: String,
    /// 32 lower-case hex digits, or empty when the request has no trace id.
    pub trace_id: String,
}

impl AuditIds {
    /// The trace id, when there is one.
    pub fn trace_id(&self) -> Option<&str> {
        (!self.trace_id.is_empty()).then_some(self.trace_id.as_str())
    }
}

impl FromRequest for AuditIds {
    type Error = ApiError;
    type Future = futures_util::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request_id = match RequestId::from_request(req, payload).into_inner() {
            Ok(id) => id.0,
            Err(e) => return futures_util::future::ready(Err(e)),
        };
        futures_util::future::ready(Ok(AuditIds {
            request_id,
            trace_id: trace_id_of_request(req).0,
        }))
    }
}

/// The request's [`TraceId`]: the one the root span chose, else the `traceparent`'s, else "".
fn trace_id_of_request(req: &HttpRequest) -> TraceId {
    req.extensions()
        .get::<TraceId>()
        .cloned()
        .unwrap_or_else(|| {
            TraceId(
                trace_id_of(
                    req.headers()
                        .get("traceparent")
                        .and_then(|v| v.to_str().ok()),
                )
                .to_owned(),
            )
        })
}

/// Outermost middleware: makes sure the request has an id (echoed on the response), logs one line per
/// request and records the request metrics.
pub async fn request_context(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = request_id_of(req.request());
    if let Ok(value) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = method_label(req.method());
    let path = req.path().to_owned();
    let mut res = as_problem(next.call(req).await?);
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    let route = route_label(res.request());
    let TraceId(trace_id) = trace_id_of_request(res.request());
    metrics::counter!("http_requests_total", "method" => method, "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route.clone()).record(elapsed.as_secs_f64());
    tracing::info!(
        http.method = method,
        http.path = %path,
        http.status = status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        request_id = %id,
        trace_id,
        "request"
    );
    if matches!(method, "POST" | "PUT" | "PATCH" | "DELETE") {
        audit(&res, &format!("{method} {route}"), status, &id, &trace_id);
    }
    Ok(res)
}

/// actix answers a method a resource lacks with an empty 405 (with `Allow`): give it the
/// problem+json body every other error has.
fn as_problem<B>(res: ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> {
    if res.status() != StatusCode::METHOD_NOT_ALLOWED
        || res.headers().contains_key(header::CONTENT_TYPE)
    {
        return res.map_into_left_body();
    }
    let allow = res
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (req, _) = res.into_parts();
    let detail = format!(
        "{} is not allowed on {}; allowed: {allow}",
        req.method(),
        req.path()
    );
    let response = ApiError::MethodNotAllowed { detail, allow }.error_response();
    ServiceResponse::new(req, response).map_into_right_body()
}

/// The trace id the service records `span` under: OpenTelemetry's (when traces are exported), else
/// the well-formed `traceparent`'s, else a fresh random one.
fn server_trace_id(span: &tracing::Span, traceparent: Option<&str>) -> String {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    let context = span.context();
    let otel = context.span().span_context().clone();
    if otel.is_valid() {
        return format!("{:032x}", otel.trace_id());
    }
    match trace_id_of(traceparent) {
        "" => uuid::Uuid::new_v4().simple().to_string(),
        id => id.to_owned(),
    }
}

/// The trace id of a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`), or "" without one.
fn trace_id_of(traceparent: Option<&str>) -> &str {
    traceparent
        .and_then(|tp| tp.split('-').nth(1))
        .filter(|id| {
            id.len() == 32
                && id.bytes().all(|b| b.is_ascii_hexdigit())
                && id.bytes().any(|b| b != b'0')
        })
        .unwrap_or_default()
}

/// One structured audit record per mutating request: who (user and role, when authenticated), what
/// (method and route template), on what (the path's ids and store), the request id, the server's
/// trace id and the outcome.
fn audit<B>(res: &ServiceResponse<B>, action: &str, status: u16, request_id: &str, trace_id: &str) {
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
        action,
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
        // `request_context` (outside this middleware) has already replaced a bad id.
        let request_id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let span = tracing_actix_web::root_span!(request, request_id = %request_id, user_id = tracing::field::Empty);
        let trace_id = server_trace_id(
            &span,
            request
                .headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok()),
        );
        request.extensions_mut().insert(TraceId(trace_id));
        span
    }

    fn on_request_end<B: MessageBody>(
        span: tracing::Span,
        outcome: &Result<ServiceResponse<B>, Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests;
