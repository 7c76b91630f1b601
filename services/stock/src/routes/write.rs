//! What every write endpoint shares: the request's idempotency key and trace context, the
//! transaction, and the work after commit (relay wake-up, cache invalidation).

use std::future::{Ready, ready};

use actix_web::{
    FromRequest, HttpMessage, HttpRequest, HttpResponse, dev::Payload, http::StatusCode, web,
};
use inventory_common::{
    ApiError,
    auth::Caller,
    web::{RequestId, with_committed},
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{
    commands::{self, Actor, Command, Idempotency, Outcome, Reply},
    domain::{IDEMPOTENCY_KEY_HEADER, IdempotencyKey, TraceContext},
    state::StockState,
};

/// The header marking a response replayed from an earlier request with the same key.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";

/// The `Idempotency-Key` request header, for the OpenAPI document (read by [`WriteContext`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IdempotencyHeader {
    /// Makes the write safe to retry: a retry with the same key and body answers the first
    /// response (with `Idempotent-Replayed: true`) and changes nothing again. Keys are per user and
    /// kept for a day by default; 1 to 255 visible ASCII characters, optionally in double quotes.
    #[param(
        rename = "Idempotency-Key",
        required = false,
        min_length = 1,
        max_length = 255,
        pattern = "^(?!\"\"$)[!-~]+$",
        example = "4f6c2a7e-receipt-1182"
    )]
    key: String,
}

/// The request-level inputs of a write.
pub struct WriteContext {
    request_id: String,
    key: Option<IdempotencyKey>,
    trace: TraceContext,
    /// `METHOD path`, part of the request's fingerprint.
    target: String,
}

impl FromRequest for WriteContext {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::read(req))
    }
}

impl WriteContext {
    fn read(req: &HttpRequest) -> Result<Self, ApiError> {
        let header = |name: &str| req.headers().get(name).map(|v| v.to_str());
        let key = match header(IDEMPOTENCY_KEY_HEADER) {
            None => None,
            Some(Ok(raw)) => Some(IdempotencyKey::parse(raw)?),
            Some(Err(_)) => {
                return Err(ApiError::field(
                    IDEMPOTENCY_KEY_HEADER,
                    "may contain only visible ASCII characters",
                ));
            }
        };
        let trace = TraceContext::parse(
            header("traceparent").and_then(Result::ok),
            header("tracestate").and_then(Result::ok),
        );
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        Ok(Self {
            request_id,
            key,
            trace,
            target: format!("{} {}", req.method(), req.path()),
        })
    }
}

/// Runs `command` for `caller` and renders its response; `body` is what the client sent, parsed,
/// and is what the idempotency fingerprint covers (so formatting and key order do not matter).
pub async fn perform<B: Serialize>(
    state: &web::Data<StockState>,
    caller: &Caller,
    ctx: WriteContext,
    body: &B,
    command: Command,
) -> Result<HttpResponse, ApiError> {
    let idempotency = match ctx.key {
        Some(key) => Some(Idempotency {
            fingerprint: fingerprint(&ctx.target, body)?,
            key,
            ttl: state.config.idempotency_ttl,
        }),
        None => None,
    };
    let actor = Actor {
        user_id: caller.user_id,
        request_id: ctx.request_id,
        trace: ctx.trace,
    };
    let ran = commands::run(
        &state.db,
        &state.turns,
        caller,
        &actor,
        idempotency.as_ref(),
        &command,
    )
    .await?;
    match ran.outcome {
        Outcome::Fresh(reply) => {
            let committed = state
                .committed(&reply.stores, caller.user_id, ran.position)
                .await;
            Ok(with_committed(respond(reply, false), committed))
        }
        Outcome::Replayed(reply) => Ok(respond(reply, true)),
    }
}

/// What an `Idempotency-Key` is bound to: the target and the parsed body. A body that does not
/// serialise is an error (a 500), never an empty fingerprint that other requests would share.
fn fingerprint<B: Serialize>(target: &str, body: &B) -> Result<String, ApiError> {
    let body = serde_json::to_vec(body).map_err(ApiError::internal)?;
    let mut hash = Sha256::new();
    hash.update(target.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    Ok(format!("{:x}", hash.finalize()))
}

fn respond(reply: Reply, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    if replayed {
        response.insert_header((REPLAYED_HEADER, "true"));
    }
    response.json(reply.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_cover_target_and_body() {
        let fp = |target: &str, body: serde_json::Value| fingerprint(target, &body).ok();
        let a = fp("POST /stock", serde_json::json!({"quantity": 1}));
        assert!(a.is_some());
        assert_eq!(a, fp("POST /stock", serde_json::json!({"quantity": 1})));
        assert_ne!(a, fp("POST /stock", serde_json::json!({"quantity": 2})));
        assert_ne!(
            a,
            fp("POST /stock/movements", serde_json::json!({"quantity": 1}))
        );
    }
}
