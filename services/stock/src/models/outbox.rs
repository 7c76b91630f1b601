//! The transactional outbox: one row per event, written in the stock transaction and deleted by the
//! relay once the event is on the Redis stream.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_db::schema::outbox;
use uuid::Uuid;

/// An event waiting to be published.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxRow {
    pub seq: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub payload: Vec<u8>,
    pub traceparent: Option<String>,
    pub created_at: DateTime<Utc>,
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

/// Claims up to `limit` of the oldest rows that no other relay holds (`FOR UPDATE SKIP LOCKED`);
/// they stay claimed until the transaction ends.
pub async fn claim(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .select(OutboxRow::as_select())
        .order(outbox::seq.asc())
        .limit(limit)
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

/// Deletes published rows.
pub async fn delete(conn: &mut AsyncPgConnection, seqs: &[i64]) -> QueryResult<usize> {
    diesel::delete(outbox::table.filter(outbox::seq.eq_any(seqs)))
        .execute(conn)
        .await
}

/// How many events wait to be published.
pub async fn backlog(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    outbox::table.count().get_result(conn).await
}
