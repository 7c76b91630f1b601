//! The gateway's API documentation: the merged OpenAPI document, and the `/docs` page rendered by a
//! real browser (headless Chromium) with no network beyond the gateway.

use std::time::Duration;

use inventory_e2e::{Api, browser::Browser, expect_json};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn the_merged_document_describes_every_service() {
    let api = Api::new();
    let res = api
        .request(Method::GET, "/openapi.json", None)
        .send()
        .await
        .expect("request");
    let doc = expect_json(res, 200).await;
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/auth/login", "post"),
        ("/auth/users/{user_id}", "patch"),
        ("/products", "get"),
        ("/products/{product_id}", "put"),
        ("/stores", "post"),
        ("/stock", "post"),
        ("/stock/{id}", "get"),
        ("/stock/movements", "post"),
        ("/stock/movements/batch", "post"),
        ("/stock/transfers", "post"),
        ("/reports/low-stock", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{} {path} is documented",
            method.to_uppercase()
        );
    }
    // What a generated client and the explorer show: a short plain summary and a tag for every
    // operation (the Markdown goes in the description).
    for (path, operations) in paths {
        for (method, op) in operations.as_object().expect("operations") {
            let summary = op["summary"].as_str().unwrap_or_default();
            assert!(
                !summary.is_empty() && summary.len() <= 80 && !summary.contains(['`', '\n']),
                "{method} {path}: a short plain summary, got {summary:?}"
            );
            assert!(op["tags"][0].is_string(), "{method} {path} has a tag");
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

/// A person opens `/docs`, pastes an access token into "Authorize", tries `GET /products` and sees
/// 200 on the page; the browser fetched nothing from outside the gateway.
#[tokio::test]
async fn the_api_explorer_tries_a_request_with_a_token() {
    let api = Api::new();
    let token = api.admin_token().await;
    let browser = Browser::start().await;
    let gateway = inventory_e2e::gateway();
    browser.open(&format!("{gateway}/docs")).await;

    // The document is rendered, Markdown included (descriptions' `code` becomes <code>).
    browser
        .wait_for(
            "#operations-products-products_list",
            Duration::from_secs(20),
        )
        .await;
    let code_spans = browser
        .script("return document.querySelectorAll('.swagger-ui .markdown code, .swagger-ui .renderedMarkdown code').length;", json!([]))
        .await;
    assert!(
        code_spans.as_u64().unwrap_or(0) > 0,
        "Markdown is rendered: {code_spans}"
    );

    // Authorize with the token.
    browser.click(".swagger-ui .auth-wrapper .authorize").await;
    browser
        .type_into(".swagger-ui .modal-ux input[type=text]", &token)
        .await;
    browser
        .click(".swagger-ui .modal-ux .auth-btn-wrapper .authorize")
        .await;
    browser.click(".swagger-ui .modal-ux .btn-done").await;

    // Try GET /products.
    browser
        .click("#operations-products-products_list .opblock-summary-control")
        .await;
    browser
        .click("#operations-products-products_list .try-out__btn")
        .await;
    browser
        .click("#operations-products-products_list .execute")
        .await;
    let status = browser
        .text("#operations-products-products_list .live-responses-table tbody .response-col_status")
        .await;
    assert_eq!(
        status.trim(),
        "200",
        "the tried request answered 200 on the page"
    );

    // Every resource the page loaded came from the gateway, and none failed.
    let resources = browser
        .script(
            "return performance.getEntriesByType('resource').map(e => [e.name, e.responseStatus || 0]);",
            json!([]),
        )
        .await;
    let resources = resources.as_array().expect("resource entries");
    assert!(!resources.is_empty(), "the page loaded its scripts");
    for entry in resources {
        let url = entry[0].as_str().unwrap_or_default();
        let status = entry[1].as_u64().unwrap_or(0);
        assert!(
            url.starts_with(&gateway),
            "fetched only from the gateway: {url}"
        );
        assert!((200..400).contains(&status), "{url} answered {status}");
    }
}
