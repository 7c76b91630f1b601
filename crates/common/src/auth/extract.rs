//! The caller of a request, from its bearer token: the `Caller` and `Admin` extractors.

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::{Ready, ready};

use super::{Caller, JwtVerifier, VerifiedClaims};
use crate::ApiError;

/// The caller of an admin-only route: 401 without a valid token, 403 for any other role. As a
/// handler's first argument it refuses a non-admin before the body or the path is read, so a
/// non-admin learns nothing about validation from a request it may not make.
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller_from(req).and_then(|caller| caller.require_admin().map(|()| Admin(caller))))
    }
}

/// Extracts the caller from `Authorization: Bearer <token>`; 401 when absent or invalid.
impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller_from(req))
    }
}

fn caller_from(req: &HttpRequest) -> Result<Caller, ApiError> {
    let verifier = req
        .app_data::<web::Data<JwtVerifier>>()
        .ok_or_else(|| ApiError::internal("JwtVerifier is not registered as app data"))?;
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("expected `Authorization: Bearer <token>`".into()))?;
    let verified = actix_web::HttpMessage::extensions(req)
        .get::<VerifiedClaims>()
        .cloned();
    let claims = match verified {
        Some(VerifiedClaims(claims)) => claims,
        None => verifier.verify(token)?,
    };
    tracing::Span::current().record("user_id", tracing::field::display(claims.sub));
    let caller = Caller {
        user_id: claims.sub,
        role: claims.role,
        store_ids: claims.store_ids,
    };
    // For the request's audit record (see `web::request_context`).
    actix_web::HttpMessage::extensions_mut(req).insert(caller.clone());
    Ok(caller)
}
