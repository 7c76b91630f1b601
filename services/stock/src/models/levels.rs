//! Stock levels. Every change of `quantity` bumps `version` by one, so events of one level can be
//! ordered; removals use a guarded `UPDATE ... WHERE quantity >= n` ([`super::one_step`]) so a sale
//! that would go negative changes nothing (the `CHECK (quantity >= 0)` is only the backstop).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_db::schema::stock_levels;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A stock level row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = stock_levels, check_for_backend(diesel::pg::Pg))]
pub struct StockLevel {
    pub id: Uuid,
    pub store_id: Uuid,
    pub product_id: Uuid,
    pub quantity: i64,
    pub reorder_level: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A stock level as the API shows it: one product in one store.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = StockLevel)]
pub struct LevelView {
    /// The level (`stockId` of `PUT /stock/{stockId}`).
    pub id: Uuid,
    pub store_id: Uuid,
    pub product_id: Uuid,
    /// Units in stock, never negative.
    #[schema(minimum = 0, example = 42)]
    pub quantity: i64,
    /// At or under this quantity the level counts as low stock (0: no threshold).
    #[schema(minimum = 0, example = 10)]
    pub reorder_level: i64,
    pub updated_at: DateTime<Utc>,
}

impl StockLevel {
    /// The API representation.
    pub fn view(&self) -> LevelView {
        LevelView {
            id: self.id,
            store_id: self.store_id,
            product_id: self.product_id,
            quantity: self.quantity,
            reorder_level: self.reorder_level,
            updated_at: self.updated_at,
        }
    }

    /// Whether this row was created by the statement that returned it (versions start at 1).
    pub fn was_created(&self) -> bool {
        self.version == 1
    }
}

/// The current quantity of a level (0 when there is none).
pub async fn quantity_of(
    conn: &mut AsyncPgConnection,
    store_id: Uuid,
    product_id: Uuid,
) -> QueryResult<i64> {
    use stock_levels::dsl as l;
    Ok(stock_levels::table
        .filter(l::store_id.eq(store_id))
        .filter(l::product_id.eq(product_id))
        .select(l::quantity)
        .first(conn)
        .await
        .optional()?
        .unwrap_or(0))
}

/// Locks a level by store and product for the rest of the transaction and returns its quantity,
/// creating it empty (quantity 0, version 0: no movement yet) when missing. Every writer of that
/// level then waits for this transaction: a plain `POST /stock` (its `INSERT ... ON CONFLICT`) as
/// much as another request with `expected_quantity`. When the transaction fails, the empty level
/// goes with it; when it succeeds, the movement it applies next makes it version 1.
pub async fn lock_quantity(
    conn: &mut AsyncPgConnection,
    store_id: Uuid,
    product_id: Uuid,
) -> QueryResult<i64> {
    use stock_levels::dsl as l;
    diesel::insert_into(stock_levels::table)
        .values((
            l::id.eq(Uuid::now_v7()),
            l::store_id.eq(store_id),
            l::product_id.eq(product_id),
            l::quantity.eq(0_i64),
            l::version.eq(0_i64),
        ))
        .on_conflict((l::store_id, l::product_id))
        .do_nothing()
        .execute(conn)
        .await?;
    stock_levels::table
        .filter(l::store_id.eq(store_id))
        .filter(l::product_id.eq(product_id))
        .select(l::quantity)
        .for_update()
        .first::<i64>(conn)
        .await
}

/// Locks a level by id for the rest of the transaction.
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<StockLevel>> {
    stock_levels::table
        .find(id)
        .select(StockLevel::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Sets a counted quantity (bumping the version).
pub async fn set_quantity(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    quantity: i64,
) -> QueryResult<StockLevel> {
    use stock_levels::dsl as l;
    diesel::update(stock_levels::table.find(id))
        .set((
            l::quantity.eq(quantity),
            l::version.eq(l::version + 1_i64),
            l::updated_at.eq(diesel::dsl::now),
        ))
        .returning(StockLevel::as_returning())
        .get_result(conn)
        .await
}

/// Sets the reorder threshold. Not a movement: the version (which orders movement events) stays.
pub async fn set_reorder_level(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    reorder_level: i64,
    new_version: bool,
) -> QueryResult<StockLevel> {
    use stock_levels::dsl as l;
    // A change of its own gets a version (consumers order a level's events by version); one made
    // together with a count shares the count's version and event.
    let bump = i64::from(new_version);
    diesel::update(stock_levels::table.find(id))
        .set((
            l::reorder_level.eq(reorder_level),
            l::version.eq(l::version + bump),
            l::updated_at.eq(diesel::dsl::now),
        ))
        .returning(StockLevel::as_returning())
        .get_result(conn)
        .await
}

/// What `GET /stock/{storeId}` filters on.
#[derive(Debug, Clone, Copy, Default)]
pub struct LevelFilter {
    /// Only levels at or under their reorder level.
    pub low_stock: bool,
    pub product_id: Option<Uuid>,
}

/// A page (`limit + 1` rows) of a store's levels in product id order (the `(store_id, product_id)`
/// index serves it; the cursor is the last product id).
pub async fn list_for_store(
    conn: &mut AsyncPgConnection,
    store_id: Uuid,
    filter: LevelFilter,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<StockLevel>> {
    use stock_levels::dsl as l;
    let mut query = stock_levels::table
        .filter(l::store_id.eq(store_id))
        .select(StockLevel::as_select())
        .order(l::product_id.asc())
        .limit(limit + 1)
        .into_boxed();
    if filter.low_stock {
        query = query.filter(l::quantity.le(l::reorder_level));
    }
    if let Some(product_id) = filter.product_id {
        query = query.filter(l::product_id.eq(product_id));
    }
    if let Some(after) = after {
        query = query.filter(l::product_id.gt(after));
    }
    query.load(conn).await
}
