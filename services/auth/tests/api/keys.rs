//! `GET /auth/jwks.json` and `GET /auth/me`: the published key verifies what login signs, and only
//! valid tokens identify a caller.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use inventory_common::auth::{Claims, Role};
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestApp, access_token, jwt_part};

#[tokio::test]
async fn the_jwks_publishes_the_key_that_signs_tokens() {
    let app = TestApp::spawn().await;
    let reply = app.get("/auth/jwks.json", None).await;
    assert!(
        reply.headers["cache-control"]
            .to_str()
            .is_ok_and(|v| v.contains("max-age")),
        "cacheable"
    );
    let jwks = reply.expect(200);
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    let x = URL_SAFE_NO_PAD
        .decode(key["x"].as_str().expect("x"))
        .expect("x is base64url");
    assert_eq!(x.len(), 32, "an Ed25519 public key");
    assert!(key.get("d").is_none(), "never the private part");

    let (_, pair) = app.new_session().await;
    let header = jwt_part(&access_token(&pair), 0);
    assert_eq!(header["kid"], key["kid"]);
    assert_eq!(header["alg"], key["alg"]);
}

#[tokio::test]
async fn me_shows_the_caller_as_stored() {
    let app = TestApp::spawn().await;
    let (user, pair) = app.new_session().await;
    let me = app
        .get("/auth/me", Some(&access_token(&pair)))
        .await
        .expect(200);
    assert_eq!(me["id"], user.id.to_string());
    assert_eq!(me["username"], user.username.as_str());
    assert_eq!(me["role"], "clerk");
    assert_eq!(me["store_ids"], serde_json::json!([]));
    assert_eq!(me["disabled"], false);
}

#[tokio::test]
async fn me_refuses_missing_and_invalid_tokens() {
    let app = TestApp::spawn().await;
    let (user, pair) = app.new_session().await;
    let valid = access_token(&pair);
    let now = chrono::Utc::now().timestamp();
    let claims = |f: &dyn Fn(&mut Claims)| {
        let mut claims = Claims {
            iss: "inventory-auth".into(),
            aud: "inventory".into(),
            sub: user.id,
            exp: now + 600,
            iat: now,
            jti: Uuid::now_v7(),
            role: Role::Clerk,
            store_ids: vec![],
        };
        f(&mut claims);
        inventory_testkit::sign_claims(&claims)
    };
    let (head, _) = valid.split_once('.').expect("a JWT");
    let signature = valid.rsplit('.').next().expect("signature");
    let mut payload = jwt_part(&valid, 1);
    payload["role"] = "admin".into();
    let tampered = format!(
        "{head}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );

    let cases = [
        ("garbage", "not.a.jwt".to_owned()),
        ("tampered", tampered),
        ("expired", claims(&|c| c.exp = now - 3600)),
        ("wrong issuer", claims(&|c| c.iss = "someone-else".into())),
        ("wrong audience", claims(&|c| c.aud = "other-api".into())),
    ];
    for (case, token) in cases {
        let reply = app.get("/auth/me", Some(&token)).await;
        assert_eq!(reply.status, 401, "{case}: {}", reply.text);
        assert_eq!(reply.headers["www-authenticate"], "Bearer", "{case}");
    }
    app.get("/auth/me", None).await.expect_problem(401);
    let basic = app
        .send(
            app.request(reqwest::Method::GET, "/auth/me", None)
                .basic_auth(&user.username, Some(PASSWORD)),
        )
        .await;
    assert_eq!(basic.status, 401);
}
