//! The auth service's HTTP routes, all under `/auth`.

mod jwks;
mod login;
mod me;
mod refresh;
mod register;
mod users;

use actix_web::web;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/auth")
            .route("/register", web::post().to(register::register))
            .route("/login", web::post().to(login::login))
            .route("/refresh", web::post().to(refresh::refresh))
            .route("/logout", web::post().to(refresh::logout))
            .route("/me", web::get().to(me::me))
            .route("/jwks.json", web::get().to(jwks::jwks))
            .route("/users", web::get().to(users::list))
            .route("/users/{id}", web::patch().to(users::update)),
    );
}
