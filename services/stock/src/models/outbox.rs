//! The transactional outbox: one row per event, written in the stock transaction and deleted by the
//! relay once the event is on the Redis stream.
//!
//! A row holds the event's protobuf whole (`payload`), or, when the one-statement step queued it,
//! in parts: the head the service encoded and the four values only the changed level gives, which
//! [`OutboxRow::payload`] appends (migration 000015).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_db::{fixed::fixed, schema::outbox};
use inventory_events::StockEvent;
use uuid::Uuid;

/// An event waiting to be published.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxRow {
    pub seq: i64,
    pub event_id: Uuid,
    pub event_type: String,
    /// The whole event; `None` when it was queued in parts (the fields below).
    payload: Option<Vec<u8>>,
    payload_head: Option<Vec<u8>>,
    level_id: Option<Uuid>,
    quantity_after: Option<i64>,
    level_version: Option<i64>,
    reorder_level: Option<i64>,
    pub traceparent: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A row with neither a whole payload nor every part (the table's check constraint rules it out).
#[derive(Debug, thiserror::Error)]
#[error("outbox row {0} holds neither a whole payload nor every part of one")]
pub struct IncompleteRow(pub i64);

impl OutboxRow {
    /// The event's protobuf: the whole payload, or the head with the level's fields appended
    /// (protobuf fields may come in any order: the two halves decode as one message).
    pub fn payload(&self) -> Result<Cow<'_, [u8]>, IncompleteRow> {
        if let Some(whole) = &self.payload {
            return Ok(Cow::Borrowed(whole));
        }
        let (
            Some(head),
            Some(level_id),
            Some(quantity_after),
            Some(level_version),
            Some(reorder_level),
        ) = (
            &self.payload_head,
            self.level_id,
            self.quantity_after,
            self.level_version,
            self.reorder_level,
        )
        else {
            return Err(IncompleteRow(self.seq));
        };
        let tail = StockEvent {
            level_id: level_id.to_string(),
            quantity_after,
            level_version,
            reorder_level,
            ..StockEvent::default()
        };
        Ok(Cow::Owned([&head[..], &tail.to_bytes()].concat()))
    }
}

/// An event to publish.
#[derive(Debug, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutboxRow<'a> {
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub payload: Vec<u8>,
    pub traceparent: Option<&'a str>,
}

/// Queues an event (in the transaction of the change it reports).
pub async fn insert(conn: &mut AsyncPgConnection, row: NewOutboxRow<'_>) -> QueryResult<()> {
    diesel::insert_into(outbox::table)
        .values(&row)
        .execute(conn)
        .await
        .map(drop)
}

/// The claim of [`lease`]: the lease's length in seconds, the key to start after, the batch.
pub const LEASE: &str = "UPDATE outbox SET claimed_until = now() + make_interval(secs => $1) \
     WHERE seq = ANY(ARRAY(SELECT seq FROM outbox \
                           WHERE seq > $2 AND (claimed_until IS NULL OR claimed_until < now()) \
                           ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED)) \
     RETURNING seq, event_id, event_type, payload, payload_head, level_id, quantity_after, \
               level_version, reorder_level, traceparent, created_at";

/// The delete of [`delete`]: the published keys.
pub const DELETE: &str = "DELETE FROM outbox WHERE seq = ANY($1)";

/// Leases up to `limit` of the oldest rows after key `after` that no relay holds (never leased, or
/// the lease ran out) for `lease`, in one statement (`FOR UPDATE SKIP LOCKED` keeps two relays off
/// the same rows). The caller publishes them outside any transaction, then deletes them (or
/// releases them on failure).
///
/// The rows to lease are collected once into an array (an init plan) which the update then looks
/// up: however wrong the table's statistics, the plan reads the table at most twice. The outbox is
/// a queue whose size swings from nothing to thousands of rows within seconds, and a connection
/// keeps the plan it made at its sixth execution; with `seq IN (SELECT …)`, a plan made while the
/// table was empty joined each row of the table to the locking subquery again (a nested-loop semi
/// join that re-ran its row locks for every row): under batches of sales, claims took 3 to over
/// 5 s (cancelled by the statement timeout), the relays' deletes waited for them, and events
/// waited in the outbox for up to 5 s. On the relay's connections neither this nor [`delete`] is
/// planned as a sequential scan ([`crate::relay::SESSION`]).
pub async fn lease(
    conn: &mut AsyncPgConnection,
    after: i64,
    limit: i64,
    lease: std::time::Duration,
) -> QueryResult<Vec<OutboxRow>> {
    // Prepared once per connection (the relay runs it a few dozen times a second under load).
    let mut rows: Vec<OutboxRow> = fixed(LEASE)
        .bind::<diesel::sql_types::Double, _>(lease.as_secs_f64())
        .bind::<diesel::sql_types::BigInt, _>(after)
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .load(conn)
        .await?;
    rows.sort_by_key(|r| r.seq);
    Ok(rows)
}

/// Gives leased rows back at once (publishing failed), so the next attempt need not wait for the
/// lease to run out.
pub async fn release(conn: &mut AsyncPgConnection, seqs: &[i64]) -> QueryResult<usize> {
    diesel::update(outbox::table.filter(outbox::seq.eq_any(seqs)))
        .set(outbox::claimed_until.eq(None::<DateTime<Utc>>))
        .execute(conn)
        .await
}

/// Deletes published rows (the keys are bound as they are, not copied).
pub async fn delete(conn: &mut AsyncPgConnection, seqs: Vec<i64>) -> QueryResult<usize> {
    fixed(DELETE)
        .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(seqs)
        .execute(conn)
        .await
}

/// How many events wait to be published.
pub async fn backlog(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    outbox::table.count().get_result(conn).await
}
