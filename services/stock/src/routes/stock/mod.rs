//! `/stock`: levels, movements, batches, transfers and counts. One file per action; the write
//! actions share [`write`] (idempotency, trace context, post-commit work).

pub(crate) mod add;
pub(crate) mod batch;
pub(crate) mod count;
pub(crate) mod history;
pub(crate) mod levels;
pub(crate) mod movements;
mod query;
pub(crate) mod transfers;
mod write;

use actix_web::web;

/// Registers `/stock/*`. Fixed paths come before `/stock/{id}` so that `movements` and
/// `transfers` are never read as ids.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/stock")
            .route("", web::post().to(add::add))
            .route("/movements", web::get().to(history::list))
            .route("/movements", web::post().to(movements::create))
            .route("/movements/batch", web::post().to(batch::create))
            .route("/transfers", web::post().to(transfers::create))
            .route("/{store_id}", web::get().to(levels::list))
            .route("/{stock_id}", web::put().to(count::count)),
    );
}
