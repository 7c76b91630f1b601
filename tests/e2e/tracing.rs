//! One trace from the client through the gateway, the stock service and the stream into the ledger
//! worker. The test stack exports spans over OTLP/HTTP to the port in `INVENTORY_TEST_OTLP_PORT`,
//! where this test runs a receiver.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::{App, HttpResponse, HttpServer, web};
use inventory_e2e::Api;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

type Received = Arc<Mutex<Vec<Vec<u8>>>>;

async fn collect(received: web::Data<Received>, body: web::Bytes) -> HttpResponse {
    received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(body.to_vec());
    // An empty ExportTraceServiceResponse.
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .body(Vec::<u8>::new())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether one export request from `service` carried a span of trace `trace_id` (and `marker`).
fn exported(received: &Received, service: &str, trace_id: &[u8], marker: &[u8]) -> bool {
    received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|payload| {
            contains(payload, service.as_bytes())
                && contains(payload, trace_id)
                && contains(payload, marker)
        })
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0))
        .collect()
}

#[tokio::test]
async fn a_stock_change_is_one_trace_from_the_gateway_to_the_ledger() {
    let port: u16 = std::env::var("INVENTORY_TEST_OTLP_PORT")
        .expect("INVENTORY_TEST_OTLP_PORT is set by make test")
        .parse()
        .expect("port");
    let received: Received = Arc::default();
    let data = web::Data::new(received.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/v1/traces", web::post().to(collect))
    })
    .workers(1)
    .bind(("127.0.0.1", port))
    .expect("bind the OTLP receiver")
    .run();
    let handle = server.handle();
    tokio::spawn(server);

    let api = Api::new();
    let admin = api.admin_token().await;
    let (store, product) = api.store_and_product(&admin, "Trace", 100).await;

    let trace_id = Uuid::new_v4().simple().to_string();
    let traceparent = format!(
        "00-{trace_id}-{}-01",
        &Uuid::new_v4().simple().to_string()[..16]
    );
    let res = api
        .request(Method::POST, "/stock", Some(&admin))
        .header("traceparent", &traceparent)
        .json(&json!({ "store_id": store, "product_id": product, "quantity": 5 }))
        .send()
        .await
        .expect("stock in");
    assert_eq!(res.status(), 201);

    let trace = hex_bytes(&trace_id);
    let mut found = (false, false);
    for _ in 0..100 {
        found = (
            exported(&received, "inventory-stock", &trace, b"/stock"),
            exported(&received, "inventory-ledger", &trace, b"ledger.event"),
        );
        if found == (true, true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    handle.stop(true).await;
    assert!(
        found.0,
        "the stock service exported the request's span in trace {trace_id}"
    );
    assert!(
        found.1,
        "the ledger worker exported its span for the event in trace {trace_id}"
    );
}
