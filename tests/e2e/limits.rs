//! The gateway's per-client limit on login and registration: a flood gets 429 problem+json with
//! `Retry-After`, and a client cannot escape the limit by sending its own `X-Forwarded-For`. A
//! separate test binary, run after the main suite, so the flood cannot disturb other tests' logins.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use std::time::Duration;

use inventory_e2e::{Api, eventually};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_login_flood_is_limited_at_the_gateway_whatever_the_client_claims() {
    let api = Api::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..400u32 {
        let api = api.clone();
        tasks.spawn(async move {
            let res = api
                .request(Method::POST, "/auth/login", None)
                // A forged, different origin on every request.
                .header(
                    "X-Forwarded-For",
                    format!("198.51.{}.{}", i / 250, i % 250 + 1),
                )
                .json(&json!({ "username": format!("flood{i}"), "password": "not the password" }))
                .send()
                .await
                .expect("request");
            let status = res.status().as_u16();
            let retry_after = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap_or_default().to_owned());
            let content_type = res
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap_or_default().to_owned());
            (status, retry_after, content_type)
        });
    }
    let mut limited = 0;
    let mut refused = 0;
    while let Some(result) = tasks.join_next().await {
        let (status, retry_after, content_type) = result.expect("task");
        match status {
            429 => {
                limited += 1;
                assert!(
                    retry_after.is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s >= 1)),
                    "Retry-After on a 429"
                );
                assert_eq!(content_type.as_deref(), Some("application/problem+json"));
            }
            401 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(
        limited > 0,
        "the flood was limited ({refused} got through to a 401)"
    );
    assert!(
        refused > 0,
        "the burst allowance let the first requests through"
    );
    // Leave the allowance refilled for whatever runs next: poll until a login is answered on its
    // merits (401) rather than limited, which proves the limit has let go of this client.
    let refilled = eventually(Duration::from_secs(15), || async {
        let res = api
            .post(
                "/auth/login",
                None,
                &json!({ "username": "flood-over", "password": "not the password" }),
            )
            .await;
        (res.status().as_u16() == 401).then_some(())
    })
    .await;
    assert!(
        refilled.is_some(),
        "the gateway let logins through again after the flood"
    );
}
