//! One movement of one level in one statement: the store and product checks, the level's change (the
//! guarded `UPDATE … WHERE quantity >= n` for a removal, `INSERT … ON CONFLICT DO UPDATE` for an
//! addition), the movement row and the outbox row, as data-modifying CTEs of a single statement that
//! each connection prepares once ([`inventory_db::fixed`]). Without an explicit transaction around
//! it, it commits on its own: one round trip for a sale.
//!
//! The event's protobuf is built in Rust from what is known before the statement; the four fields
//! only the changed level knows (level id, quantity after, version, reorder level) are queued
//! beside it, and the relay appends them ([`super::outbox::OutboxRow::payload`]).

use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Bool, Bytea, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_db::fixed::fixed;
use uuid::Uuid;

use super::levels::StockLevel;

/// A movement to apply, with every value chosen before the statement runs.
pub struct OneStep<'a> {
    pub store_id: Uuid,
    pub product_id: Uuid,
    pub movement_type: &'static str,
    /// Whether units are added (otherwise removed, if there are enough).
    pub inbound: bool,
    pub quantity: i64,
    pub delta: i64,
    pub reason: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub transfer_id: Option<Uuid>,
    pub user_id: Uuid,
    pub request_id: &'a str,
    pub movement_id: Uuid,
    pub created_at: DateTime<Utc>,
    /// The id of the level if the statement creates it (an addition to a missing level).
    pub new_level_id: Uuid,
    pub event_id: Uuid,
    /// The event's protobuf without the fields the level gives (queued beside it for the relay).
    pub event_head: Vec<u8>,
    pub traceparent: Option<&'a str>,
}

/// What the statement found and did.
#[derive(Debug)]
pub enum Stepped {
    /// The store does not exist or is archived: nothing changed.
    NoStore,
    /// The product does not exist or is archived: nothing changed.
    NoProduct,
    /// A removal larger than the stock (or of a level that does not exist): nothing changed.
    Insufficient,
    /// The level after the change (the movement and the event are written).
    Applied(StockLevel),
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Bool)]
    store_ok: bool,
    #[diesel(sql_type = Bool)]
    product_ok: bool,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    id: Option<Uuid>,
    #[diesel(sql_type = Nullable<BigInt>)]
    quantity: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    reorder_level: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    version: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    created_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    updated_at: Option<DateTime<Utc>>,
}

/// The parameters, once each; the references to the catalog.
macro_rules! head {
    () => {
        "WITH p AS (SELECT $1::uuid AS store_id, $2::uuid AS product_id, $3::text AS movement_type, \
         $4::bigint AS quantity, $5::bigint AS delta, $6::text AS reason, $7::text AS reference, \
         $8::uuid AS transfer_id, $9::uuid AS user_id, $10::text AS request_id, \
         $11::uuid AS movement_id, $12::timestamptz AS created_at, $13::uuid AS new_level_id, \
         $14::uuid AS event_id, $15::bytea AS event_head, $16::text AS traceparent), \
         refs AS (SELECT EXISTS (SELECT 1 FROM stores s, p WHERE s.id = p.store_id AND s.archived_at IS NULL) AS store_ok, \
                         EXISTS (SELECT 1 FROM products x, p WHERE x.id = p.product_id AND x.archived_at IS NULL) AS product_ok), "
    };
}

/// The movement and its event, for the level the `level` CTE changed (none: nothing is written),
/// and the answer: the checks and the level.
macro_rules! tail {
    () => {
        "movement AS (INSERT INTO stock_movements (id, store_id, product_id, level_id, movement_type, quantity, delta, \
             quantity_after, level_version, reason, reference, transfer_id, user_id, request_id, created_at) \
         SELECT p.movement_id, level.store_id, level.product_id, level.id, p.movement_type, p.quantity, p.delta, \
             level.quantity, level.version, p.reason, p.reference, p.transfer_id, p.user_id, p.request_id, p.created_at \
         FROM p, level RETURNING 1), \
         event AS (INSERT INTO outbox (event_id, event_type, payload_head, level_id, quantity_after, \
             level_version, reorder_level, traceparent) \
         SELECT p.event_id, p.movement_type, p.event_head, level.id, level.quantity, level.version, \
             level.reorder_level, p.traceparent \
         FROM p, level RETURNING 1) \
         SELECT refs.store_ok, refs.product_ok, level.id, level.quantity, level.reorder_level, level.version, \
             level.created_at, level.updated_at \
         FROM refs LEFT JOIN level ON true"
    };
}

/// A removal: the guarded decrement, only when the store and product are active.
const TAKE: &str = concat!(
    head!(),
    "level AS (UPDATE stock_levels l SET quantity = l.quantity - p.quantity, version = l.version + 1, updated_at = now() \
     FROM p, refs WHERE l.store_id = p.store_id AND l.product_id = p.product_id AND l.quantity >= p.quantity \
     AND refs.store_ok AND refs.product_ok RETURNING l.*), ",
    tail!()
);

/// An addition: creates the level when missing, only when the store and product are active.
const ADD: &str = concat!(
    head!(),
    "level AS (INSERT INTO stock_levels AS l (id, store_id, product_id, quantity, version) \
     SELECT p.new_level_id, p.store_id, p.product_id, p.quantity, 1 FROM p, refs \
     WHERE refs.store_ok AND refs.product_ok \
     ON CONFLICT (store_id, product_id) DO UPDATE SET quantity = l.quantity + excluded.quantity, \
     version = l.version + 1, updated_at = now() RETURNING l.*), ",
    tail!()
);

/// Applies `step` in one statement (see the module docs).
#[tracing::instrument(skip_all, fields(store_id = %step.store_id, product_id = %step.product_id))]
pub async fn apply(
    conn: &mut AsyncPgConnection,
    step: &OneStep<'_>,
) -> diesel::QueryResult<Stepped> {
    let sql = if step.inbound { ADD } else { TAKE };
    let row: Row = fixed(sql)
        .bind::<SqlUuid, _>(step.store_id)
        .bind::<SqlUuid, _>(step.product_id)
        .bind::<Text, _>(step.movement_type)
        .bind::<BigInt, _>(step.quantity)
        .bind::<BigInt, _>(step.delta)
        .bind::<Nullable<Text>, _>(step.reason.map(str::to_owned))
        .bind::<Nullable<Text>, _>(step.reference.map(str::to_owned))
        .bind::<Nullable<SqlUuid>, _>(step.transfer_id)
        .bind::<SqlUuid, _>(step.user_id)
        .bind::<Text, _>(step.request_id.to_owned())
        .bind::<SqlUuid, _>(step.movement_id)
        .bind::<Timestamptz, _>(step.created_at)
        .bind::<SqlUuid, _>(step.new_level_id)
        .bind::<SqlUuid, _>(step.event_id)
        .bind::<Bytea, _>(step.event_head.clone())
        .bind::<Nullable<Text>, _>(step.traceparent.map(str::to_owned))
        .get_result(conn)
        .await?;
    if !row.store_ok {
        return Ok(Stepped::NoStore);
    }
    if !row.product_ok {
        return Ok(Stepped::NoProduct);
    }
    match (
        row.id,
        row.quantity,
        row.reorder_level,
        row.version,
        row.created_at,
        row.updated_at,
    ) {
        (
            Some(id),
            Some(quantity),
            Some(reorder_level),
            Some(version),
            Some(created_at),
            Some(updated_at),
        ) => Ok(Stepped::Applied(StockLevel {
            id,
            store_id: step.store_id,
            product_id: step.product_id,
            quantity,
            reorder_level,
            version,
            created_at,
            updated_at,
        })),
        _ => Ok(Stepped::Insufficient),
    }
}
