//! Authentication through the gateway: every forged or broken token is refused alike by auth,
//! catalog and stock; a token from auth is accepted by all of them; login works end to end.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use inventory_common::auth::Claims;
use inventory_e2e::{Api, expect_json, forge};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

/// One authenticated read per service.
struct Target {
    service: &'static str,
    path: String,
}

fn targets() -> Vec<Target> {
    vec![
        Target {
            service: "auth",
            path: "/auth/me".into(),
        },
        Target {
            service: "catalog",
            path: "/products".into(),
        },
        Target {
            service: "stock",
            // A read any valid token may make (a store's levels need an assignment to it).
            path: "/stock/movements".into(),
        },
    ]
}

/// The targets, each checked to be served: an unknown route is answered with a 404 before anything
/// checks the token, so a 401 from a service that lacks the route would prove nothing.
async fn served_targets(api: &Api) -> Vec<Target> {
    let token = api.admin_token().await;
    let targets = targets();
    for target in &targets {
        let res = api.get(&target.path, &token).await;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        let no_route = status == 404
            && body["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("no route for"));
        assert!(
            !no_route,
            "{} does not serve GET {}: is the stack running the current build?",
            target.service, target.path
        );
    }
    targets
}

async fn assert_unauthorized(res: Response, what: &str) {
    let content_type = res.headers().get("content-type").cloned();
    let challenge = res.headers().get("www-authenticate").cloned();
    let body = expect_json_ctx(res, 401, what).await;
    assert_eq!(
        content_type.as_ref().and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{what}"
    );
    assert_eq!(
        challenge.as_ref().and_then(|v| v.to_str().ok()),
        Some("Bearer"),
        "{what}"
    );
    assert_eq!(body["status"], 401, "{what}");
}

async fn expect_json_ctx(res: Response, status: u16, what: &str) -> Value {
    let actual = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(actual, status, "{what}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn signed(change: impl FnOnce(&mut Claims)) -> String {
    let mut claims = forge::admin_claims();
    change(&mut claims);
    inventory_testkit::sign_claims(&claims)
}

#[tokio::test]
async fn every_forged_or_broken_token_is_refused_by_every_service() {
    let api = Api::new();
    let clerk = api.user("clerk", &[]).await;
    let now = forge::admin_claims().iat;
    let foreign = forge::foreign_signer();
    let tokens: Vec<(&str, Option<String>)> = vec![
        ("no Authorization header", None),
        ("garbage", Some("garbage".into())),
        ("three garbage parts", Some("a.b.c".into())),
        ("alg none", Some(forge::alg_none(&forge::admin_claims()))),
        (
            "HS256 signed with the public key",
            Some(forge::hs256_with_public_key(&forge::admin_claims())),
        ),
        (
            "payload tampered to admin",
            Some(forge::tampered(&clerk.token, |claims| {
                claims["role"] = json!("admin");
            })),
        ),
        ("expired", Some(signed(|c| c.exp = now - 3600))),
        ("wrong issuer", Some(signed(|c| c.iss = "evil-auth".into()))),
        (
            "wrong audience",
            Some(signed(|c| c.aud = "another-api".into())),
        ),
        (
            "unknown kid (a key the stack never saw)",
            Some(foreign.sign_claims(&forge::admin_claims()).expect("sign")),
        ),
    ];

    for target in served_targets(&api).await {
        for (case, token) in &tokens {
            let res = api
                .request(Method::GET, &target.path, token.as_deref())
                .send()
                .await
                .expect("request");
            assert_unauthorized(res, &format!("{} {}: {case}", target.service, target.path)).await;
        }
        // Not a bearer token at all.
        let res = api
            .request(Method::GET, &target.path, None)
            .basic_auth(&clerk.username, Some(&clerk.password))
            .send()
            .await
            .expect("request");
        assert_unauthorized(res, &format!("{}: basic auth", target.service)).await;
    }
}

#[tokio::test]
async fn a_token_from_auth_is_accepted_by_every_service() {
    let api = Api::new();
    let clerk = api.user("clerk", &[]).await;
    for target in served_targets(&api).await {
        let res = api.get(&target.path, &clerk.token).await;
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        assert!(
            status == 200 || (status == 404 && !text.contains("no route")),
            "{} {} answered {status}: {text}",
            target.service,
            target.path
        );
    }
}

#[tokio::test]
async fn login_through_the_gateway_returns_a_working_pair() {
    let api = Api::new();
    let username = format!("e2e{}", Uuid::now_v7().simple());
    let password = "correct horse battery";
    let registered = expect_json(
        api.post(
            "/auth/register",
            None,
            &json!({ "username": username, "password": password }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(registered["role"], "clerk");

    let pair = api.login(&username, password).await;
    assert_eq!(pair["token_type"], "Bearer");
    assert!(pair["expires_in"].as_i64().is_some_and(|s| s > 0));
    let token = pair["access_token"].as_str().expect("access_token");
    let me = expect_json(api.get("/auth/me", token).await, 200).await;
    assert_eq!(me["username"], username.as_str());

    let refreshed = expect_json(
        api.post(
            "/auth/refresh",
            None,
            &json!({ "refresh_token": pair["refresh_token"] }),
        )
        .await,
        200,
    )
    .await;
    assert_ne!(refreshed["refresh_token"], pair["refresh_token"]);

    // The gateway passes the same answer for an unknown user and a wrong password.
    let wrong = api
        .post(
            "/auth/login",
            None,
            &json!({ "username": username, "password": "wrong password" }),
        )
        .await;
    let unknown = api
        .post(
            "/auth/login",
            None,
            &json!({ "username": format!("x{username}"), "password": "wrong password" }),
        )
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(
        wrong.text().await.expect("body"),
        unknown.text().await.expect("body")
    );
}

#[tokio::test]
async fn users_with_roles_are_made_through_the_api() {
    let api = Api::new();
    let manager = api.user("manager", &[]).await;
    let me = expect_json(api.get("/auth/me", &manager.token).await, 200).await;
    assert_eq!(me["id"], manager.id.to_string());
    assert_eq!(me["role"], "manager");
    assert_eq!(me["store_ids"], json!([]));

    // A manager is still no admin.
    let res = api.get("/auth/users", &manager.token).await;
    assert_eq!(res.status(), 403);
    let admin = api.admin_token().await;
    let page = expect_json(api.get("/auth/users?limit=1", &admin).await, 200).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
}
