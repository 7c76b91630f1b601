//! The stock service's HTTP routes: `/stock` (and `/reports`, added beside it).

mod reports;
mod stock;

use actix_web::web;

/// Registers every route of the service.
pub fn config(cfg: &mut web::ServiceConfig) {
    stock::config(cfg);
    reports::config(cfg);
}
