//! Invalidation after a committed write: versions bumped and keys dropped in one Redis round trip,
//! retried in the background while Redis cannot be reached.

use std::time::Duration;

use super::{Cache, POSITION_TTL};
use uuid::Uuid;

use crate::read::{Committed, KEEP_MAX, Lsn, position_value};

impl Cache {
    /// After a write by `writer` committed at `position` (with a replica): drops `keys` and, in
    /// the same round trip, remembers the position as the writer's last write. Returns what the
    /// response hands the consistency middleware (`web::with_committed`, with the `web` feature).
    pub async fn written(
        &self,
        keys: &[String],
        writer: Uuid,
        position: Option<Lsn>,
    ) -> Option<Committed> {
        let remember = match (&self.positions, position) {
            (Some(db), Some(lsn)) => Some(db.remember_cmd(writer, lsn)),
            _ => None,
        };
        let remembered = self.invalidate(keys, position, remember).await;
        position.map(|lsn| Committed { lsn, remembered })
    }

    /// Drops `keys` after a committed write, so the next read of any instance reloads them. When
    /// Redis cannot be reached, the keys are retried in the background until it can. `committed`
    /// is the write's position when it found it on its own connection
    /// ([`crate::read::Db::position_after`]); otherwise, with a replica, the primary is asked for
    /// its current one. `also` (e.g. [`crate::read::Db::remember_cmd`]) is sent in the same round
    /// trip; the answer is whether it was.
    pub async fn invalidate(
        &self,
        keys: &[String],
        committed: Option<Lsn>,
        also: Option<redis::Cmd>,
    ) -> bool {
        let keys: Vec<String> = keys
            .iter()
            .map(|k| format!("{}{}", self.prefix, k))
            .collect();
        // After the commit: the position every fill of these keys must have been replayed to.
        let position = match (&self.positions, committed) {
            (None, _) => None,
            (Some(_), Some(lsn)) => Some(lsn),
            (Some(db), None) => Some(db.primary_position().await.unwrap_or(Lsn::MAX)),
        };
        let sent = also.is_some();
        if let Err(e) = self.flush(&keys, position, also).await {
            self.failed("invalidate", &e);
            let first = {
                let mut unflushed = self.unflushed.lock().unwrap_or_else(|e| e.into_inner());
                let was_empty = unflushed.is_empty();
                unflushed.extend(keys);
                was_empty
            };
            if first {
                self.retry_unflushed();
            }
            return false;
        }
        sent
    }

    pub(super) fn is_unflushed(&self, key: &str) -> bool {
        let unflushed = self.unflushed.lock().unwrap_or_else(|e| e.into_inner());
        !unflushed.is_empty() && unflushed.contains(key)
    }

    /// Retries the failed invalidations every half second until they all went through.
    fn retry_unflushed(&self) {
        let cache = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let keys: Vec<String> = cache
                    .unflushed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .cloned()
                    .collect();
                // The writes are older than the outage; their positions are not known any more.
                let position = cache.positions.as_ref().map(|_| Lsn::MAX);
                if keys.is_empty() || cache.flush(&keys, position, None).await.is_ok() {
                    let mut unflushed = cache.unflushed.lock().unwrap_or_else(|e| e.into_inner());
                    for key in &keys {
                        unflushed.remove(key);
                    }
                    if unflushed.is_empty() {
                        tracing::info!(
                            keys = keys.len(),
                            "cache invalidations delivered after an outage"
                        );
                        return;
                    }
                }
            }
        });
    }

    /// Bumps the versions of `keys` (already prefixed) and deletes them; first, with a replica, keeps
    /// `position` as theirs, so a reader that sees the new version also sees the position.
    async fn flush(
        &self,
        keys: &[String],
        position: Option<Lsn>,
        also: Option<redis::Cmd>,
    ) -> Result<(), String> {
        let mut pipe = redis::pipe();
        if let Some(cmd) = also {
            pipe.add_command(cmd).ignore();
        }
        for key in keys {
            if let Some(position) = position {
                pipe.cmd("EVAL")
                    .arg(KEEP_MAX)
                    .arg(1)
                    .arg(format!("{key}:lsn"))
                    .arg(position_value(position))
                    .arg(POSITION_TTL.as_millis() as u64)
                    .ignore();
            }
            pipe.cmd("INCR").arg(format!("{key}:v")).ignore();
            pipe.cmd("PEXPIRE")
                .arg(format!("{key}:v"))
                .arg(self.version_ttl_ms())
                .ignore();
            pipe.cmd("DEL").arg(key).ignore();
        }
        let run = async {
            let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
            pipe.query_async::<()>(&mut *conn)
                .await
                .map_err(|e| e.to_string())
        };
        tokio::time::timeout(self.timeout * 4, run)
            .await
            .unwrap_or_else(|_| Err("timed out".into()))
    }
}
