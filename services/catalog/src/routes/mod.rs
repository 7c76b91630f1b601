//! The catalog service's HTTP routes: `/products` and `/stores`. Reads need any valid token; writes
//! need the admin role.

pub(crate) mod products;
pub(crate) mod stores;
mod write;

use actix_web::{HttpRequest, HttpResponse, web};
use inventory_common::{
    ApiError,
    auth::Admin,
    read::Freshness,
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

/// The admin as the author of a change, for the audit trail.
fn actor<'a>(admin: &'a Admin, ids: &'a AuditIds) -> Actor<'a> {
    Actor {
        user_id: admin.0.user_id,
        role: admin.0.role.as_str(),
        request_id: &ids.request_id,
        trace_id: ids.trace_id(),
    }
}

/// The answer of `GET /<collection>/{id}`: the active row `id`, through the cache under `key`.
/// Sent as cached, with its `ETag` (`304` when `If-None-Match` names it).
async fn get_active<T: CatalogTable>(
    req: &HttpRequest,
    state: &CatalogState,
    fresh: &Freshness,
    key: &str,
    id: Uuid,
) -> Result<HttpResponse, ApiError> {
    let rendered = state
        .cache
        .get_or_render(key, keys::ITEM, || async {
            let mut conn = state.db.read(fresh).await?;
            T::find(&mut conn, id).await
        })
        .await?;
    Ok(conditional::respond(req, rendered))
}

/// The `Location` of a created resource.
fn location(collection: &str, id: Uuid) -> (actix_web::http::header::HeaderName, String) {
    (
        actix_web::http::header::LOCATION,
        format!("/{collection}/{id}"),
    )
}
