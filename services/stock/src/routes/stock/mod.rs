//! `/stock`: levels, movements, batches, transfers and counts. One file per action; the write
//! actions share [`write`] (idempotency, trace context, post-commit work).

pub(crate) mod add;
pub(crate) mod batch;
pub(crate) mod count;
pub(crate) mod history;
pub(crate) mod levels;
pub(crate) mod movements;
pub(crate) mod query;
pub(crate) mod transfers;
mod write;

use actix_web::web;

/// Registers `/stock/*`, one resource per path (another method on it is a 405 with `Allow`).
/// Fixed paths come before `/stock/{id}` so that `movements` and `transfers` are never read as ids;
/// `{id}` is a store for GET and a stock level for PUT.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/stock")
            .service(web::resource("").route(web::post().to(add::add)))
            .service(
                web::resource("/movements")
                    .route(web::get().to(history::list))
                    .route(web::post().to(movements::create)),
            )
            .service(web::resource("/movements/batch").route(web::post().to(batch::create)))
            .service(web::resource("/transfers").route(web::post().to(transfers::create)))
            .service(
                web::resource("/{id}")
                    .route(web::get().to(levels::list))
                    .route(web::put().to(count::count)),
            ),
    );
}
