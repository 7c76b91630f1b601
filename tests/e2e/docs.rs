//! The gateway's API documentation: the merged OpenAPI document, and the `/docs` page rendered by a
//! real browser (headless Chromium) with no network beyond the gateway.

use inventory_e2e::{Api, expect_json};
use reqwest::Method;

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
        ("/auth/users/{id}", "patch"),
        ("/products", "get"),
        ("/products/{id}", "put"),
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
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn the_docs_page_renders_in_a_browser_offline() {
    let url = format!("{}/docs", inventory_e2e::gateway());
    let profile =
        std::env::temp_dir().join(format!("inventory-docs-{}", uuid::Uuid::now_v7().simple()));
    let output = tokio::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Anything not on this machine fails: the page must need nothing from a CDN.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(&url)
        .output()
        .await
        .expect("run chromium (make test installs Debian's chromium package)");
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        dom.contains("data-rendered=\""),
        "the page ran its script: {dom}"
    );
    let rendered: usize = dom
        .split("data-rendered=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        rendered >= 20,
        "the page lists the operations of every service, got {rendered}"
    );
    for operation in [
        "POST /auth/login",
        "GET /products",
        "POST /stock/movements",
        "GET /reports/low-stock",
    ] {
        assert!(
            dom.contains(&format!("data-operation=\"{operation}\"")),
            "{operation} is on the page"
        );
    }
    assert!(!dom.contains("Cannot show the API"), "no error on the page");
}
