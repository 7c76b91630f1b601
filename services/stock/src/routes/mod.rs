//! The stock service's HTTP routes: `/stock` and `/reports`.

use actix_web::web;

pub fn config(_cfg: &mut web::ServiceConfig) {}
