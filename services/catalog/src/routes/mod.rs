//! The catalog service's HTTP routes: `/products` and `/stores`. Reads need any valid token; writes
//! need the admin role.

pub(crate) mod products;
pub(crate) mod stores;

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use inventory_common::{
    ApiError,
    auth::Caller,
    db,
    web::{AuditIds, conditional},
};
use uuid::Uuid;

use crate::{
    keys,
    models::{Actor, CatalogTable},
    state::CatalogState,
};

/// Wires the catalog's routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    inventory_common::openapi::route(cfg, &crate::openapi::document());
    cfg.service(
        web::resource("/products")
            .route(web::get().to(products::list::list))
            .route(web::post().to(products::create::create)),
    )
    .service(
        web::resource("/products/{product_id}")
            .route(web::get().to(products::get::get))
            .route(web::put().to(products::replace::replace))
            .route(web::delete().to(products::delete::delete)),
    )
    .service(
        web::resource("/stores")
            .route(web::get().to(stores::list::list))
            .route(web::post().to(stores::create::create)),
    )
    .service(
        web::resource("/stores/{store_id}")
            .route(web::get().to(stores::get::get))
            .route(web::put().to(stores::replace::replace))
            .route(web::delete().to(stores::delete::delete)),
    );
}

/// The caller of an admin-only route: 401 without a valid token, 403 for any other role. As a
/// handler's first argument it refuses a non-admin before the body is read, so a clerk learns
/// nothing about validation from a write it may not make.
pub struct Admin(pub Caller);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let admin = Caller::from_request(req, payload)
            .into_inner()
            .and_then(|caller| caller.require_admin().map(|()| Admin(caller)));
        std::future::ready(admin)
    }
}

impl Admin {
    /// The admin as the author of a change, for the audit trail.
    fn actor<'a>(&'a self, ids: &'a AuditIds) -> Actor<'a> {
        Actor {
            caller: &self.0,
            request_id: &ids.request_id,
            trace_id: ids.trace_id(),
        }
    }
}

/// The answer of `GET /<collection>/{id}`: the active row `id`, through the cache under `key`.
/// Sent as cached, with its `ETag` (`304` when `If-None-Match` names it).
async fn get_active<T: CatalogTable>(
    req: &HttpRequest,
    state: &CatalogState,
    key: &str,
    id: Uuid,
) -> Result<HttpResponse, ApiError> {
    let rendered = state
        .cache
        .get_or_render(key, keys::ITEM, || async {
            let mut conn = db::conn(&state.pg).await?;
            T::find(&mut conn, id).await
        })
        .await?;
    Ok(conditional::respond(req, rendered))
}

/// The answer of `DELETE /<collection>/{id}`: archives the row `id` (204), then drops the cache keys
/// it made `stale` (after the commit, with the connection back in the pool).
async fn archive<T: CatalogTable>(
    state: &CatalogState,
    actor: &Actor<'_>,
    id: Uuid,
    stale: &[String],
) -> Result<HttpResponse, ApiError> {
    {
        let mut conn = db::conn(&state.pg).await?;
        T::archive(&mut conn, id, actor).await?;
    }
    state.cache.invalidate(stale).await;
    Ok(HttpResponse::NoContent().finish())
}

/// The `Location` of a created resource.
fn location(collection: &str, id: Uuid) -> (actix_web::http::header::HeaderName, String) {
    (
        actix_web::http::header::LOCATION,
        format!("/{collection}/{id}"),
    )
}
