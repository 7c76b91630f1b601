//! The stricter limits of login and register: attempts per client address (the peer, or the trusted
//! gateway's `X-Forwarded-For`), and failed logins per (username, address) — so that nobody can
//! keep a user out by failing logins in its name from elsewhere.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, ADMIN_USERNAME, Api, config, start};
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

async fn login_with(
    api: &Api,
    username: &str,
    password: &str,
    forwarded_for: &str,
) -> crate::helpers::Reply {
    let request = api
        .request(Method::POST, "/auth/login", None)
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({ "username": username, "password": password }));
    api.send(request).await
}

#[tokio::test]
async fn a_wrong_password_flood_from_one_address_does_not_lock_the_admin_out_of_another() {
    let db = TestDb::new().await;
    let mut cfg = config(&db);
    cfg.login_attempts_per_minute = 4; // burst 2
    let api = Api::new(start(cfg).await);
    // The test client is the trusted gateway: X-Forwarded-For is the client address.
    let mut limited = 0;
    for _ in 0..20 {
        let reply = login_with(&api, ADMIN_USERNAME, "wrong password", "192.0.2.66").await;
        match reply.status {
            401 => {}
            429 => {
                limited += 1;
                assert_limited(reply);
            }
            other => panic!("unexpected status {other}: {}", reply.text),
        }
    }
    assert_eq!(limited, 18, "two failures, then the pair is limited");
    // Even the right password is refused from the flooding address while it is limited...
    assert_limited(login_with(&api, ADMIN_USERNAME, ADMIN_PASSWORD, "192.0.2.66").await);
    // ...but the admin, from anywhere else, logs in (any case of the name).
    login_with(&api, ADMIN_USERNAME, ADMIN_PASSWORD, "192.0.2.67")
        .await
        .expect(200);
    login_with(&api, "ADMIN", ADMIN_PASSWORD, "2001:db8:7::1")
        .await
        .expect(200);
}

#[tokio::test]
async fn successful_logins_are_not_counted_and_failures_are_per_address() {
    let db = TestDb::new().await;
    let mut cfg = config(&db);
    cfg.login_attempts_per_minute = 2; // burst 1
    let api = Api::new(start(cfg).await);
    for _ in 0..5 {
        login_with(&api, ADMIN_USERNAME, ADMIN_PASSWORD, "192.0.2.1")
            .await
            .expect(200);
    }
    // One failure from an IPv6 client uses the allowance of its whole /64...
    login_with(&api, ADMIN_USERNAME, "wrong password", "2001:db8:1:2::1")
        .await
        .expect_problem(401);
    assert_limited(login_with(&api, ADMIN_USERNAME, "wrong password", "2001:db8:1:2::99").await);
    // ...not of the next /64 or an IPv4 client.
    login_with(&api, ADMIN_USERNAME, "wrong password", "2001:db8:1:3::1")
        .await
        .expect_problem(401);
    login_with(&api, ADMIN_USERNAME, ADMIN_PASSWORD, "192.0.2.1")
        .await
        .expect(200);
}

#[tokio::test]
async fn a_username_no_account_can_have_is_refused_like_a_wrong_password_and_never_limited() {
    let db = TestDb::new().await;
    let mut cfg = config(&db);
    cfg.login_attempts_per_minute = 2; // burst 1
    let api = Api::new(start(cfg).await);
    let wrong = login_with(&api, ADMIN_USERNAME, "wrong password", "192.0.2.5")
        .await
        .expect_problem(401);
    let long = "x".repeat(10_000);
    for username in [
        "ab",
        long.as_str(),
        "has space",
        "semi;colon",
        "ünïcode",
        "",
    ] {
        // Repeated from one address: never a 429, since the name never becomes a limiter key.
        for _ in 0..3 {
            let body = login_with(&api, username, "wrong password", "192.0.2.6")
                .await
                .expect_problem(401);
            for field in ["type", "title", "status", "detail"] {
                assert_eq!(body[field], wrong[field], "{field} for {username:?}");
            }
        }
    }
}
