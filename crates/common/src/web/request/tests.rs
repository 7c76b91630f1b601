#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use actix_web::{App, HttpResponse, test as actix_test, web};
use metrics_exporter_prometheus::PrometheusBuilder;

use super::*;

#[test]
fn trace_ids_come_from_a_well_formed_traceparent() {
    assert_eq!(
        trace_id_of(Some(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        )),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(trace_id_of(Some("00-nothex-00f067aa0ba902b7-01")), "");
    assert_eq!(
        trace_id_of(Some(
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01"
        )),
        ""
    );
    assert_eq!(trace_id_of(None), "");
}

#[test]
fn only_short_plain_request_ids_are_kept() {
    for good in [
        "a",
        "e2e-req-42",
        "A.b_c-9",
        &"x".repeat(MAX_REQUEST_ID_LEN),
    ] {
        assert_eq!(plain_request_id(good), Some(good), "{good}");
    }
    for bad in [
        "",
        &"x".repeat(MAX_REQUEST_ID_LEN + 1),
        "has space",
        "quote\"d",
        "semi;colon",
        "slash/",
        "é",
        "tab\t",
        "{\"json\":1}",
    ] {
        assert_eq!(plain_request_id(bad), None, "{bad:?}");
    }
}

#[test]
fn methods_outside_the_api_are_one_label() {
    for (method, label) in [
        ("GET", "GET"),
        ("HEAD", "HEAD"),
        ("POST", "POST"),
        ("PUT", "PUT"),
        ("PATCH", "PATCH"),
        ("DELETE", "DELETE"),
        ("OPTIONS", "OPTIONS"),
        ("TRACE", "OTHER"),
        ("CONNECT", "OTHER"),
        ("QWERTYUIOP", "OTHER"),
        ("get", "OTHER"),
        ("PROPFIND", "OTHER"),
    ] {
        let method = Method::from_bytes(method.as_bytes()).expect("a token");
        assert_eq!(method_label(&method), label, "{method}");
    }
}

/// The label values of every `http_*` series in a Prometheus text rendering.
fn label_values(rendered: &str) -> Vec<(String, String)> {
    rendered
        .lines()
        .filter(|l| l.starts_with("http_"))
        .filter_map(|l| Some(l.split_once('{')?.1.rsplit_once('}')?.0.to_owned()))
        .flat_map(|labels| {
            labels
                .split("\",")
                .filter_map(|pair| {
                    let (name, value) = pair.split_once("=\"")?;
                    Some((name.to_owned(), value.trim_end_matches('"').to_owned()))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Requests with invented methods, unknown paths, ids in paths and long request ids leave only
/// label values from the closed sets: methods, route templates, `unmatched`, status codes.
#[actix_web::test]
async fn no_metric_label_comes_from_the_request() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let app = actix_test::init_service(
        App::new()
            .wrap(actix_web::middleware::from_fn(request_context))
            .service(
                web::resource("/products/{id}")
                    .route(web::get().to(|| async { HttpResponse::Ok().finish() })),
            ),
    )
    .await;
    let id = uuid::Uuid::new_v4();
    for (method, path) in [
        ("GET", format!("/products/{id}")),
        ("QWERTYUIOP", format!("/products/{id}")),
        ("ASDFGHJKL", format!("/products/{}", uuid::Uuid::new_v4())),
        ("DELETE", format!("/products/{id}")),
        ("GET", "/no/such/path-12345".to_owned()),
        ("ZXCVBNM", "/another-invented-path".to_owned()),
    ] {
        let req = actix_test::TestRequest::default()
            .method(Method::from_bytes(method.as_bytes()).expect("a token"))
            .uri(&path)
            .insert_header(("x-request-id", "r".repeat(300)))
            .to_request();
        let res = actix_test::call_service(&app, req).await;
        let echoed = res
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .expect("a request id")
            .to_owned();
        assert!(plain_request_id(&echoed).is_some(), "{echoed}");
        assert_ne!(echoed, "r".repeat(300));
    }
    let rendered = handle.render();
    let values = label_values(&rendered);
    assert!(!values.is_empty(), "{rendered}");
    for (name, value) in &values {
        let allowed = match name.as_str() {
            "method" => [
                "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
            ]
            .contains(&value.as_str()),
            "route" => ["/products/{id}", "unmatched"].contains(&value.as_str()),
            "status" => value.parse::<u16>().is_ok(),
            "le" | "quantile" => true,
            _ => false,
        };
        assert!(allowed, "label {name}={value} in\n{rendered}");
    }
    // Three invented methods on one route made one series, not three.
    let other_405 = rendered
        .lines()
        .filter(|l| {
            l.starts_with("http_requests_total{")
                && l.contains("method=\"OTHER\"")
                && l.contains("route=\"/products/{id}\"")
        })
        .count();
    assert_eq!(other_405, 1, "{rendered}");
}
