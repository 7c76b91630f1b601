//! Stock movements: the append-only history of every change of a level.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_db::schema::stock_movements;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

/// A movement to record.
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
    pub store_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub kind: Option<&'static str>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A page (`limit + 1` rows) of movements, newest first. Ids are UUIDv7, so id order is time
/// order and the last id is the cursor.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &MovementFilter,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Movement>> {
    use stock_movements::dsl as m;
    let mut query = stock_movements::table
        .select(Movement::as_select())
        .order(m::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(store_id) = filter.store_id {
        query = query.filter(m::store_id.eq(store_id));
    }
    if let Some(product_id) = filter.product_id {
        query = query.filter(m::product_id.eq(product_id));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(m::movement_type.eq(kind));
    }
    if let Some(from) = filter.from {
        query = query.filter(m::created_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(m::created_at.lt(to));
    }
    if let Some(before) = before {
        query = query.filter(m::id.lt(before));
    }
    query.load(conn).await
}
