//! The stock service's HTTP routes: `/stock` (and `/reports`, added beside it).

pub(crate) mod reports;
pub(crate) mod stock;

use actix_web::web;

/// Registers every route of the service.
pub fn config(cfg: &mut web::ServiceConfig) {
    inventory_common::openapi::route(cfg, &crate::openapi::document());
    stock::config(cfg);
    reports::config(cfg);
}
