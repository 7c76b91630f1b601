//! The stream's housekeeping, every [`INTERVAL`] on every worker: one look at the consumer groups
//! reports the backlog (metrics, and `health`: a backlog that does not move makes the worker
//! unready) and trims what every group has read and acknowledged, keeping the last `keep` of it.
//!
//! The stream used to be left to the operator to trim: ten minutes of sales at 1,100/s filled the
//! stack's 256 MB Redis with entries nobody would read again, after which Redis refused the relay's
//! writes (events waited in the outbox) and a restarting worker could not create its group. Now its
//! memory follows the rate of events and the slowest group's backlog, not the history.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use inventory_common::redis::RedisPool;
use redis::{
    AsyncCommands, RedisResult,
    streams::{StreamInfoGroupsReply, StreamPendingReply, StreamTrimOptions, StreamTrimmingMode},
};
use tokio::sync::watch;

use crate::{
    config::GROUP,
    health::Health,
    metrics,
    stream::{StreamKeys, backlog},
};

/// How often the groups are looked at.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// A stream entry id: milliseconds and sequence.
type EntryId = (u64, u64);

fn parse_id(id: &str) -> Option<EntryId> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// The first entry some group of `stream` has not consumed: the oldest entry pending (read, not
/// acknowledged) on a group, else the last one a group was given. `None` when the ledger's own
/// group is missing (it is about to be recreated, and reads the stream again from its start if it
/// is short), or a group's position cannot be read: then nothing may be trimmed.
async fn first_unconsumed(
    conn: &mut (impl redis::aio::ConnectionLike + Send + Sync),
    stream: &str,
) -> RedisResult<Option<EntryId>> {
    let groups: StreamInfoGroupsReply = conn.xinfo_groups(stream).await?;
    if !groups.groups.iter().any(|g| g.name == GROUP) {
        return Ok(None);
    }
    let mut first: Option<EntryId> = None;
    for group in groups.groups {
        let pending = if group.pending > 0 {
            match conn.xpending(stream, &group.name).await? {
                StreamPendingReply::Data(data) => Some(data.start_id),
                _ => None,
            }
        } else {
            None
        };
        let Some(at) = parse_id(pending.as_deref().unwrap_or(&group.last_delivered_id)) else {
            return Ok(None);
        };
        first = Some(first.map_or(at, |f| f.min(at)));
    }
    Ok(first)
}

/// Trims the entries of `stream` that every group has consumed and that are older than `keep`.
/// Returns how many were removed.
pub async fn trim(
    conn: &mut (impl redis::aio::ConnectionLike + Send + Sync),
    stream: &str,
    keep: Duration,
) -> RedisResult<usize> {
    let Some(unconsumed) = first_unconsumed(conn, stream).await? else {
        return Ok(0);
    };
    let kept_since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(keep);
    let kept = (u64::try_from(kept_since.as_millis()).unwrap_or(u64::MAX), 0);
    let (ms, seq) = unconsumed.min(kept);
    // Approximate: whole nodes of the stream's tree only, which is cheap; a few more are kept.
    conn.xtrim_options(
        stream,
        &StreamTrimOptions::minid(StreamTrimmingMode::Approx, format!("{ms}-{seq}")),
    )
    .await
}

/// Looks every [`INTERVAL`] until shutdown (see the module docs).
pub async fn run(
    redis: RedisPool,
    keys: StreamKeys,
    keep: Duration,
    health: Health,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match redis.get().await {
            Ok(mut conn) => {
                // The backlog is reported whatever becomes of the trim (readiness and scaling
                // follow it).
                match backlog(&mut *conn, &keys).await {
                    Ok(b) => {
                        health.backlog(b.pending + b.lag);
                        metrics::backlog(&b);
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot read the stream backlog"),
                }
                match trim(&mut *conn, &keys.events, keep).await {
                    Ok(trimmed) => metrics::trimmed(trimmed),
                    Err(e) => tracing::warn!(error = %e, "cannot trim the event stream"),
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot look at the event stream"),
        }
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_parse_and_order_by_time_then_sequence() {
        assert_eq!(parse_id("1796081425371-38"), Some((1_796_081_425_371, 38)));
        assert_eq!(parse_id("0-0"), Some((0, 0)));
        assert_eq!(parse_id("12"), None);
        assert_eq!(parse_id("a-1"), None);
        assert!(parse_id("5-10") > parse_id("5-9"));
        assert!(parse_id("6-0") > parse_id("5-10"));
    }
}
