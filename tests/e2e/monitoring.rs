//! The stack's Prometheus: it scrapes every instance, has loaded the alert rules, and knows every
//! metric the Grafana dashboard (deploy/grafana/inventory.json) queries.

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use inventory_e2e::{Api, expect_json, stack::env};
use serde_json::{Value, json};

async fn prometheus(path: &str) -> Value {
    let url = format!("{}{path}", env("PROMETHEUS_URL"));
    let res = reqwest::get(&url).await.expect("Prometheus answers");
    expect_json(res, 200).await
}

/// Polls `check` every 500 ms until it returns `Ok`, for at most `timeout`.
async fn eventually<F, Fut>(timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let started = Instant::now();
    loop {
        match check().await {
            Ok(()) => return,
            Err(why) if started.elapsed() > timeout => panic!("{why}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

#[tokio::test]
async fn prometheus_scrapes_every_instance_and_loads_the_rules() {
    let mut expected: BTreeSet<String> = BTreeSet::new();
    for svc in ["auth", "catalog", "stock", "ledger"] {
        for port in env(&format!("INVENTORY_{}_PORTS", svc.to_uppercase())).split(',') {
            expected.insert(format!("{svc} 127.0.0.1:{}", port.trim()));
        }
    }
    eventually(Duration::from_secs(30), || {
        let expected = expected.clone();
        async move {
            let targets = prometheus("/api/v1/targets?state=active").await;
            let up: BTreeSet<String> = targets["data"]["activeTargets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["health"] == "up")
                .map(|t| {
                    format!(
                        "{} {}",
                        t["labels"]["job"].as_str().unwrap_or_default(),
                        t["labels"]["instance"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            let missing: Vec<_> = expected.difference(&up).collect();
            let exporters = ["redis", "postgres"]
                .iter()
                .filter(|job| !up.iter().any(|t| t.starts_with(&format!("{job} "))))
                .collect::<Vec<_>>();
            if missing.is_empty() && exporters.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "targets not up: {missing:?}, exporters not up: {exporters:?} (up: {up:?})"
                ))
            }
        }
    })
    .await;

    let rules = prometheus("/api/v1/rules").await;
    let alerts: BTreeSet<String> = rules["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["name"].as_str().map(str::to_owned))
        .collect();
    for alert in [
        "InventoryInstanceDown",
        "InventoryHigh5xxRatio",
        "InventoryStockReadLatencyHigh",
        "InventoryLedgerLagHigh",
        "InventoryDeadLetters",
        "InventoryOutboxBacklogGrowing",
        "InventoryRedisMemoryHigh",
        "InventoryDbPoolSaturated",
    ] {
        assert!(alerts.contains(alert), "{alert} is loaded: {alerts:?}");
    }
}

/// The metric names a PromQL expression reads: identifiers that are not functions, keywords,
/// label names (inside `{}` or a `by (...)` list) or strings.
fn metric_names(expr: &str) -> Vec<String> {
    // Keywords, and aggregation operators (which may be followed by `by (...)` rather than `(`).
    const KEYWORDS: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "inf",
        "nan",
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "group",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let (mut names, mut i, mut braces, mut grouping) = (Vec::new(), 0, 0, false);
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        match c {
            '{' => braces += 1,
            '}' => braces -= 1,
            ')' if grouping => grouping = false,
            '[' => {
                // A range or subquery duration, e.g. [5m] or [10m:1m].
                while i < chars.len() && chars[i] != ']' {
                    i += 1;
                }
            }
            _ => {}
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace()).copied();
            if word == "by" || word == "without" {
                grouping = true;
            } else if braces == 0
                && !grouping
                && next != Some('(')
                && !KEYWORDS.contains(&word.as_str())
            {
                names.push(word);
            }
            continue;
        }
        i += 1;
    }
    names
}

#[test]
fn metric_names_are_read_from_promql() {
    assert_eq!(
        metric_names(
            r#"histogram_quantile(0.99, sum by (job, le) (rate(db_pool_wait_seconds_bucket{job="a", route=~"/x/\\{[^}]+\\}"}[5m])))"#
        ),
        ["db_pool_wait_seconds_bucket"]
    );
    assert_eq!(
        metric_names("max(outbox_backlog) > 100 and delta(max(outbox_backlog)[10m:1m]) > 0"),
        ["outbox_backlog", "outbox_backlog"]
    );
    assert_eq!(
        metric_names("redis_memory_used_bytes / redis_memory_max_bytes"),
        ["redis_memory_used_bytes", "redis_memory_max_bytes"]
    );
}

#[tokio::test]
async fn every_metric_on_the_dashboard_exists() {
    // Traffic that touches every path the dashboard watches: a read, a stock-in and a sale (which
    // reach the ledger).
    let api = Api::new();
    let admin = api.admin_token().await;
    let (store, product) = api.store_and_product(&admin, "monitoring", 100).await;
    let res = api
        .post(
            "/stock",
            Some(&admin),
            &json!({"store_id": store, "product_id": product, "quantity": 5}),
        )
        .await;
    expect_json(res, 201).await;
    let res = api
        .post(
            "/stock/movements",
            Some(&admin),
            &json!({"store_id": store, "product_id": product, "type": "SALE", "quantity": 1}),
        )
        .await;
    expect_json(res, 201).await;
    // Twice each: a miss fills the cache, the second read is a hit.
    for _ in 0..2 {
        expect_json(api.get(&format!("/stock/{store}"), &admin).await, 200).await;
        expect_json(api.get(&format!("/products/{product}"), &admin).await, 200).await;
    }

    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../deploy/grafana/inventory.json"),
        )
        .expect("the dashboard file"),
    )
    .expect("the dashboard is valid JSON");
    let mut wanted = BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            for name in metric_names(expr) {
                // Histograms are queried through their series' suffixes.
                wanted.insert(name);
            }
        }
    }
    assert!(
        wanted.len() >= 15,
        "the dashboard queries the main signals: {wanted:?}"
    );
    eventually(Duration::from_secs(40), || {
        let wanted = wanted.clone();
        async move {
            let known = prometheus("/api/v1/label/__name__/values").await;
            let known: BTreeSet<&str> = known["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let missing: Vec<_> = wanted
                .iter()
                .filter(|w| !known.contains(w.as_str()))
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "metrics on the dashboard that no target exports: {missing:?}"
                ))
            }
        }
    })
    .await;
}
