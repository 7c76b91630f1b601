//! `POST /auth/login`: a token pair for good credentials, and one indistinguishable answer for an
//! unknown user and a wrong password.

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, access_token, jwt_part};

#[tokio::test]
async fn login_returns_a_bearer_token_pair() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let reply = app.login(&user.username, PASSWORD).await;
    assert_eq!(reply.headers["cache-control"], "no-store");
    let pair = reply.expect(200);

    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    let refresh = pair["refresh_token"].as_str().expect("refresh_token");
    assert!(refresh.len() >= 43, "a 256-bit refresh token: {refresh}");
    let mut keys: Vec<&str> = pair
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "refresh_token", "token_type"]
    );

    let token = access_token(&pair);
    let header = jwt_part(&token, 0);
    assert_eq!(header["alg"], "EdDSA");
    let claims = jwt_part(&token, 1);
    assert_eq!(claims["sub"], user.id.to_string());
    assert_eq!(claims["role"], "clerk");
    assert_eq!(claims["iss"], "inventory-auth");
    assert_eq!(claims["aud"], "inventory");
    let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
    assert_eq!(lifetime, 900);

    let me = app.get("/auth/me", Some(&token)).await.expect(200);
    assert_eq!(me["id"], user.id.to_string());
}

#[tokio::test]
async fn usernames_are_case_insensitive_at_login() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    app.login(&user.username.to_uppercase(), PASSWORD)
        .await
        .expect(200);
}

#[tokio::test]
async fn an_unknown_user_and_a_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;

    let wrong_password = app.login(&user.username, "not the password").await;
    let unknown_user = app.login("nobody-by-that-name", "not the password").await;
    let unknown_with_right_password = app.login("nobody-by-that-name", PASSWORD).await;

    assert_eq!(wrong_password.status, 401, "{}", wrong_password.text);
    for other in [&unknown_user, &unknown_with_right_password] {
        assert_eq!(other.status, wrong_password.status);
        assert_eq!(other.text, wrong_password.text, "byte-identical bodies");
        assert_eq!(
            other.headers["content-type"],
            wrong_password.headers["content-type"]
        );
        assert_eq!(
            other.headers["www-authenticate"],
            wrong_password.headers["www-authenticate"]
        );
    }
    assert!(wrong_password.body.get("access_token").is_none());
}

#[tokio::test]
async fn login_input_is_validated_like_any_body() {
    let app = TestApp::spawn().await;
    app.post("/auth/login", None, &json!({ "username": "jane" }))
        .await
        .expect_field_error("password");
    app.post(
        "/auth/login",
        None,
        &json!({ "username": "jane", "password": PASSWORD, "role": "admin" }),
    )
    .await
    .expect_field_error("role");
    app.post_raw("/auth/login", Some("text/plain"), "jane:secret")
        .await
        .expect_problem(415);
}

/// A stored role the API does not know (a row changed behind its back) is an error answered 500,
/// never taken for a clerk: nobody gets a token with a role the row does not say.
#[tokio::test]
async fn an_unknown_stored_role_is_a_500_not_a_clerk() {
    use diesel_async::SimpleAsyncConnection;

    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let mut conn = app.connect().await;
    conn.batch_execute(&format!(
        "ALTER TABLE users DROP CONSTRAINT users_role_check; \
         UPDATE users SET role = 'superuser' WHERE id = '{}'",
        user.id
    ))
    .await
    .expect("corrupt the role");
    let reply = app.login(&user.username, PASSWORD).await;
    let problem = reply.expect_problem(500);
    assert!(
        !problem.to_string().contains("superuser"),
        "internals stay out of the answer: {problem}"
    );
}
