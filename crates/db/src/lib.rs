//! The database contract shared by the services: the diesel schema, the ordered migration set (with
//! the per-service roles and grants), the migration runner, and the models that more than one
//! service reads.

pub mod fixed;
pub mod migrate;
pub mod models;
pub mod schema;

/// SQL functions the services call in queries.
pub mod sql {
    diesel::define_sql_function!(
        /// PostgreSQL's `lower(text)`, for case-insensitive matches served by `lower(...)` indexes.
        fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text
    );
}

pub use migrate::{MIGRATIONS, MIGRATIONS_COUNT, run_migrations};
