//! The HTTP side of read-your-writes (see [`crate::read`]).
//!
//! * With a read replica (`INVENTORY_PG_READ_URL`), every successful write (POST, PUT, PATCH,
//!   DELETE answered 2xx) answers with a `Consistency-Token` header: the primary's WAL position after its commit. A later read that sends
//!   the token back, from any client, sees at least that state.
//! * The writer's own later reads need no token: the position is remembered for the caller (when a
//!   replica serves reads), whichever instance serves either request.
//! * A malformed `Consistency-Token` on any request is a 400 problem+json naming the header.

use actix_web::{
    FromRequest, HttpMessage, HttpRequest, HttpResponse,
    body::MessageBody,
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::{Method, header::HeaderValue},
    middleware::Next,
    web,
};
use futures_util::future::{Ready, ready};
use uuid::Uuid;

use crate::{
    ApiError,
    auth::{Caller, VerifiedClaims},
    read::{Committed, Db, Freshness, Lsn},
};

/// The header that carries a write's position to later reads.
pub const CONSISTENCY_TOKEN: &str = "consistency-token";

/// The token a request presented, parsed by [`consistency`].
#[derive(Clone, Copy)]
struct Presented(Lsn);

fn caller_of(req: &HttpRequest) -> Option<Uuid> {
    let extensions = req.extensions();
    extensions
        .get::<Caller>()
        .map(|c| c.user_id)
        .or_else(|| extensions.get::<VerifiedClaims>().map(|v| v.0.sub))
}

/// Middleware: refuses a malformed token, and stamps successful writes with theirs.
pub async fn consistency(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(value) = req.headers().get(CONSISTENCY_TOKEN) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.parse::<Lsn>().ok())
            .ok_or_else(|| {
                ApiError::field(
                    "Consistency-Token",
                    "expected the Consistency-Token of a previous response, such as `16/B374D848`",
                )
            })?;
        req.extensions_mut().insert(Presented(token));
    }
    let write = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let mut res = next.call(req).await?;
    if !write || !res.status().is_success() {
        return Ok(res);
    }
    // Without a replica every read is as fresh as the primary: no position to hand out or keep.
    let Some(db) = res
        .request()
        .app_data::<web::Data<Db>>()
        .filter(|db| db.has_replica())
        .cloned()
    else {
        return Ok(res);
    };
    let user = caller_of(res.request());
    let committed = res.response().extensions().get::<Committed>().copied();
    match db.wrote(user, committed).await {
        Ok(lsn) => {
            if let Ok(value) = HeaderValue::from_str(&lsn.to_string()) {
                res.headers_mut().insert(
                    actix_web::http::header::HeaderName::from_static(CONSISTENCY_TOKEN),
                    value,
                );
            }
        }
        // The write committed: it is answered, only without a token.
        Err(error) => tracing::warn!(%error, "no consistency token for a committed write"),
    }
    Ok(res)
}

/// `res` carrying the position of the write it answers (found on the write's connection,
/// [`Db::position_after`]), so the middleware neither asks the primary again nor remembers it twice.
pub fn with_committed(mut res: HttpResponse, committed: Option<Committed>) -> HttpResponse {
    if let Some(committed) = committed {
        res.extensions_mut().insert(committed);
    }
    res
}

/// What a read must see: the presented token and the caller (whose own writes it must see).
impl FromRequest for Freshness {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req.extensions().get::<Presented>().map(|p| p.0);
        ready(Ok(Freshness {
            token,
            user: caller_of(req),
        }))
    }
}
