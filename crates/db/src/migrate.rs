//! Runs the embedded migrations under a PostgreSQL advisory lock, so two migrators started at once
//! (two instances, two CI jobs) apply each migration exactly once.

use diesel::{RunQueryDsl, sql_query};
use diesel_async::{AsyncPgConnection, async_connection_wrapper::AsyncConnectionWrapper};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// The migrations under `crates/db/migrations`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// How many migrations [`MIGRATIONS`] holds (one per directory under `crates/db/migrations`).
pub const MIGRATIONS_COUNT: usize = include!(concat!(env!("OUT_DIR"), "/migrations_count.rs"));

/// Arbitrary but fixed: the advisory lock key that serialises migrators.
const MIGRATION_LOCK_KEY: i64 = 0x1a7e_5700_0000_0001;

/// A migration run that failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("migration task panicked: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Applies every pending migration and returns the versions it applied. Needs a multi-threaded
/// tokio runtime (diesel-async's blocking wrapper).
pub async fn run_migrations(database_url: &str) -> Result<Vec<String>, MigrateError> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn =
            <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)?;
        sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")).execute(&mut conn)?;
        let result = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(|v| v.to_string()).collect())
            .map_err(|e| MigrateError::Migration(e.to_string()));
        // The lock is per session: closing the connection releases it even if the unlock fails.
        sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")).execute(&mut conn)?;
        result
    })
    .await?
}
