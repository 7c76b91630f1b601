//! The catalog service's OpenAPI document, served at `/openapi.json` (the gateway merges it into its
//! `/openapi.json`).

use inventory_common::openapi::Conventions;
use utoipa::OpenApi;

use crate::routes::{products, stores};

#[derive(OpenApi)]
#[openapi(
    info(title = "Inventory: catalog", version = "1.0.0", description = "The central product catalog and the stores. Reads need any valid token; writes need the admin role."),
    paths(
        products::list::list, products::create::create, products::get::get, products::replace::replace, products::delete::delete,
        stores::list::list, stores::create::create, stores::get::get, stores::replace::replace, stores::delete::delete
    ),
    modifiers(&Conventions),
    tags((name = "products", description = "The central product catalog"), (name = "stores", description = "The stores that hold stock"))
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
        let drift =
            inventory_common::web::route_drift(&super::document(), crate::routes::config).await;
        assert!(drift.is_empty(), "{drift:#?}");
    }

    use serde_json::Value;

    fn paths() -> serde_json::Map<String, Value> {
        let json = serde_json::to_value(super::document()).unwrap_or_default();
        json["paths"].as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn every_route_is_documented_with_its_errors() {
        let paths = paths();
        for (path, methods) in [
            ("/products", &["get", "post"][..]),
            ("/products/{product_id}", &["get", "put", "delete"]),
            ("/stores", &["get", "post"]),
            ("/stores/{store_id}", &["get", "put", "delete"]),
        ] {
            for method in methods {
                let op = &paths[path][method];
                assert!(op.is_object(), "{method} {path} is documented");
                for status in ["401", "403", "429", "503"] {
                    assert!(
                        op["responses"][status].is_object(),
                        "{method} {path} documents {status}"
                    );
                }
                let conflict = op["responses"]["409"].is_object();
                let writes = matches!(*method, "post" | "put");
                assert_eq!(
                    conflict, writes,
                    "{method} {path}: 409 only where a write can conflict"
                );
            }
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut ids: Vec<String> = paths()
            .values()
            .filter_map(Value::as_object)
            .flat_map(|item| item.values())
            .filter_map(|op| op["operationId"].as_str().map(str::to_owned))
            .collect();
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(
            (ids.len(), count),
            (10, 10),
            "ten operations, each with its own id"
        );
    }

    #[test]
    fn success_responses_are_what_the_handlers_send() {
        let paths = paths();
        let created = &paths["/products"]["post"]["responses"]["201"];
        assert!(
            created["headers"]["Location"].is_object(),
            "201 names its Location"
        );
        assert!(created["content"]["application/json"].is_object());
        for path in ["/products/{product_id}", "/stores/{store_id}"] {
            let deleted = &paths[path]["delete"]["responses"]["204"];
            assert!(deleted.is_object(), "DELETE {path} answers 204");
            assert!(deleted["content"].is_null(), "a 204 has no body");
        }
        let list = &paths["/products"]["get"];
        let names: Vec<&str> = list["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        for name in ["q", "limit", "cursor"] {
            assert!(names.contains(&name), "GET /products documents `{name}`");
        }
        let json = serde_json::to_value(super::document()).unwrap_or_default();
        let body =
            &paths["/products/{product_id}"]["put"]["requestBody"]["content"]["application/json"];
        assert_eq!(
            body["schema"]["$ref"], "#/components/schemas/ProductReplacement",
            "a replacement documents its required price"
        );
        let required = &json["components"]["schemas"]["ProductReplacement"]["required"];
        assert!(
            required
                .as_array()
                .is_some_and(|r| r.contains(&"price_cents".into()))
        );
    }
}
