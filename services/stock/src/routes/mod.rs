//! The stock service's HTTP routes, one folder per resource and one file per action:
//! `levels`, `movements` and `transfers` under `/stock`, and `reports`. The write actions share
//! `write` (idempotency, trace context, the transaction and the work after commit); the reads share
//! `query` (query-string parsing that names the parameter).

pub(crate) mod levels;
pub(crate) mod movements;
pub(crate) mod query;
pub(crate) mod reports;
pub(crate) mod transfers;
mod write;

use actix_web::web;

/// Registers every route of the service, one resource per path (another method on it is a 405
/// with `Allow`). Fixed paths come before `/stock/{id}` so that `movements` and `transfers` are
/// never read as ids; `{id}` is a store for GET and a stock level for PUT.
pub fn config(cfg: &mut web::ServiceConfig) {
    inventory_common::openapi::route(cfg, &crate::openapi::document());
    cfg.service(
        web::scope("/stock")
            .service(web::resource("").route(web::post().to(levels::add::add)))
            .service(
                web::resource("/movements")
                    .route(web::get().to(movements::list::list))
                    .route(web::post().to(movements::create::create)),
            )
            .service(
                web::resource("/movements/batch").route(web::post().to(movements::batch::create)),
            )
            .service(web::resource("/transfers").route(web::post().to(transfers::create::create)))
            .service(
                web::resource("/{id}")
                    .route(web::get().to(levels::list::list))
                    .route(web::put().to(levels::count::count)),
            ),
    );
    reports::config(cfg);
}
