//! The stricter limits of login and register: per client address (the peer, or the trusted
//! gateway's `X-Forwarded-For`), and per username for login whatever the address.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Api, config, start};
use inventory_testkit::TestDb;

async fn login_as(api: &Api, username: &str, forwarded_for: Option<&str>) -> crate::helpers::Reply {
    let mut request = api
        .request(Method::POST, "/auth/login", None)
        .json(&json!({ "username": username, "password": "wrong password" }));
    if let Some(address) = forwarded_for {
        request = request.header("X-Forwarded-For", address);
    }
    api.send(request).await
}

fn assert_limited(reply: crate::helpers::Reply) {
    let retry_after: u64 = reply.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry_after >= 1);
    let body = reply.expect_problem(429);
    assert_eq!(body["type"], "https://inventory.dev/problems/rate-limited");
}

#[tokio::test]
async fn login_is_limited_per_address_and_a_forged_forwarding_header_does_not_escape() {
    let db = TestDb::new().await;
    let mut cfg = config(&db);
    cfg.credential_rate_per_minute = 1;
    cfg.credential_rate_burst = 3;
    // The test client is not a trusted proxy: its X-Forwarded-For must be ignored.
    cfg.service.trusted_proxies = vec![];
    let api = Api::new(start(cfg).await);
    for i in 0..3 {
        login_as(&api, &format!("nobody{i}"), None)
            .await
            .expect_problem(401);
    }
    assert_limited(login_as(&api, "nobody9", None).await);
    // Claiming to be someone else does not reset the allowance.
    assert_limited(login_as(&api, "nobody9", Some("203.0.113.7")).await);
    assert_limited(login_as(&api, "nobody9", Some("198.51.100.1, 203.0.113.8")).await);
    // Registration shares the per-address allowance.
    let reply = api.register("someone-new", "correct horse battery").await;
    assert_limited(reply);
}

#[tokio::test]
async fn behind_a_trusted_gateway_each_client_address_has_its_own_allowance() {
    let db = TestDb::new().await;
    let mut cfg = config(&db);
    cfg.credential_rate_per_minute = 1;
    cfg.credential_rate_burst = 2;
    let api = Api::new(start(cfg).await);
    for i in 0..2 {
        login_as(&api, &format!("a{i}-user"), Some("192.0.2.10"))
            .await
            .expect_problem(401);
    }
    assert_limited(login_as(&api, "a9-user", Some("192.0.2.10")).await);
    login_as(&api, "b0-user", Some("192.0.2.11"))
        .await
        .expect_problem(401);
}

#[tokio::test]
async fn login_attempts_are_limited_per_username_whatever_the_address() {
    let db = TestDb::new().await;
    let mut cfg = config(&db);
    cfg.login_attempts_per_minute = 2;
    let api = Api::new(start(cfg).await);
    login_as(&api, "target-user", Some("192.0.2.1"))
        .await
        .expect_problem(401);
    // The username is compared case-insensitively.
    assert_limited(login_as(&api, "TARGET-user", Some("192.0.2.2")).await);
    // Other usernames are unaffected.
    login_as(&api, "other-user", Some("192.0.2.3"))
        .await
        .expect_problem(401);
}
