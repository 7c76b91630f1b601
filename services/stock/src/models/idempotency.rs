//! Idempotency keys: per user, the fingerprint of the first request and the response it got,
//! stored in the transaction of the change so a replay can never disagree with what happened.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Bool, Jsonb, SmallInt, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_db::{fixed::fixed, schema::idempotency_keys};
use uuid::Uuid;

/// A stored first response.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys, check_for_backend(diesel::pg::Pg))]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub response_status: i16,
    pub response_body: serde_json::Value,
}

/// A first response to store.
#[derive(Debug)]
pub struct NewIdempotencyRecord<'a> {
    pub user_id: Uuid,
    pub idempotency_key: &'a str,
    pub request_hash: &'a str,
    pub response_status: i16,
    pub response_body: &'a serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Takes the transaction-scoped advisory lock of (user, key); `false` when another transaction
/// holds it, i.e. the same request is in flight.
pub async fn try_lock(conn: &mut AsyncPgConnection, user_id: Uuid, key: &str) -> QueryResult<bool> {
    fixed("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked")
        .bind::<Text, _>(format!("idempotency:{user_id}:{key}"))
        .get_result::<Locked>(conn)
        .await
        .map(|row| row.locked)
}

/// The unexpired record of (user, key).
pub async fn find(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    key: &str,
) -> QueryResult<Option<IdempotencyRecord>> {
    idempotency_keys::table
        .filter(idempotency_keys::user_id.eq(user_id))
        .filter(idempotency_keys::idempotency_key.eq(key))
        .filter(idempotency_keys::expires_at.gt(diesel::dsl::now))
        .select(IdempotencyRecord::as_select())
        .first(conn)
        .await
        .optional()
}

/// Stores a first response, replacing an expired record of the same key (a fixed statement:
/// diesel would parse and plan an `ON CONFLICT DO UPDATE` on every execution).
pub async fn save(
    conn: &mut AsyncPgConnection,
    record: &NewIdempotencyRecord<'_>,
) -> QueryResult<()> {
    fixed(
        "INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, response_status, \
                                       response_body, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (user_id, idempotency_key) DO UPDATE SET \
             request_hash = EXCLUDED.request_hash, response_status = EXCLUDED.response_status, \
             response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at, \
             expires_at = EXCLUDED.expires_at",
    )
    .bind::<SqlUuid, _>(record.user_id)
    .bind::<Text, _>(record.idempotency_key.to_owned())
    .bind::<Text, _>(record.request_hash.to_owned())
    .bind::<SmallInt, _>(record.response_status)
    .bind::<Jsonb, _>(record.response_body.clone())
    .bind::<Timestamptz, _>(record.created_at)
    .bind::<Timestamptz, _>(record.expires_at)
    .execute(conn)
    .await
    .map(drop)
}

/// Deletes up to `limit` expired records; returns how many.
pub async fn delete_expired(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM idempotency_keys WHERE ctid IN \
         (SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT $1)",
    )
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .execute(conn)
    .await
}
