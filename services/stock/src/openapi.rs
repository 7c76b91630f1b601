//! The stock service's OpenAPI document, served at `/openapi.json` (the gateway merges it into its
//! `/openapi.json`).

use inventory_common::openapi::Conventions;
use utoipa::{
    Modify, OpenApi,
    openapi::schema::{AllOfBuilder, AnyOfBuilder, ObjectBuilder, Type},
};

use crate::routes::{
    levels::{add, count, list as levels},
    movements::{batch, create as movements, list as history},
    reports::{daily, low_stock, valuation},
    transfers::create as transfers,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Inventory: stock", version = "1.0.0", description = "Per-store stock levels, the movement history, transfers between stores, and reports from the ledger. Reads and writes of stock data need the admin role or an assignment to the store (403 otherwise); lists without a store hold only the caller's stores. Writes accept an `Idempotency-Key`."),
    paths(
        add::add, levels::list, count::count,
        movements::create, batch::create, history::list,
        transfers::create,
        daily::daily, valuation::valuation, low_stock::low_stock
    ),
    modifiers(&Conventions, &CountChangesSomething),
    tags(
        (name = "stock", description = "Stock levels per store and product"),
        (name = "movements", description = "Recording stock movements and reading their history"),
        (name = "transfers", description = "Moving stock between stores atomically"),
        (name = "reports", description = "Reports from the ledger worker's projections (eventually consistent; see `as_of`)")
    )
)]
struct ApiDoc;

/// `PUT /stock/{id}` needs `quantity` or `reorder_level` (not null): a body with neither is a 400,
/// and the document says so, so that a schema-valid body is never rejected.
struct CountChangesSomething;

impl Modify for CountChangesSomething {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let Some(schemas) = doc.components.as_mut().map(|c| &mut c.schemas) else {
            return;
        };
        let Some(fields) = schemas.remove("CountInput") else {
            return;
        };
        let given = |field: &str| {
            ObjectBuilder::new()
                .required(field)
                .property(field, ObjectBuilder::new().schema_type(Type::Integer))
        };
        let schema = AllOfBuilder::new()
            .item(fields)
            .item(
                AnyOfBuilder::new()
                    .item(given("quantity"))
                    .item(given("reorder_level")),
            )
            .description(Some(
                "A counted quantity and/or a new reorder level: at least one of the two, not null.",
            ))
            .build();
        schemas.insert(
            "CountInput".into(),
            utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::AllOf(schema)),
        );
    }
}

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

    fn document() -> Value {
        serde_json::to_value(super::document()).unwrap_or_default()
    }

    const ROUTES: [(&str, &str); 10] = [
        ("/stock", "post"),
        ("/stock/{id}", "get"),
        ("/stock/{id}", "put"),
        ("/stock/movements", "post"),
        ("/stock/movements", "get"),
        ("/stock/movements/batch", "post"),
        ("/stock/transfers", "post"),
        ("/reports/stores/{store_id}/daily", "get"),
        ("/reports/stores/{store_id}/valuation", "get"),
        ("/reports/low-stock", "get"),
    ];

    #[test]
    fn every_route_is_documented_with_its_errors() {
        let doc = document();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        assert_eq!(paths.len(), 8, "no undocumented or extra paths");
        for (path, method) in ROUTES {
            let op = &paths[path][method];
            assert!(op.is_object(), "{method} {path} is documented");
            for status in ["400", "401", "403", "404", "429", "500", "503"] {
                assert!(
                    op["responses"][status].is_object(),
                    "{method} {path} documents {status}"
                );
            }
            let writes = method != "get";
            for status in ["409", "422"] {
                assert_eq!(
                    op["responses"][status].is_object(),
                    writes,
                    "{method} {path}: {status} exactly where a write can answer it"
                );
            }
            let takes_key = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
            assert_eq!(
                takes_key, writes,
                "{method} {path}: Idempotency-Key on writes"
            );
        }
    }

    #[test]
    fn success_bodies_and_replay_headers() {
        let doc = document();
        let schema_of = |path: &str, method: &str, status: &str| {
            doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
                .clone()
        };
        let level = serde_json::json!({"$ref": "#/components/schemas/StockLevel"});
        assert_eq!(schema_of("/stock", "post", "201"), level);
        assert_eq!(schema_of("/stock", "post", "200"), level);
        assert_eq!(schema_of("/stock/{id}", "put", "200"), level);
        assert_eq!(
            schema_of("/stock/movements", "post", "201")["$ref"],
            "#/components/schemas/MovementRecorded"
        );
        for (path, method, status) in [
            ("/stock", "post", "201"),
            ("/stock/movements/batch", "post", "201"),
            ("/stock/transfers", "post", "201"),
        ] {
            let headers = &doc["paths"][path][method]["responses"][status]["headers"];
            assert!(
                headers["Idempotent-Replayed"].is_object(),
                "{method} {path} documents Idempotent-Replayed"
            );
        }
        let count = &doc["components"]["schemas"]["CountInput"]["allOf"];
        assert_eq!(count[1]["anyOf"][0]["required"][0], "quantity");
        assert_eq!(count[0]["additionalProperties"], false);
        let types = &doc["components"]["schemas"]["MovementType"]["enum"];
        assert_eq!(
            types,
            &serde_json::json!([
                "STOCK_IN",
                "SALE",
                "MANUAL_REMOVE",
                "TRANSFER_OUT",
                "TRANSFER_IN"
            ])
        );
    }

    #[test]
    fn operation_ids_are_unique_and_prefixed() {
        let doc = document();
        let mut ids: Vec<String> = doc["paths"]
            .as_object()
            .into_iter()
            .flat_map(|paths| paths.values())
            .filter_map(Value::as_object)
            .flat_map(|item| item.values())
            .filter_map(|op| op["operationId"].as_str().map(str::to_owned))
            .collect();
        assert!(
            ids.iter()
                .all(|id| id.starts_with("stock_") || id.starts_with("reports_")),
            "ids do not clash with other services': {ids:?}"
        );
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ROUTES.len());
    }
}
