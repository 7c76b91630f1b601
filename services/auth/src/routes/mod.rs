//! The auth service's HTTP routes, all under `/auth`.

pub(crate) mod jwks;
pub(crate) mod login;
pub(crate) mod me;
pub(crate) mod refresh;
pub(crate) mod register;
pub(crate) mod users;

use actix_web::web;
use inventory_common::rate_limit::{self, LimiterConfig};

/// The routes; `credentials` is the stricter per-address limit of login and register.
pub fn config(cfg: &mut web::ServiceConfig, credentials: &LimiterConfig) {
    inventory_common::openapi::route(cfg, &crate::openapi::document());
    cfg.service(
        web::scope("/auth")
            .service(
                web::resource("/register")
                    .wrap(rate_limit::middleware(credentials))
                    .route(web::post().to(register::register)),
            )
            .service(
                web::resource("/login")
                    .wrap(rate_limit::middleware(credentials))
                    .route(web::post().to(login::login)),
            )
            .route("/refresh", web::post().to(refresh::refresh))
            .route("/logout", web::post().to(refresh::logout))
            .route("/me", web::get().to(me::me))
            .route("/jwks.json", web::get().to(jwks::jwks))
            .route("/users", web::get().to(users::list))
            .route("/users/{id}", web::patch().to(users::update)),
    );
}
