//! The auth app on an ephemeral port against its own database, and a client that checks every
//! response it reads for leaked password hashes.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use diesel_async::AsyncPgConnection;
use inventory_auth::config::Config;
use inventory_testkit::{TestDb, http::TestClient};
use reqwest::{Method, RequestBuilder, header::HeaderMap};
use serde_json::{Value, json};
use uuid::Uuid;

/// The configured first admin of every test app.
pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
/// The password of users made by [`TestApp::new_user`].
pub const PASSWORD: &str = "correct horse battery";

/// The auth configuration of a test: the stack's signing key, cheap bcrypt, an admin from config.
pub fn config(db: &TestDb) -> Config {
    Config {
        service: inventory_testkit::service_config("auth", db),
        private_key_file: std::env::var("INVENTORY_JWT_PRIVATE_KEY_FILE")
            .expect("INVENTORY_JWT_PRIVATE_KEY_FILE is not set: source the stack's stack.env"),
        access_ttl_secs: 900,
        refresh_ttl_secs: 3600,
        bcrypt_cost: 4,
        credential_rate_per_minute: 10_000,
        credential_rate_burst: 10_000,
        login_attempts_per_minute: 10_000,
        admin_username: ADMIN_USERNAME.into(),
        admin_password: Some(ADMIN_PASSWORD.into()),
        registration: inventory_auth::config::Registration::Open,
    }
}

/// Builds the app from `config` and runs it in the background; returns its base URL.
pub async fn start(config: Config) -> String {
    let server = inventory_auth::startup::build(config)
        .await
        .expect("the auth app starts");
    let base = format!("http://127.0.0.1:{}", server.port);
    tokio::spawn(server.server);
    base
}

/// A running auth app and its database; [`Api`]'s methods through `Deref`.
pub struct TestApp {
    pub api: Api,
    pub db: TestDb,
}

impl std::ops::Deref for TestApp {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

/// A client of one app that reads every answer into a [`Reply`]; [`TestClient`]'s methods (such as
/// `request`) through `Deref`. Cheap to clone into concurrent tasks.
#[derive(Clone)]
pub struct Api {
    client: TestClient,
}

impl std::ops::Deref for Api {
    type Target = TestClient;
    fn deref(&self) -> &TestClient {
        &self.client
    }
}

/// A response, read once.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    /// The raw body, for byte-for-byte comparisons.
    pub text: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
}

impl Reply {
    /// Asserts the status (showing the body when it differs) and returns the JSON body.
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self.body
    }

    /// Asserts a problem+json answer with `status` and returns its body.
    pub fn expect_problem(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.headers["content-type"], "application/problem+json",
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], status, "{}", self.text);
        self.body
    }

    /// Asserts a 400 naming `field` first.
    pub fn expect_field_error(self, field: &str) {
        let text = self.text.clone();
        let body = self.expect_problem(400);
        assert_eq!(body["errors"][0]["field"], field, "{text}");
    }
}

/// A user made through the API.
pub struct User {
    pub id: Uuid,
    pub username: String,
}

impl TestApp {
    /// A fresh database and an app on it.
    pub async fn spawn() -> Self {
        let db = TestDb::new().await;
        let base = start(config(&db)).await;
        Self {
            api: Api::new(base),
            db,
        }
    }

    /// A superuser connection to the app's database.
    pub async fn connect(&self) -> AsyncPgConnection {
        self.db.connect().await
    }
}

impl Api {
    /// A client of the app at `base`.
    pub fn new(base: String) -> Self {
        Self {
            client: TestClient::new(base),
        }
    }

    /// Sends a request and reads the response. Every body is checked here: no endpoint may ever
    /// return a password hash, whatever the test is about.
    pub async fn send(&self, request: RequestBuilder) -> Reply {
        let res = request.send().await.expect("request reaches the app");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        assert!(
            !text.contains("password_hash") && !text.contains("$2"),
            "a response leaks a password hash: {text}"
        );
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(self.request(Method::GET, path, token)).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path, token).json(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(self.request(Method::PATCH, path, token).json(body))
            .await
    }

    /// Posts `body` verbatim with `content_type`.
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: &str) -> Reply {
        let mut request = self.request(Method::POST, path, None).body(body.to_owned());
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        self.send(request).await
    }

    pub async fn register(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/auth/register",
            None,
            &json!({ "username": username, "password": password }),
        )
        .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/auth/login",
            None,
            &json!({ "username": username, "password": password }),
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.post(
            "/auth/refresh",
            None,
            &json!({ "refresh_token": refresh_token }),
        )
        .await
    }

    /// Logs in and returns the token pair.
    pub async fn tokens(&self, username: &str, password: &str) -> Value {
        self.login(username, password).await.expect(200)
    }

    /// The configured admin's access token.
    pub async fn admin_token(&self) -> String {
        access_token(&self.tokens(ADMIN_USERNAME, ADMIN_PASSWORD).await)
    }

    /// Registers a new clerk with [`PASSWORD`].
    pub async fn new_user(&self) -> User {
        let username = format!("user-{}", Uuid::now_v7().simple());
        let body = self.register(&username, PASSWORD).await.expect(201);
        User {
            id: body["id"].as_str().expect("id").parse().expect("uuid"),
            username,
        }
    }

    /// A new user's access token and refresh token.
    pub async fn new_session(&self) -> (User, Value) {
        let user = self.new_user().await;
        let pair = self.tokens(&user.username, PASSWORD).await;
        (user, pair)
    }
}

/// The access token of a token pair.
pub fn access_token(pair: &Value) -> String {
    pair["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// The refresh token of a token pair.
pub fn refresh_token(pair: &Value) -> String {
    pair["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned()
}

/// Decodes one base64url part of a JWT (0 header, 1 claims) as JSON.
pub fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a JWT part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}
