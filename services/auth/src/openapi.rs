//! The auth service's OpenAPI document, served at `/openapi.json` (the gateway merges it into its
//! `/openapi.json`).

use inventory_common::openapi::Conventions;
use utoipa::OpenApi;

use crate::routes::{jwks, login, me, refresh, register, users};

#[derive(OpenApi)]
#[openapi(
    info(title = "Inventory: auth", version = "1.0.0", description = "Users, sessions and access tokens."),
    paths(register::register, login::login, refresh::refresh, refresh::logout, me::me, jwks::jwks, users::list, users::update),
    modifiers(&Conventions),
    tags((name = "auth", description = "Registration, login and sessions"), (name = "users", description = "User administration (admin)"))
)]
struct ApiDoc;

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[cfg(test)]
mod tests {
    #[actix_web::test]
    async fn the_router_and_the_document_agree() {
        let credentials = inventory_common::rate_limit::limiter(
            inventory_common::rate_limit::ClientKey::address(Vec::new()),
            1000,
            1000,
        )
        .unwrap_or_else(|e| panic!("limiter: {e}"));
        let drift = inventory_common::web::route_drift(&super::document(), move |cfg| {
            crate::routes::config(cfg, &credentials)
        })
        .await;
        assert!(drift.is_empty(), "{drift:#?}");
    }

    #[test]
    fn every_route_is_documented_with_its_errors() {
        let doc = super::document();
        let json = serde_json::to_value(&doc).unwrap_or_default();
        let paths = json["paths"].as_object().cloned().unwrap_or_default();
        for (path, methods) in [
            ("/auth/register", &["post"][..]),
            ("/auth/login", &["post"]),
            ("/auth/refresh", &["post"]),
            ("/auth/logout", &["post"]),
            ("/auth/me", &["get"]),
            ("/auth/jwks.json", &["get"]),
            ("/auth/users", &["get"]),
            ("/auth/users/{user_id}", &["patch"]),
        ] {
            for method in methods {
                let op = &paths[path][method];
                assert!(op.is_object(), "{method} {path} is documented");
                assert!(
                    op["responses"]["429"].is_object(),
                    "{method} {path} documents 429"
                );
            }
        }
        assert!(paths["/auth/me"]["get"]["responses"]["401"].is_object());
        assert!(paths["/auth/login"]["post"]["responses"]["401"].is_object());
        assert!(
            paths["/auth/jwks.json"]["get"]["responses"]["403"].is_null(),
            "public routes do not claim 403"
        );
    }
}
