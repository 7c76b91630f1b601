//! Every mutation leaves an `audit_log` row, written in the same transaction as the change.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use inventory_db::schema::audit_log;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, expect_json, id_of};

type Row = (
    Option<Uuid>,
    Option<String>,
    String,
    String,
    Option<Uuid>,
    Option<Value>,
    Option<Value>,
    Option<String>,
);

async fn audit_rows(app: &TestApp) -> Vec<Row> {
    let mut conn = app.db.connect().await;
    audit_log::table
        .select((
            audit_log::actor_id,
            audit_log::actor_role,
            audit_log::action,
            audit_log::entity,
            audit_log::entity_id,
            audit_log::before,
            audit_log::after,
            audit_log::request_id,
        ))
        .order(audit_log::id.asc())
        .load(&mut conn)
        .await
        .unwrap()
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    request_id: &str,
) -> reqwest::Response {
    let mut request = app
        .request(method, path, Some(&app.admin))
        .header("x-request-id", request_id);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn product_mutations_are_audited_with_actor_before_after_and_request_id() {
    let app = TestApp::spawn().await;
    let res = send(
        &app,
        Method::POST,
        "/products",
        Some(json!({ "sku": "AU-1", "name": "Audited", "price_cents": 10 })),
        "req-create",
    )
    .await;
    let created = expect_json(res, 201).await;
    let path = format!("/products/{}", id_of(&created));
    let res = send(
        &app,
        Method::PUT,
        &path,
        Some(json!({ "sku": "AU-1", "name": "Renamed", "price_cents": 20 })),
        "req-update",
    )
    .await;
    let updated = expect_json(res, 200).await;
    assert_eq!(
        send(&app, Method::DELETE, &path, None, "req-delete")
            .await
            .status(),
        204
    );
    // Refused changes leave no trace.
    let res = send(
        &app,
        Method::POST,
        "/products",
        Some(json!({ "sku": "AU-1", "name": "x" })),
        "req-dup",
    )
    .await;
    assert_eq!(res.status(), 201, "the archived product freed its SKU");
    let res = send(
        &app,
        Method::POST,
        "/products",
        Some(json!({ "sku": "AU-1", "name": "x" })),
        "req-409",
    )
    .await;
    assert_eq!(res.status(), 409);

    let rows = audit_rows(&app).await;
    let id: Uuid = id_of(&created).parse().unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(
        actions,
        [
            "product.create",
            "product.update",
            "product.delete",
            "product.create"
        ]
    );
    for row in &rows {
        assert_eq!(row.0, Some(app.admin_id));
        assert_eq!(row.1.as_deref(), Some("admin"));
        assert_eq!(row.3, "product");
    }
    assert_eq!(rows[0].4, Some(id));
    assert_eq!((&rows[0].5, &rows[0].6), (&None, &Some(created.clone())));
    assert_eq!(
        (&rows[1].5, &rows[1].6),
        (&Some(created), &Some(updated.clone()))
    );
    assert_eq!((&rows[2].5, &rows[2].6), (&Some(updated), &None));
    let request_ids: Vec<_> = rows.iter().map(|r| r.7.as_deref().unwrap()).collect();
    assert_eq!(
        request_ids,
        ["req-create", "req-update", "req-delete", "req-dup"]
    );
}

#[tokio::test]
async fn store_mutations_are_audited() {
    let app = TestApp::spawn().await;
    let res = send(
        &app,
        Method::POST,
        "/stores",
        Some(json!({ "code": "AU", "name": "Audited" })),
        "s-create",
    )
    .await;
    let created = expect_json(res, 201).await;
    let path = format!("/stores/{}", id_of(&created));
    let res = send(
        &app,
        Method::PUT,
        &path,
        Some(json!({ "code": "AU", "name": "Renamed" })),
        "s-update",
    )
    .await;
    let updated = expect_json(res, 200).await;
    assert_eq!(
        send(&app, Method::DELETE, &path, None, "s-delete")
            .await
            .status(),
        204
    );

    let rows = audit_rows(&app).await;
    let summary: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r.2.as_str(), r.3.as_str(), r.7.as_deref().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            ("store.create", "store", "s-create"),
            ("store.update", "store", "s-update"),
            ("store.delete", "store", "s-delete"),
        ]
    );
    assert_eq!(rows[1].5, Some(created));
    assert_eq!(rows[1].6, Some(updated));
}

#[tokio::test]
async fn audit_rows_carry_the_trace_id_of_the_request() {
    let app = TestApp::spawn().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let res = app
        .request(Method::POST, "/stores", Some(&app.admin))
        .header("x-request-id", "req-traced")
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({ "name": "Traced store" }))
        .send()
        .await
        .unwrap();
    expect_json(res, 201).await;
    let mut conn = app.db.connect().await;
    let stored: Vec<(Option<String>, Option<String>)> = audit_log::table
        .select((audit_log::request_id, audit_log::trace_id))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        stored,
        [(Some("req-traced".to_owned()), Some(trace_id.to_owned()))],
        "the row names the request and its trace"
    );
}
