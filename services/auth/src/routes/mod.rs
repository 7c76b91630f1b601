//! The auth service's HTTP routes, all under `/auth`.

pub(crate) mod jwks;
pub(crate) mod login;
pub(crate) mod me;
pub(crate) mod refresh;
pub(crate) mod register;
pub(crate) mod users;

use actix_web::web;
use inventory_common::rate_limit::{self, LimiterConfig};

/// The routes, one resource per path (another method on it is a 405 with `Allow`); `credentials` is
/// the stricter per-address limit of login and register.
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
            .service(web::resource("/refresh").route(web::post().to(refresh::refresh)))
            .service(web::resource("/logout").route(web::post().to(refresh::logout)))
            .service(web::resource("/me").route(web::get().to(me::me)))
            .service(web::resource("/jwks.json").route(web::get().to(jwks::jwks)))
            .service(web::resource("/users").route(web::get().to(users::list)))
            .service(web::resource("/users/{user_id}").route(web::patch().to(users::update))),
    );
}
