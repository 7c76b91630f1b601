//! A stopping server (SIGTERM takes the same graceful path) lets in-flight requests finish and then
//! refuses new connections.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use actix_web::{HttpResponse, web};
use inventory_common::web::{ServiceContext, serve};
use inventory_testkit::{TestDb, service_config};

async fn slow() -> HttpResponse {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    HttpResponse::Ok().body("finished")
}

#[tokio::test]
async fn in_flight_requests_finish_when_the_server_stops() {
    let db = TestDb::new().await;
    let ctx =
        ServiceContext::new("shutdown-test", service_config("catalog", &db)).expect("context");
    let server = serve(&ctx, |cfg| {
        cfg.route("/slow", web::get().to(slow));
    })
    .expect("serve");
    let base = format!("http://127.0.0.1:{}", server.port);
    let handle = server.server.handle();
    let running = tokio::spawn(server.server);

    let client = reqwest::Client::new();
    let in_flight = tokio::spawn({
        let client = client.clone();
        let url = format!("{base}/slow");
        async move { client.get(url).send().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopping = tokio::spawn(async move { handle.stop(true).await });

    let response = in_flight
        .await
        .expect("join")
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "finished");
    stopping.await.expect("join");
    running
        .await
        .expect("join")
        .expect("the server stopped cleanly");
    assert!(
        reqwest::Client::new()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err(),
        "no new connections after the stop"
    );
}
