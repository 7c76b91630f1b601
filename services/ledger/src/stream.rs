//! The worker's Redis stream commands: reading with the consumer group, reclaiming, acknowledging,
//! dead-lettering, and publishing low-stock alerts.

use std::{collections::HashMap, time::Duration};

use inventory_common::config::ServiceConfig;
use inventory_events::{STOCK_ALERTS_STREAM, STOCK_EVENTS_DLQ};
use redis::{
    AsyncCommands, RedisResult, Value,
    aio::MultiplexedConnection,
    streams::{
        StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamInfoGroupsReply,
        StreamMaxlen, StreamPendingCountReply, StreamReadOptions, StreamReadReply,
    },
};

use crate::{
    config::{GROUP, STREAM},
    models::ledger::AlertChange,
};

/// A stream at most this long is read again from its start when its group has to be recreated (it
/// was just recreated itself, or is short): duplicates change nothing. A longer one is read from its
/// end, and what the group had not read yet is backfilled from `stock_movements` by the healer.
pub const REREAD_LIMIT: usize = 10_000;

/// Creates the `ledger` group on `stream` (and the stream if missing). `Some(start)` when it was
/// created (from `0` or `$`, see [`REREAD_LIMIT`]), `None` when it existed.
pub async fn create_group(
    conn: &mut impl redis::aio::ConnectionLike,
    stream: &str,
) -> RedisResult<Option<&'static str>> {
    let len: usize = redis::cmd("XLEN").arg(stream).query_async(conn).await?;
    let start = if len <= REREAD_LIMIT { "0" } else { "$" };
    let created: RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream)
        .arg(GROUP)
        .arg(start)
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match created {
        Ok(()) => Ok(Some(start)),
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(None),
        Err(e) => Err(e),
    }
}

/// The alerts stream keeps about this many entries.
const ALERTS_MAXLEN: usize = 100_000;

/// The stream names of one deployment (with the configured key prefix).
#[derive(Debug, Clone)]
pub struct StreamKeys {
    pub events: String,
    pub dlq: String,
    pub alerts: String,
}

impl StreamKeys {
    /// The names under `config`'s Redis key prefix.
    pub fn new(config: &ServiceConfig) -> Self {
        Self {
            events: config.redis_key(STREAM),
            dlq: config.redis_key(STOCK_EVENTS_DLQ),
            alerts: config.redis_key(STOCK_ALERTS_STREAM),
        }
    }
}

/// One consumer's connection to the stream. Its commands run one after the other: a blocking read
/// holds the connection, so it is not shared with anything else.
pub struct Consumer {
    conn: MultiplexedConnection,
    keys: StreamKeys,
    name: String,
}

/// Entries reclaimed by one XAUTOCLAIM call.
pub struct Claimed {
    /// Where the next call starts (`0-0` once the whole pending list was scanned).
    pub next: String,
    pub entries: Vec<StreamId>,
}

impl Consumer {
    /// Connects with a response timeout longer than the longest blocking read.
    pub async fn connect(
        client: &redis::Client,
        keys: StreamKeys,
        name: &str,
        block: Duration,
    ) -> RedisResult<Self> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(block + Duration::from_secs(5)));
        let conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        Ok(Self {
            conn,
            keys,
            name: name.to_owned(),
        })
    }

    /// Creates the group if it is missing (see [`create_group`]).
    pub async fn create_group(&mut self) -> RedisResult<Option<&'static str>> {
        create_group(&mut self.conn, &self.keys.events).await
    }

    /// Reads up to `count` entries after `after`: `>` for new entries (waiting up to `block`), or an
    /// id to re-read this consumer's own pending entries.
    pub async fn read(
        &mut self,
        after: &str,
        count: usize,
        block: Option<Duration>,
    ) -> RedisResult<Vec<StreamId>> {
        let mut options = StreamReadOptions::default()
            .group(GROUP, &self.name)
            .count(count);
        if let Some(block) = block {
            options = options.block(block.as_millis().try_into().unwrap_or(usize::MAX));
        }
        let reply: Option<StreamReadReply> = self
            .conn
            .xread_options(&[&self.keys.events], &[after], &options)
            .await?;
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect())
    }

    /// Claims up to `count` entries pending longer than `min_idle` on any consumer, from `start`.
    pub async fn autoclaim(
        &mut self,
        start: &str,
        min_idle: Duration,
        count: usize,
    ) -> RedisResult<Claimed> {
        let reply: StreamAutoClaimReply = self
            .conn
            .xautoclaim_options(
                &self.keys.events,
                GROUP,
                &self.name,
                min_idle.as_millis().try_into().unwrap_or(usize::MAX),
                start,
                StreamAutoClaimOptions::default().count(count),
            )
            .await?;
        Ok(Claimed {
            next: reply.next_stream_id,
            entries: reply.claimed,
        })
    }

    /// How many times each of `ids` (pending on this consumer) has been delivered.
    pub async fn delivery_counts(&mut self, ids: &[&str]) -> RedisResult<HashMap<String, usize>> {
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.xpending_consumer_count(&self.keys.events, GROUP, *id, *id, 1, &self.name);
        }
        let replies: Vec<StreamPendingCountReply> = pipe.query_async(&mut self.conn).await?;
        Ok(replies
            .into_iter()
            .flat_map(|r| r.ids)
            .map(|p| (p.id, p.times_delivered))
            .collect())
    }

    /// Acknowledges `ids` (after their effects committed).
    pub async fn ack(&mut self, ids: &[&str]) -> RedisResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let _: usize = self.conn.xack(&self.keys.events, GROUP, ids).await?;
        Ok(())
    }

    /// Copies `entry` (its fields plus `reason`, `source_id`, `deliveries`, `consumer`) to the DLQ
    /// and acknowledges it, atomically.
    pub async fn dead_letter(
        &mut self,
        entry: &StreamId,
        reason: &str,
        deliveries: usize,
    ) -> RedisResult<()> {
        let mut fields: Vec<(String, Value)> = entry
            .map
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        let mut xadd = redis::cmd("XADD");
        xadd.arg(&self.keys.dlq).arg("*");
        for (k, v) in &fields {
            xadd.arg(k).arg(value_bytes(v));
        }
        xadd.arg("reason")
            .arg(reason)
            .arg("source_id")
            .arg(&entry.id)
            .arg("deliveries")
            .arg(deliveries)
            .arg("consumer")
            .arg(&self.name);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .add_command(xadd)
            .ignore()
            .xack(&self.keys.events, GROUP, &[&entry.id])
            .ignore();
        pipe.query_async::<()>(&mut self.conn).await
    }

    /// Publishes opened and closed alerts to the alerts stream.
    pub async fn publish_alerts(&mut self, alerts: &[AlertChange]) -> RedisResult<()> {
        if alerts.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for a in alerts {
            pipe.xadd_maxlen(
                &self.keys.alerts,
                StreamMaxlen::Approx(ALERTS_MAXLEN),
                "*",
                &[
                    ("alert_id", a.alert_id.to_string()),
                    ("state", if a.opened { "open" } else { "closed" }.to_owned()),
                    ("store_id", a.store_id.to_string()),
                    ("product_id", a.product_id.to_string()),
                    ("quantity", a.quantity.to_string()),
                    ("reorder_level", a.reorder_level.to_string()),
                    ("at", a.at.to_rfc3339()),
                ],
            )
            .ignore();
        }
        pipe.query_async::<()>(&mut self.conn).await
    }
}

fn value_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::BulkString(b) => b.clone(),
        Value::SimpleString(s) => s.clone().into_bytes(),
        Value::Int(i) => i.to_string().into_bytes(),
        other => format!("{other:?}").into_bytes(),
    }
}

/// The group's backlog: entries delivered but not acknowledged, and entries not yet delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    pub pending: usize,
    pub lag: usize,
    pub dlq: usize,
}

/// Reads the backlog of the `ledger` group (XINFO GROUPS) and the DLQ length.
pub async fn backlog(
    conn: &mut (impl redis::aio::ConnectionLike + Send + Sync),
    keys: &StreamKeys,
) -> RedisResult<Backlog> {
    let groups: StreamInfoGroupsReply = conn.xinfo_groups(&keys.events).await?;
    let dlq: usize = conn.xlen(&keys.dlq).await?;
    let group = groups.groups.into_iter().find(|g| g.name == GROUP);
    Ok(Backlog {
        pending: group.as_ref().map_or(0, |g| g.pending),
        lag: group.and_then(|g| g.lag).unwrap_or(0),
        dlq,
    })
}
