//! Builds the worker: the consumer group, and the small HTTP port for health and metrics.

use inventory_common::web::{ServiceContext, StartupError};

use crate::config::{Config, GROUP, STREAM};

/// Creates the consumer group (and the stream) if missing. Retries until Redis answers.
pub async fn ensure_group(ctx: &ServiceContext) {
    let stream = ctx.config.redis_key(STREAM);
    let mut delay = std::time::Duration::from_millis(200);
    loop {
        let attempt = async {
            let mut conn = ctx.redis.get().await.map_err(|e| e.to_string())?;
            let created: redis::RedisResult<()> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&stream)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async(&mut *conn)
                .await;
            match created {
                Ok(()) => Ok(true),
                Err(e) if e.code() == Some("BUSYGROUP") => Ok(false),
                Err(e) => Err(e.to_string()),
            }
        };
        match attempt.await {
            Ok(true) => return tracing::info!(stream, group = GROUP, "created the consumer group"),
            Ok(false) => return,
            Err(e) => tracing::warn!(error = %e, "cannot create the consumer group yet; retrying"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(5));
    }
}

/// Builds the health and metrics server.
pub async fn build(config: Config) -> Result<inventory_common::web::Server, StartupError> {
    let ctx = ServiceContext::without_auth("ledger", config.service.clone())?;
    ensure_group(&ctx).await;
    inventory_common::web::serve(&ctx, |_| {})
}
