//! The gateway: routing by prefix, request ids, unknown paths, and failover between instances.

use inventory_e2e::{Api, expect_json};
use reqwest::Method;

#[tokio::test]
async fn each_prefix_reaches_its_service() {
    let api = Api::new();
    let token = api.admin_token().await;
    // Each service answers an unknown path under its prefix with its own problem+json 404, which
    // names the path it saw: proof that the request crossed the gateway to that service.
    for (path, service_sees) in [
        ("/auth/no-such-thing", "/auth/no-such-thing"),
        ("/products/a/b/c", "/products/a/b/c"),
        ("/stores/a/b/c", "/stores/a/b/c"),
        ("/stock/a/b/c/d", "/stock/a/b/c/d"),
        (
            "/reports/nothing/here/at/all",
            "/reports/nothing/here/at/all",
        ),
    ] {
        let res = api
            .request(Method::DELETE, path, Some(&token))
            .send()
            .await
            .expect("request");
        let content_type = res.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        let body = expect_json(res, 404).await;
        assert_eq!(content_type, "application/problem+json", "{path}");
        assert_eq!(
            body["detail"],
            format!("no route for DELETE {service_sees}"),
            "{path}"
        );
    }
    // The auth service's JWKS proves /auth/ reaches auth.
    let jwks = expect_json(
        api.request(Method::GET, "/auth/jwks.json", None)
            .send()
            .await
            .expect("request"),
        200,
    )
    .await;
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
}

#[tokio::test]
async fn unknown_paths_get_a_problem_404_from_the_gateway() {
    let api = Api::new();
    let res = api
        .request(Method::GET, "/nowhere", None)
        .send()
        .await
        .expect("request");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body = expect_json(res, 404).await;
    assert_eq!(body["status"], 404);
    assert_eq!(body["detail"], "no route for GET /nowhere");
}

#[tokio::test]
async fn request_ids_round_trip() {
    let api = Api::new();
    let res = api
        .request(Method::GET, "/auth/jwks.json", None)
        .header("X-Request-Id", "e2e-req-42")
        .send()
        .await
        .expect("request");
    assert_eq!(res.headers()["x-request-id"], "e2e-req-42");
    assert_eq!(res.headers().get_all("x-request-id").iter().count(), 1);

    let res = api
        .request(Method::GET, "/auth/jwks.json", None)
        .send()
        .await
        .expect("request");
    let generated = res.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(
        generated.len(),
        32,
        "nginx generates a 32-hex request id: {generated}"
    );

    // The same id reaches the service: its own 404 carries it back on an error too.
    let res = api
        .request(Method::GET, "/auth/nothing", None)
        .header("X-Request-Id", "e2e-req-43")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["x-request-id"], "e2e-req-43");
}

#[tokio::test]
async fn oversize_bodies_are_refused_at_the_gateway() {
    let api = Api::new();
    let body = "x".repeat(2 * 1024 * 1024);
    let res = api
        .request(Method::POST, "/auth/register", None)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    expect_json(res, 413).await;
}

#[tokio::test]
async fn a_known_path_with_another_method_gets_405_with_allow() {
    let api = Api::new();
    let token = api.admin_token().await;
    for (method, path, allow) in [
        (Method::DELETE, "/auth/me", "GET"),
        (Method::PATCH, "/stock/movements", "GET, POST"),
        (
            Method::POST,
            "/products/00000000-0000-7000-8000-000000000000",
            "GET, PUT, DELETE",
        ),
    ] {
        let res = api
            .request(method.clone(), path, Some(&token))
            .send()
            .await
            .expect("request");
        assert_eq!(res.headers()["allow"], allow, "{method} {path}");
        let body = expect_json(res, 405).await;
        assert_eq!(
            body["type"],
            "https://inventory.dev/problems/method-not-allowed"
        );
    }
}
