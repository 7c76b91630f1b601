//! Test support for the services' integration tests. It needs the environment written by the test
//! stack (`make test` sources `.state/test/stack.env`): a real PostgreSQL and Redis.
//!
//! Each test gets its own database, cloned from the migrated `inventory_template` (fast), and its own
//! Redis key prefix, so tests run in parallel without seeing each other's data. The database is
//! dropped when the test's [`TestDb`] is; databases a killed test run left behind are dropped by the
//! next run once they are an hour old. [`http`] is the one HTTP client of the tests.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test support: failing loudly is the point

pub mod http;

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use diesel::{QueryableByName, sql_types::Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use inventory_common::{
    auth::{Caller, Claims, JwtSigner, Role},
    config::ServiceConfig,
};
use uuid::Uuid;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests through `make test`"))
}

/// A database of one test, cloned from the migrated template; dropped with this value.
pub struct TestDb {
    pub name: String,
}

/// How old a test database left behind by an earlier run must be before a new run drops it: far
/// longer than any test binary runs, so a database of a test still running is never touched.
const LEFT_BEHIND_AFTER: Duration = Duration::from_secs(3600);

impl TestDb {
    /// Creates a fresh database from `inventory_template`.
    pub async fn new() -> Self {
        Self::create("TEMPLATE inventory_template").await
    }

    /// Creates an empty database (not migrated), for tests of the migrations themselves.
    pub async fn empty() -> Self {
        Self::create("").await
    }

    async fn create(options: &str) -> Self {
        let name = format!("t_{}", Uuid::now_v7().simple());
        let mut conn = AsyncPgConnection::establish(&env("INVENTORY_PG_SUPER_URL"))
            .await
            .expect("connect as superuser");
        static SWEPT: AtomicBool = AtomicBool::new(false);
        if !SWEPT.swap(true, Ordering::SeqCst) {
            drop_left_behind(&mut conn).await;
        }
        diesel::sql_query(format!("CREATE DATABASE {name} {options}"))
            .execute(&mut conn)
            .await
            .expect("create the test database");
        Self { name }
    }

    /// The URL of this database for a service's own role (`auth`, `catalog`, `stock`, `ledger`).
    pub fn role_url(&self, service: &str) -> String {
        let password = env(&format!("INVENTORY_PG_{}_PASSWORD", service.to_uppercase()));
        format!(
            "postgres://inventory_{service}:{password}@{}:{}/{}",
            env("INVENTORY_PG_HOST"),
            env("INVENTORY_PG_PORT"),
            self.name
        )
    }

    /// The URL of this database for the superuser (to inspect or arrange state).
    pub fn super_url(&self) -> String {
        env("INVENTORY_PG_SUPER_URL").replace("/postgres", &format!("/{}", self.name))
    }

    /// A superuser connection to this database.
    pub async fn connect(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.super_url())
            .await
            .expect("connect to the test database")
    }
}

impl Drop for TestDb {
    /// Drops the database, ending the sessions still on it (the app's pools). A drop runs inside
    /// the test's runtime, where blocking on async work is not allowed, so the statement runs on a
    /// thread with a runtime of its own, and the drop waits for it.
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut conn = AsyncPgConnection::establish(&env("INVENTORY_PG_SUPER_URL"))
                    .await
                    .map_err(|e| e.to_string())?;
                drop_database(&mut conn, &name).await
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            // Left for the sweep of a later run; the test's own outcome stands.
            Ok(Err(e)) => eprintln!("could not drop a test database: {e}"),
            Err(_) => eprintln!("could not drop a test database: the dropping thread panicked"),
        }
    }
}

async fn drop_database(conn: &mut AsyncPgConnection, name: &str) -> Result<(), String> {
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(conn)
        .await
        .map(drop)
        .map_err(|e| format!("{name}: {e}"))
}

/// Drops the test databases (`t_<UUIDv7>`) created over [`LEFT_BEHIND_AFTER`] ago: those of test
/// processes that were killed before their drops ran.
async fn drop_left_behind(conn: &mut AsyncPgConnection) {
    #[derive(QueryableByName)]
    struct Database {
        #[diesel(sql_type = Text)]
        datname: String,
    }
    let Ok(databases) =
        diesel::sql_query(r"SELECT datname FROM pg_database WHERE datname LIKE 't\_%'")
            .load::<Database>(conn)
            .await
    else {
        return;
    };
    let now = std::time::SystemTime::now();
    for db in databases {
        let created = db
            .datname
            .strip_prefix("t_")
            .and_then(|id| Uuid::parse_str(id).ok())
            .and_then(|id| id.get_timestamp())
            .map(|ts| {
                let (secs, nanos) = ts.to_unix();
                std::time::UNIX_EPOCH + Duration::new(secs, nanos)
            });
        let old = created
            .and_then(|at| now.duration_since(at).ok())
            .is_some_and(|age| age > LEFT_BEHIND_AFTER);
        if old && let Err(e) = drop_database(conn, &db.datname).await {
            eprintln!("could not drop a left-behind test database: {e}");
        }
    }
}

/// A service configuration for `service` on an ephemeral port against `db`.
pub fn service_config(service: &str, db: &TestDb) -> ServiceConfig {
    ServiceConfig {
        host: "127.0.0.1".into(),
        port: 0,
        workers: 2,
        shutdown_timeout: Duration::from_secs(5),
        database_url: db.role_url(service),
        db_pool_size: 8,
        db_pool_timeout: Duration::from_secs(5),
        redis_url: redis_url(),
        redis_stream_url: None,
        redis_pool_size: 4,
        redis_timeout: Duration::from_millis(500),
        rate_limit_per_second: 10_000,
        rate_limit_burst: 10_000,
        trusted_proxies: vec!["127.0.0.1".parse().expect("address")],
        redis_key_prefix: format!("{}:", db.name),
        jwt_public_key_files: vec![env("INVENTORY_JWT_PUBLIC_KEY_FILES")],
        jwt_issuer: "inventory-auth".into(),
        jwt_audience: "inventory".into(),
    }
}

/// The test stack's Redis.
pub fn redis_url() -> String {
    env("REDIS_URL")
}

/// A plain Redis connection (to inspect streams and keys). Its answers may take seconds on a
/// loaded machine: a test's inspection must not fail where the client's default 500 ms would.
pub async fn redis() -> redis::aio::MultiplexedConnection {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(std::time::Duration::from_secs(10)))
        .set_response_timeout(Some(std::time::Duration::from_secs(10)));
    redis::Client::open(redis_url())
        .expect("redis url")
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .expect("connect to redis")
}

/// Signs tokens with the test stack's private key, as the auth service would.
pub fn signer() -> JwtSigner {
    JwtSigner::from_files(
        &env("INVENTORY_JWT_PRIVATE_KEY_FILE"),
        &env("INVENTORY_JWT_PUBLIC_KEY_FILES"),
        "inventory-auth",
        "inventory",
    )
    .expect("load the test signing key")
}

/// A valid access token for a user with `role` in `stores`.
pub fn token(role: Role, stores: &[Uuid]) -> String {
    token_for(Uuid::now_v7(), role, stores)
}

/// A valid access token for `user_id`.
pub fn token_for(user_id: Uuid, role: Role, stores: &[Uuid]) -> String {
    signer()
        .sign(
            &Caller {
                user_id,
                role,
                store_ids: stores.to_vec(),
            },
            900,
        )
        .expect("sign")
}

/// Signs arbitrary claims (expired, wrong issuer, ...).
pub fn sign_claims(claims: &Claims) -> String {
    signer().sign_claims(claims).expect("sign")
}
