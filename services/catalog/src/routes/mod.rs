//! The catalog service's HTTP routes: `/products` and `/stores`.

use actix_web::web;

pub fn config(_cfg: &mut web::ServiceConfig) {}
