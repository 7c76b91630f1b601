//! Helpers for the end-to-end tests: a client of the gateway and users with roles, created through
//! the API as a client would (register, then an admin's PATCH, then login).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test support: failing loudly is the point

use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{Value, json};
use uuid::Uuid;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests through `make test`"))
}

/// The gateway's base URL.
pub fn gateway() -> String {
    env("GATEWAY_URL")
}

/// A client of the gateway.
#[derive(Clone)]
pub struct Api {
    pub client: Client,
    pub base: String,
}

impl Default for Api {
    fn default() -> Self {
        Self::new()
    }
}

impl Api {
    pub fn new() -> Self {
        Self {
            client: Client::builder()
                .pool_max_idle_per_host(32)
                .build()
                .expect("client"),
            base: gateway(),
        }
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self
            .client
            .request(method, format!("{}{}", self.base, path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token))
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Logs in and returns the token pair.
    pub async fn login(&self, username: &str, password: &str) -> Value {
        let res = self
            .post(
                "/auth/login",
                None,
                &json!({ "username": username, "password": password }),
            )
            .await;
        assert_eq!(res.status(), 200, "login of {username}");
        res.json().await.expect("json")
    }

    /// The configured admin's access token.
    pub async fn admin_token(&self) -> String {
        let pair = self
            .login(
                &env("INVENTORY_ADMIN_USERNAME"),
                &env("INVENTORY_ADMIN_PASSWORD"),
            )
            .await;
        pair["access_token"].as_str().expect("token").to_owned()
    }

    /// Registers a new user, gives it `role` and `stores` as the admin, logs it in.
    pub async fn user(&self, role: &str, stores: &[Uuid]) -> TestUser {
        let username = format!("u{}", Uuid::now_v7().simple());
        let password = "correct horse battery".to_owned();
        let res = self
            .post(
                "/auth/register",
                None,
                &json!({ "username": username, "password": password }),
            )
            .await;
        assert_eq!(res.status(), 201, "register");
        let user: Value = res.json().await.expect("json");
        let id: Uuid = user["id"].as_str().expect("id").parse().expect("uuid");
        if role != "clerk" || !stores.is_empty() {
            let admin = self.admin_token().await;
            let res = self
                .request(Method::PATCH, &format!("/auth/users/{id}"), Some(&admin))
                .json(&json!({ "role": role, "store_ids": stores }))
                .send()
                .await
                .expect("patch");
            assert_eq!(res.status(), 200, "patch user");
        }
        let pair = self.login(&username, &password).await;
        TestUser {
            id,
            username,
            password,
            token: pair["access_token"].as_str().expect("token").to_owned(),
        }
    }
}

/// A user created for a test.
pub struct TestUser {
    pub id: Uuid,
    pub username: String,
    pub password: String,
    pub token: String,
}

/// Reads a JSON body, asserting the status first (with the body in the message when it differs).
pub async fn expect_json(res: Response, status: u16) -> Value {
    let actual = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
