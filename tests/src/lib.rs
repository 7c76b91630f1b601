//! Helpers for the end-to-end tests: a client of the gateway and users with roles, created through
//! the API as a client would (register, then an admin's PATCH, then login).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test support: failing loudly is the point

pub mod browser;
pub mod stack;

use inventory_testkit::http::TestClient;
use reqwest::{Client, Method, Response};
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

/// A client of the gateway; [`TestClient`]'s methods (such as `request`) through `Deref`.
#[derive(Clone)]
pub struct Api {
    pub client: TestClient,
}

impl Default for Api {
    fn default() -> Self {
        Self::new()
    }
}

impl std::ops::Deref for Api {
    type Target = TestClient;
    fn deref(&self) -> &TestClient {
        &self.client
    }
}

impl Api {
    pub fn new() -> Self {
        Self {
            client: TestClient::new(gateway()),
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.client.get(path, Some(token)).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send_json(Method::POST, path, token, body).await
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

    /// The quantity of the first (in these tests, only) level of `store`, as the API reads it.
    pub async fn store_quantity(&self, token: &str, store: &str) -> i64 {
        let levels = expect_json(self.get(&format!("/stock/{store}"), token).await, 200).await;
        levels["items"][0]["quantity"].as_i64().expect("a level")
    }

    /// The first page of `store`'s movements, newest first.
    pub async fn store_movements(&self, token: &str, store: &str) -> Vec<Value> {
        let page = expect_json(
            self.get(&format!("/stock/movements?store_id={store}"), token)
                .await,
            200,
        )
        .await;
        page["items"].as_array().cloned().unwrap_or_default()
    }

    /// A new store and product through the catalog API (as `admin`), named after `label` and unique.
    pub async fn store_and_product(
        &self,
        admin: &str,
        label: &str,
        price_cents: i64,
    ) -> (Uuid, Uuid) {
        let suffix = Uuid::now_v7().simple().to_string();
        let store = expect_json(
            self.post(
                "/stores",
                Some(admin),
                &json!({ "name": format!("{label} {suffix}") }),
            )
            .await,
            201,
        )
        .await;
        let product = json!({ "sku": format!("{}-{suffix}", label.to_uppercase()), "name": format!("{label} product"), "price_cents": price_cents });
        let product = expect_json(self.post("/products", Some(admin), &product).await, 201).await;
        let id = |v: &Value| {
            v["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("an id")
        };
        (id(&store), id(&product))
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
/// The Prometheus text an instance serves on its own port `port` (not through the gateway).
pub async fn metrics_text(client: &Client, port: &str) -> String {
    client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text")
}

pub use inventory_testkit::http::{eventually, expect_json, expect_problem};

/// Forged and broken access tokens, built the ways an attacker (or a misconfigured client) would.
pub mod forge {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use inventory_common::auth::{Claims, JwtSigner, Role};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::{Value, json};
    use uuid::Uuid;

    /// Claims an admin token of the stack would carry, valid for ten minutes.
    pub fn admin_claims() -> Claims {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs() as i64;
        Claims {
            iss: "inventory-auth".into(),
            aud: "inventory".into(),
            sub: Uuid::now_v7(),
            exp: now + 600,
            iat: now,
            jti: Uuid::now_v7(),
            role: Role::Admin,
            store_ids: vec![],
        }
    }

    /// The stack's key id (the `kid` its tokens carry).
    pub fn stack_kid() -> String {
        inventory_testkit::signer().public.kid
    }

    /// The stack's public key PEM, as anyone may fetch it.
    pub fn stack_public_pem() -> Vec<u8> {
        let path = super::env("INVENTORY_JWT_PUBLIC_KEY_FILES");
        let first = path.split(',').next().unwrap_or_default().trim().to_owned();
        std::fs::read(&first).expect("the stack's public key")
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    /// An unsigned token (`alg: none`) naming the stack's key.
    pub fn alg_none(claims: &Claims) -> String {
        let header = json!({ "alg": "none", "typ": "JWT", "kid": stack_kid() });
        let claims = serde_json::to_value(claims).expect("claims");
        format!("{}.{}.", b64(&header), b64(&claims))
    }

    /// An HS256 token whose HMAC secret is the stack's public key PEM (the algorithm-confusion attack).
    pub fn hs256_with_public_key(claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(stack_kid());
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_secret(&stack_public_pem()),
        )
        .expect("encode")
    }

    /// `token` with its claims changed by `change` and its signature kept.
    pub fn tampered(token: &str, change: impl FnOnce(&mut Value)) -> String {
        let mut parts = token.split('.');
        let (header, payload, signature) = (
            parts.next().expect("header"),
            parts.next().expect("payload"),
            parts.next().expect("signature"),
        );
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
                .expect("JSON claims");
        change(&mut claims);
        format!("{header}.{}.{signature}", b64(&claims))
    }

    /// A signer with a freshly generated Ed25519 key the stack has never seen (made with the
    /// `openssl` CLI, which the stack needs anyway).
    pub fn foreign_signer() -> JwtSigner {
        let dir = std::env::temp_dir().join(format!("inventory-e2e-key-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let private = dir.join("private.pem");
        let public = dir.join("public.pem");
        let openssl = |args: &[&std::ffi::OsStr]| {
            let status = std::process::Command::new("openssl")
                .args(args)
                .status()
                .expect("the openssl CLI");
            assert!(status.success(), "openssl {args:?}");
        };
        openssl(&[
            "genpkey".as_ref(),
            "-algorithm".as_ref(),
            "ed25519".as_ref(),
            "-out".as_ref(),
            private.as_os_str(),
        ]);
        openssl(&[
            "pkey".as_ref(),
            "-in".as_ref(),
            private.as_os_str(),
            "-pubout".as_ref(),
            "-out".as_ref(),
            public.as_os_str(),
        ]);
        let signer = JwtSigner::from_pem(
            &std::fs::read(&private).expect("private key"),
            &std::fs::read(&public).expect("public key"),
            "inventory-auth",
            "inventory",
        )
        .expect("foreign signer");
        std::fs::remove_dir_all(&dir).expect("remove temp dir");
        signer
    }
}
