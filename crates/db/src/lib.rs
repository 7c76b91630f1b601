//! The database contract shared by the services: the diesel schema, the ordered migration set (with
//! the per-service roles and grants), the migration runner, and the models that more than one
//! service reads.

pub mod migrate;
pub mod models;
pub mod schema;

pub use migrate::{MIGRATIONS, MIGRATIONS_COUNT, run_migrations};
