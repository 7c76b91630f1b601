//! The PostgreSQL pool (diesel-async over bb8, no libpq) and its error mapping.

use std::{future::Future, pin::Pin, time::Duration};

use diesel_async::{
    AsyncConnection, AsyncPgConnection, RunQueryDsl,
    pooled_connection::{
        AsyncDieselConnectionManager, ManagerConfig, PoolError, PoolableConnection, RecyclingMethod,
    },
};

use crate::ApiError;

/// A pool of async PostgreSQL connections.
pub type PgPool = bb8::Pool<AsyncDieselConnectionManager<AsyncPgConnection>>;
/// One connection checked out of [`PgPool`].
pub type PgConn<'a> = bb8::PooledConnection<'a, AsyncDieselConnectionManager<AsyncPgConnection>>;

/// Builds the pool without connecting: a service starts while the database is down and reports it
/// on `/readyz`; requests answer 503 until it is back.
pub fn build_pg_pool(url: &str, max_size: u32, timeout: Duration) -> PgPool {
    build(url, max_size, timeout, ManagerConfig::default())
}

/// Like [`build_pg_pool`], for one kind of work whose connections run `setup` (one statement, such
/// as `SET enable_seqscan = off`) once when they connect, before they are handed out. A connection
/// whose setup fails is not handed out (the check-out fails, as for a failed connect).
pub fn build_pg_pool_with_setup(
    url: &str,
    max_size: u32,
    timeout: Duration,
    setup: &'static str,
) -> PgPool {
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    config.custom_setup = Box::new(move |url| {
        Box::pin(async move {
            let mut conn = AsyncPgConnection::establish(url).await?;
            diesel::sql_query(setup)
                .execute(&mut conn)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        })
    });
    build(url, max_size, timeout, config)
}

fn build(
    url: &str,
    max_size: u32,
    timeout: Duration,
    mut config: ManagerConfig<AsyncPgConnection>,
) -> PgPool {
    config.recycling_method = RecyclingMethod::CustomFunction(Box::new(still_open));
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    bb8::Pool::builder()
        .max_size(max_size)
        .min_idle(Some(1))
        .connection_timeout(timeout)
        .idle_timeout(Some(Duration::from_secs(300)))
        // Drops connections that broke during a database restart instead of handing them out.
        .test_on_check_out(true)
        .build_unchecked(manager)
}

/// The check-out test: the connection's socket is still open and no transaction was left broken.
/// A closed socket (the server restarted or was killed) shows at once, without a query: the default
/// check (`SELECT 1`) cost every request a round trip.
fn still_open(
    conn: &mut AsyncPgConnection,
) -> Pin<Box<dyn Future<Output = diesel::QueryResult<()>> + Send + '_>> {
    let broken = conn.is_broken();
    Box::pin(async move {
        if broken {
            Err(diesel::result::Error::BrokenTransactionManager)
        } else {
            Ok(())
        }
    })
}

/// Checks a connection out of the pool; a timeout or a failed connect answers 503. The wait is
/// recorded in `db_pool_wait_seconds`.
pub async fn conn(pool: &PgPool) -> Result<PgConn<'_>, ApiError> {
    let started = std::time::Instant::now();
    let result = pool.get().await.map_err(ApiError::from);
    metrics::histogram!("db_pool_wait_seconds").record(started.elapsed().as_secs_f64());
    result
}

impl From<bb8::RunError<PoolError>> for ApiError {
    fn from(e: bb8::RunError<PoolError>) -> Self {
        match e {
            bb8::RunError::TimedOut => {
                ApiError::Unavailable("the database is busy; try again".into())
            }
            bb8::RunError::User(err) => {
                tracing::error!(error = %err, "database connection failed");
                ApiError::Unavailable("the database is unavailable".into())
            }
        }
    }
}
