//! The Redis pool (bb8-redis, the same bb8 as the database pool).
//!
//! A checked-out connection is tested with a `PING` only when it sat unused for a second or its
//! last request went unanswered (its caller's timeout gave up on it); under load a connection is
//! handed out again within milliseconds, and a `PING` on every check-out doubled the round trips
//! of a cached read (measured: 29,626 `PING`s for 27,431 `HGET`s of store pages). A connection a
//! command found dropped is discarded instead of going back to the pool, and a `PING` that gets no
//! answer within half the pool's timeout discards it too (a Redis host that vanished without
//! closing the socket). The price: when Redis closes connections that answered within the last
//! second (a restart faster than that, `CLIENT KILL`), each of them fails one command before it is
//! replaced; every caller treats such a failure as an outage already (the cache falls back to the
//! database, an invalidation is retried, the relay publishes the rows again).

use std::time::{Duration, Instant};

use bb8_redis::RedisConnectionManager;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value, aio::MultiplexedConnection};

/// A pool of multiplexed Redis connections.
pub type RedisPool = bb8::Pool<Manager>;

/// A connection idle this long is tested with a `PING` before it is handed out: a Redis restart
/// while it sat in the pool shows before a request uses it.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// bb8-redis's manager, with a check-out test that costs a round trip only when one can find
/// something (see the module doc).
pub struct Manager {
    inner: RedisConnectionManager,
    /// How long the check-out's `PING` may take before the connection is given up.
    ping_timeout: Duration,
}

/// One pooled connection: the multiplexed connection, when it last answered, whether a request
/// on it went unanswered, and whether a command found it dropped (it is then replaced instead of
/// going back to the pool).
pub struct Connection {
    conn: MultiplexedConnection,
    answered_at: Instant,
    /// Set while a request waits for its answer; still set when the caller stopped waiting.
    unanswered: bool,
    dropped: bool,
}

impl Connection {
    fn note<T>(&mut self, result: &Result<T, RedisError>) {
        self.unanswered = false;
        match result {
            Ok(_) => self.answered_at = Instant::now(),
            Err(e) if e.is_unrecoverable_error() || e.is_connection_dropped() => {
                self.dropped = true;
            }
            // A server's error reply (a wrong type, a script error) says the connection works.
            Err(_) => {}
        }
    }

    /// Whether the check-out test must ask Redis.
    fn needs_ping(&self) -> bool {
        self.unanswered || self.answered_at.elapsed() >= IDLE_BEFORE_PING
    }
}

impl redis::aio::ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            self.unanswered = true;
            let result = self.conn.send_packed_command(cmd).await;
            self.note(&result);
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            self.unanswered = true;
            let result = self
                .conn
                .send_packed_commands(pipeline, offset, count)
                .await;
            self.note(&result);
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
    }
}

impl bb8::ManageConnection for Manager {
    type Connection = Connection;
    type Error = RedisError;

    async fn connect(&self) -> Result<Connection, RedisError> {
        Ok(Connection {
            conn: self.inner.connect().await?,
            answered_at: Instant::now(),
            unanswered: false,
            dropped: false,
        })
    }

    async fn is_valid(&self, conn: &mut Connection) -> Result<(), RedisError> {
        if conn.dropped {
            return Err(io_error("the connection was dropped"));
        }
        if !conn.needs_ping() {
            return Ok(());
        }
        conn.unanswered = true;
        let Ok(result) =
            tokio::time::timeout(self.ping_timeout, self.inner.is_valid(&mut conn.conn)).await
        else {
            conn.dropped = true;
            return Err(io_error("no answer to PING in time"));
        };
        conn.note(&result);
        result
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.dropped
    }
}

fn io_error(what: &'static str) -> RedisError {
    RedisError::from((redis::ErrorKind::Io, what))
}

/// Builds the pool without connecting; callers treat Redis as optional where they can (the cache)
/// and bound every call by a short timeout so an outage degrades instead of stalling requests.
pub fn build_redis_pool(
    url: &str,
    max_size: u32,
    timeout: Duration,
) -> Result<RedisPool, RedisError> {
    let manager = Manager {
        inner: RedisConnectionManager::new(url)?,
        ping_timeout: timeout / 2,
    };
    Ok(bb8::Pool::builder()
        .max_size(max_size)
        .connection_timeout(timeout)
        // The connection used last is handed out first: at low load it is the one that answered
        // moments ago and needs no PING (in turn, each idle connection would sit for a second).
        .queue_strategy(bb8::QueueStrategy::Lifo)
        // Connections broken by a Redis restart are replaced instead of being handed out forever
        // (a multiplexed connection does not reconnect by itself); see `Manager::is_valid`.
        .test_on_check_out(true)
        .build_unchecked(manager))
}

/// The pool for the event stream: `default` when `REDIS_STREAM_URL` is `REDIS_URL`, else a pool of
/// the same size and timeout on the stream's own Redis.
pub fn stream_pool(
    config: &crate::config::ServiceConfig,
    default: &RedisPool,
) -> Result<RedisPool, RedisError> {
    if config.stream_url() == config.redis_url {
        return Ok(default.clone());
    }
    build_redis_pool(
        config.stream_url(),
        config.redis_pool_size,
        config.redis_timeout,
    )
}
