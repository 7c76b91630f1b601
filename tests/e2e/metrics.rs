//! Operators' metrics: every instance serves Prometheus text on its own port, counting requests as
//! they happen; the public gateway does not expose them.

use inventory_e2e::{Api, expect_json};
use reqwest::Method;

/// Checks one line of the Prometheus text format and returns (series, value).
fn parse_sample(line: &str) -> (String, f64) {
    let (series, value) = line
        .rsplit_once(' ')
        .unwrap_or_else(|| panic!("no value in `{line}`"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("bad value in `{line}`")),
    };
    let name = series.split('{').next().unwrap_or_default();
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !name.starts_with(|c: char| c.is_ascii_digit()),
        "bad metric name in `{line}`"
    );
    if series.contains('{') {
        assert!(series.ends_with('}'), "unterminated labels in `{line}`");
    }
    (series.to_owned(), value)
}

async fn scrape(api: &Api, port: &str) -> Vec<(String, f64)> {
    let text = inventory_e2e::metrics_text(&api.http, port).await;
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(parse_sample)
        .collect()
}

async fn jwks_requests(api: &Api, ports: &[String]) -> f64 {
    let mut total = 0.0;
    for port in ports {
        total += scrape(api, port)
            .await
            .iter()
            .filter(|(series, _)| {
                series.starts_with("http_requests_total{")
                    && series.contains("route=\"/auth/jwks.json\"")
                    && series.contains("status=\"200\"")
            })
            .map(|(_, v)| v)
            .sum::<f64>();
    }
    total
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_count_a_request_just_made() {
    let api = Api::new();
    let ports: Vec<String> = std::env::var("INVENTORY_AUTH_PORTS")
        .expect("INVENTORY_AUTH_PORTS")
        .split(',')
        .map(str::to_owned)
        .collect();
    let before = jwks_requests(&api, &ports).await;
    let res = api
        .request(Method::GET, "/auth/jwks.json", None)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let after = jwks_requests(&api, &ports).await;
    assert!(
        after >= before + 1.0,
        "the request was counted: {before} → {after}"
    );

    // Every service and the worker serve the format, with their pools and latency histograms.
    for service in ["AUTH", "CATALOG", "STOCK", "LEDGER"] {
        let ports = std::env::var(format!("INVENTORY_{service}_PORTS")).expect("ports");
        let port = ports.split(',').next().expect("a port");
        let samples = scrape(&api, port).await;
        assert!(!samples.is_empty(), "{service} serves metrics");
        if service != "LEDGER" {
            assert!(
                samples
                    .iter()
                    .any(|(s, _)| s.starts_with("http_request_duration_seconds_bucket{")),
                "{service} has a latency histogram"
            );
        }
        assert!(
            samples
                .iter()
                .any(|(s, _)| s.starts_with("db_pool_connections{")),
            "{service} reports its pool"
        );
    }
}

#[tokio::test]
async fn the_gateway_does_not_expose_metrics_or_health() {
    let api = Api::new();
    for path in ["/metrics", "/readyz", "/healthz"] {
        let res = api
            .request(Method::GET, path, None)
            .send()
            .await
            .expect("request");
        let body = expect_json(res, 404).await;
        assert_eq!(body["status"], 404, "{path}");
    }
}

/// The sum over the stock instances of `stock_movements_total{type="<kind>"}`.
async fn movements_counted(api: &Api, kind: &str) -> f64 {
    let mut total = 0.0;
    for port in inventory_e2e::stack::env("INVENTORY_STOCK_PORTS").split(',') {
        total += scrape(api, port.trim())
            .await
            .iter()
            .filter(|(series, _)| {
                series.starts_with("stock_movements_total{")
                    && series.contains(&format!("type=\"{kind}\""))
            })
            .map(|(_, v)| v)
            .sum::<f64>();
    }
    total
}

#[tokio::test]
async fn committed_sales_are_counted_by_type() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let (store, product) = api.store_and_product(&admin, "counted", 100).await;
    let movement = |kind: &str, quantity: i64| serde_json::json!({"store_id": store, "product_id": product, "type": kind, "quantity": quantity});
    // Other tests run at the same time: only this test's own sales can be counted on, so the
    // counter must rise by at least what it sold.
    let before = movements_counted(&api, "SALE").await;
    expect_json(
        api.post("/stock/movements", Some(&admin), &movement("STOCK_IN", 3))
            .await,
        201,
    )
    .await;
    for _ in 0..3 {
        expect_json(
            api.post("/stock/movements", Some(&admin), &movement("SALE", 1))
                .await,
            201,
        )
        .await;
    }
    expect_json(
        api.post("/stock/movements", Some(&admin), &movement("SALE", 1))
            .await,
        409,
    )
    .await;
    let after = movements_counted(&api, "SALE").await;
    assert!(
        after - before >= 3.0,
        "three sales counted: {before} -> {after}"
    );
}
