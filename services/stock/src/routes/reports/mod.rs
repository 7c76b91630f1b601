//! `/reports`: reporting from the ledger worker's projections. An admin reads every store, a
//! manager or clerk only their assigned stores (403 for another); each
//! report carries `as_of`, the time of the newest event the ledger has applied for its scope.

pub(crate) mod daily;
pub(crate) mod low_stock;
mod params;
pub(crate) mod valuation;

use actix_web::web;

/// Registers the report routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/reports")
            .service(web::resource("/stores/{store_id}/daily").route(web::get().to(daily::daily)))
            .service(
                web::resource("/stores/{store_id}/valuation")
                    .route(web::get().to(valuation::valuation)),
            )
            .service(web::resource("/low-stock").route(web::get().to(low_stock::low_stock))),
    );
}
