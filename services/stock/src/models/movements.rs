//! Stock movements: the append-only history of every change of a level.

use chrono::{DateTime, Utc};
use diesel::{dsl::AsSelect, pg::Pg, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_db::schema::stock_movements;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::movement_id;

/// A movement row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = stock_movements, check_for_backend(diesel::pg::Pg))]
pub struct Movement {
    pub id: Uuid,
    pub store_id: Uuid,
    pub product_id: Uuid,
    pub level_id: Uuid,
    pub movement_type: String,
    pub quantity: i64,
    pub delta: i64,
    pub quantity_after: i64,
    pub level_version: i64,
    pub reason: Option<String>,
    pub reference: Option<String>,
    pub transfer_id: Option<Uuid>,
    pub user_id: Uuid,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A movement as the API shows it: one change of one level.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = Movement)]
pub struct MovementView {
    pub id: Uuid,
    pub store_id: Uuid,
    pub product_id: Uuid,
    #[serde(rename = "type")]
    #[schema(value_type = crate::domain::MovementKind)]
    pub kind: String,
    /// The units asked for (always positive).
    #[schema(minimum = 1, example = 3)]
    pub quantity: i64,
    /// The signed change of the level.
    #[schema(example = -3)]
    pub delta: i64,
    /// The level's quantity right after this movement.
    #[schema(minimum = 0, example = 39)]
    pub quantity_after: i64,
    /// Why (`count` for a correction by `PUT /stock/{stockId}`).
    pub reason: Option<String>,
    /// The client's reference, e.g. a receipt number.
    pub reference: Option<String>,
    /// The transfer both halves of a transfer share.
    pub transfer_id: Option<Uuid>,
    /// Who made the change.
    pub user_id: Uuid,
    /// The `X-Request-Id` of the request that made it.
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Movement {
    /// The API representation.
    pub fn view(&self) -> MovementView {
        MovementView {
            id: self.id,
            store_id: self.store_id,
            product_id: self.product_id,
            kind: self.movement_type.clone(),
            quantity: self.quantity,
            delta: self.delta,
            quantity_after: self.quantity_after,
            reason: self.reason.clone(),
            reference: self.reference.clone(),
            transfer_id: self.transfer_id,
            user_id: self.user_id,
            request_id: self.request_id.clone(),
            created_at: self.created_at,
        }
    }
}

/// A movement to record. `id` and `created_at` come from
/// [`new_movement_id`](crate::domain::movement_id::new_movement_id): the time is the id's.
#[derive(Debug, Insertable)]
#[diesel(table_name = stock_movements)]
pub struct NewMovement<'a> {
    pub id: Uuid,
    pub store_id: Uuid,
    pub product_id: Uuid,
    pub level_id: Uuid,
    pub movement_type: &'a str,
    pub quantity: i64,
    pub delta: i64,
    pub quantity_after: i64,
    pub level_version: i64,
    pub reason: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub transfer_id: Option<Uuid>,
    pub user_id: Uuid,
    pub request_id: Option<&'a str>,
    pub created_at: DateTime<Utc>,
}

/// Records a movement (in the transaction that changed the level).
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewMovement<'_>) -> QueryResult<Movement> {
    diesel::insert_into(stock_movements::table)
        .values(new)
        .returning(Movement::as_returning())
        .get_result(conn)
        .await
}

/// What `GET /stock/movements` filters on.
#[derive(Debug, Clone, Default)]
pub struct MovementFilter {
    /// Only these stores' movements (`None`: every store).
    pub stores: Option<Vec<Uuid>>,
    pub product_id: Option<Uuid>,
    pub kind: Option<&'static str>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The query of [`list`], boxed (tests EXPLAIN it).
pub type ListQuery<'a> =
    stock_movements::BoxedQuery<'a, Pg, diesel::dsl::SqlTypeOf<AsSelect<Movement, Pg>>>;

/// The query of a page (`limit + 1` rows) of movements, newest first. Ids are UUIDv7, so id order
/// is time order and the last id is the cursor; `from`/`to` become id bounds too (a movement's
/// `created_at` is its id's time), so the primary key or `(store_id, id DESC)` index serves a time
/// range, whatever its size. The `created_at` conditions stay for rows written before
/// `created_at` was taken from the id.
pub fn list_query(filter: &MovementFilter, before: Option<Uuid>, limit: i64) -> ListQuery<'static> {
    use stock_movements::dsl as m;
    let mut query = stock_movements::table
        .select(Movement::as_select())
        .order(m::id.desc())
        .limit(limit + 1)
        .into_boxed();
    match filter.stores.as_deref() {
        None => {}
        Some([one]) => query = query.filter(m::store_id.eq(*one)),
        Some(many) => query = query.filter(m::store_id.eq_any(many.to_vec())),
    }
    if let Some(product_id) = filter.product_id {
        query = query.filter(m::product_id.eq(product_id));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(m::movement_type.eq(kind));
    }
    if let Some(from) = filter.from {
        query = query
            .filter(m::id.ge(movement_id::lower_bound(from)))
            .filter(m::created_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query
            .filter(m::id.lt(movement_id::lower_bound(to)))
            .filter(m::created_at.lt(to));
    }
    if let Some(before) = before {
        query = query.filter(m::id.lt(before));
    }
    query
}

/// A page (`limit + 1` rows) of movements, newest first (see [`list_query`]).
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &MovementFilter,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Movement>> {
    list_query(filter, before, limit).load(conn).await
}
