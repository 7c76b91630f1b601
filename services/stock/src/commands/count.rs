//! `PUT /stock/{stockId}`: a counted quantity (the difference becomes a movement with reason
//! `count`) and/or a new reorder level.

use diesel_async::AsyncPgConnection;
use inventory_common::{ApiError, auth::Caller};
use uuid::Uuid;

use super::{
    Actor, TxError,
    record::{Change, record, record_reorder_level},
};
use crate::{
    domain::{CountedQuantity, MovementKind, Note},
    models::{
        catalog,
        levels::{self, StockLevel},
    },
};

/// A parsed count.
#[derive(Debug, Clone)]
pub struct Count {
    pub stock_id: Uuid,
    pub quantity: Option<CountedQuantity>,
    pub reorder_level: Option<CountedQuantity>,
    pub expected_quantity: Option<CountedQuantity>,
}

/// Locks the level, checks the caller's store and the expected quantity, then applies; returns
/// the level after the count.
pub async fn count(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    actor: &Actor,
    count: &Count,
) -> Result<(StockLevel, Option<MovementKind>), TxError> {
    let not_found = || ApiError::NotFound(format!("stock level {} not found", count.stock_id));
    let mut level = levels::lock(conn, count.stock_id)
        .await?
        .ok_or_else(not_found)?;
    caller.require_store(level.store_id)?;
    if !catalog::missing_stores(conn, &[level.store_id])
        .await?
        .is_empty()
    {
        return Err(ApiError::NotFound(format!("store {} not found", level.store_id)).into());
    }
    if !catalog::missing_products(conn, &[level.product_id])
        .await?
        .is_empty()
    {
        return Err(ApiError::NotFound(format!("product {} not found", level.product_id)).into());
    }
    if let Some(expected) = count.expected_quantity
        && expected.get() != level.quantity
    {
        return Err(ApiError::conflict(
            "quantity-mismatch",
            format!(
                "the level holds {}, not the expected {}",
                level.quantity,
                expected.get()
            ),
        )
        .with("current_quantity", level.quantity)
        .into());
    }
    let counted = count.quantity.filter(|c| c.get() != level.quantity);
    // The threshold first, so that a count's event carries the new one.
    let mut reorder_changed = false;
    if let Some(reorder) = count.reorder_level
        && reorder.get() != level.reorder_level
    {
        level = levels::set_reorder_level(conn, level.id, reorder.get(), counted.is_none()).await?;
        reorder_changed = true;
    }
    if let Some(counted) = counted {
        let delta = counted.get() - level.quantity;
        let kind = if delta > 0 {
            MovementKind::StockIn
        } else {
            MovementKind::ManualRemove
        };
        level = levels::set_quantity(conn, level.id, counted.get()).await?;
        let reason = Note::fixed("count");
        let change = Change {
            kind,
            quantity: delta.abs(),
            reason: Some(&reason),
            reference: None,
            transfer_id: None,
        };
        record(conn, actor, &level, &change).await?;
        return Ok((level, Some(kind)));
    } else if reorder_changed {
        // No movement carries the new threshold: the ledger learns it from its own event.
        record_reorder_level(conn, actor, &level).await?;
    }
    Ok((level, None))
}
