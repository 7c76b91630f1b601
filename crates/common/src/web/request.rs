//! Request ids, the per-request access and audit log lines and metrics, and the root tracing span.

use std::time::Instant;

use actix_web::{
    Error, FromRequest, HttpMessage, HttpRequest, ResponseError,
    body::{EitherBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::{
        StatusCode,
        header::{self, HeaderName, HeaderValue},
    },
    middleware::Next,
};
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

use crate::ApiError;

/// The request id header, taken from the client (via the gateway) or generated.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
    let mut res = as_problem(next.call(req).await?);
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
