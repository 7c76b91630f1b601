//! The Redis pool (bb8-redis, the same bb8 as the database pool).

use std::time::Duration;

use bb8_redis::RedisConnectionManager;

/// A pool of multiplexed Redis connections.
pub type RedisPool = bb8::Pool<RedisConnectionManager>;

/// Builds the pool without connecting; callers treat Redis as optional where they can (the cache)
/// and bound every call by a short timeout so an outage degrades instead of stalling requests.
pub fn build_redis_pool(
    url: &str,
    max_size: u32,
    timeout: Duration,
) -> Result<RedisPool, redis::RedisError> {
    let manager = RedisConnectionManager::new(url)?;
    Ok(bb8::Pool::builder()
        .max_size(max_size)
        .connection_timeout(timeout)
        // A PING on every checkout: connections broken by a Redis restart are replaced instead of
        // being handed out forever (a multiplexed connection does not reconnect by itself).
        .test_on_check_out(true)
        .build_unchecked(manager))
}

/// The pool for the event stream: `default` when `REDIS_STREAM_URL` is `REDIS_URL`, else a pool of
/// the same size and timeout on the stream's own Redis.
pub fn stream_pool(
    config: &crate::config::ServiceConfig,
    default: &RedisPool,
) -> Result<RedisPool, redis::RedisError> {
    if config.stream_url() == config.redis_url {
        return Ok(default.clone());
    }
    build_redis_pool(
        config.stream_url(),
        config.redis_pool_size,
        config.redis_timeout,
    )
}
