//! What a set of newly applied events changes in the projections, computed before touching the
//! database. Every aggregate is order-independent: sums, and "latest" by level version.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use inventory_events::MovementType;
use uuid::Uuid;

use crate::event::LedgerEvent;

/// The change of one `ledger_daily` row (store, day, product).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyDelta {
    pub store_id: Uuid,
    pub day: NaiveDate,
    pub product_id: Uuid,
    pub qty_in: i64,
    pub qty_out: i64,
    /// `quantity_after` of the highest level version among the events of that day.
    pub closing: i64,
    pub closing_version: i64,
}

/// The newest state of one level among the events (candidate for `ledger_levels`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelState {
    pub store_id: Uuid,
    pub product_id: Uuid,
    pub quantity: i64,
    pub reorder_level: i64,
    pub version: i64,
    pub at: DateTime<Utc>,
}

impl LevelState {
    /// A level at or under its (positive) reorder level.
    pub fn is_low(&self) -> bool {
        self.reorder_level > 0 && self.quantity <= self.reorder_level
    }
}

/// The projection changes of a set of events, in primary-key order (so concurrent transactions
/// lock rows in the same order and cannot deadlock).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Projection {
    pub daily: Vec<DailyDelta>,
    pub levels: Vec<LevelState>,
}

/// A sum that does not fit in a bigint: the events cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {what} of store {store_id}, product {product_id} on {day} overflows")]
pub struct Overflow {
    pub what: &'static str,
    pub store_id: Uuid,
    pub product_id: Uuid,
    pub day: NaiveDate,
}

/// Aggregates `events` (each applied once: the caller passes only newly inserted ones).
pub fn project<'a>(
    events: impl IntoIterator<Item = &'a LedgerEvent>,
) -> Result<Projection, Overflow> {
    let mut daily: BTreeMap<(Uuid, NaiveDate, Uuid), DailyDelta> = BTreeMap::new();
    let mut levels: BTreeMap<(Uuid, Uuid), LevelState> = BTreeMap::new();
    for e in events {
        let state = LevelState {
            store_id: e.store_id,
            product_id: e.product_id,
            quantity: e.quantity_after,
            reorder_level: e.reorder_level,
            version: e.level_version,
            at: e.occurred_at,
        };
        levels
            .entry((e.store_id, e.product_id))
            .and_modify(|current| {
                if state.version > current.version {
                    *current = state.clone();
                }
            })
            .or_insert(state);
        // A new reorder threshold moves no stock: it does not appear in the daily totals.
        if e.movement_type == MovementType::ReorderLevelSet {
            continue;
        }
        let day = e.day();
        let row = daily
            .entry((e.store_id, day, e.product_id))
            .or_insert_with(|| DailyDelta {
                store_id: e.store_id,
                day,
                product_id: e.product_id,
                qty_in: 0,
                qty_out: 0,
                closing: e.quantity_after,
                closing_version: e.level_version,
            });
        let overflow = |what| Overflow {
            what,
            store_id: e.store_id,
            product_id: e.product_id,
            day,
        };
        if e.delta > 0 {
            row.qty_in = row
                .qty_in
                .checked_add(e.delta)
                .ok_or_else(|| overflow("inflow"))?;
        } else {
            let out = e.delta.checked_neg().ok_or_else(|| overflow("outflow"))?;
            row.qty_out = row
                .qty_out
                .checked_add(out)
                .ok_or_else(|| overflow("outflow"))?;
        }
        if e.level_version > row.closing_version {
            row.closing = e.quantity_after;
            row.closing_version = e.level_version;
        }
    }
    Ok(Projection {
        daily: daily.into_values().collect(),
        levels: levels.into_values().collect(),
    })
}

#[cfg(test)]
#[allow(clippy::expect_used)] // tests: failing loudly is the point
mod tests {
    use inventory_events::MovementType;

    use super::*;

    fn event(
        store: Uuid,
        product: Uuid,
        delta: i64,
        after: i64,
        version: i64,
        micros: i64,
    ) -> LedgerEvent {
        LedgerEvent {
            event_id: Uuid::now_v7(),
            movement_id: Uuid::now_v7(),
            store_id: store,
            product_id: product,
            movement_type: match delta {
                0 => MovementType::ReorderLevelSet,
                d if d > 0 => MovementType::StockIn,
                _ => MovementType::Sale,
            },
            delta,
            quantity_after: after,
            level_version: version,
            reorder_level: 5,
            user_id: Uuid::now_v7(),
            occurred_at: DateTime::from_timestamp_micros(micros).unwrap_or_default(),
            traceparent: String::new(),
        }
    }

    const DAY: i64 = 86_400_000_000;

    #[test]
    fn a_new_reorder_level_changes_the_level_but_not_the_day() {
        let (store, product) = (Uuid::now_v7(), Uuid::now_v7());
        let stock_in = event(store, product, 8, 8, 1, DAY);
        let mut reorder = event(store, product, 0, 8, 2, DAY + 1);
        reorder.reorder_level = 10;
        let projection = project([&stock_in, &reorder]).expect("no overflow");
        assert_eq!(projection.daily.len(), 1);
        assert_eq!(
            (projection.daily[0].qty_in, projection.daily[0].qty_out),
            (8, 0)
        );
        assert_eq!(projection.levels[0].reorder_level, 10);
        assert!(projection.levels[0].is_low());
    }

    #[test]
    fn same_result_in_any_order() {
        let (s, p) = (Uuid::now_v7(), Uuid::now_v7());
        let events = vec![
            event(s, p, 10, 10, 1, DAY),
            event(s, p, -3, 7, 2, DAY + 1),
            event(s, p, -5, 2, 3, 2 * DAY),
            event(s, p, 4, 6, 4, 2 * DAY + 1),
        ];
        let forward = project(&events).expect("fits");
        let backward = project(events.iter().rev()).expect("fits");
        assert_eq!(forward, backward);
        assert_eq!(forward.daily.len(), 2);
        assert_eq!(
            (
                forward.daily[0].qty_in,
                forward.daily[0].qty_out,
                forward.daily[0].closing
            ),
            (10, 3, 7)
        );
        assert_eq!(
            (
                forward.daily[1].qty_in,
                forward.daily[1].qty_out,
                forward.daily[1].closing
            ),
            (4, 5, 6)
        );
        assert_eq!(forward.levels.len(), 1);
        assert_eq!(
            (forward.levels[0].quantity, forward.levels[0].version),
            (6, 4)
        );
        assert!(!forward.levels[0].is_low());
    }

    #[test]
    fn overflow_is_an_error() {
        let (s, p) = (Uuid::now_v7(), Uuid::now_v7());
        let events = [event(s, p, i64::MAX, 1, 1, DAY), event(s, p, 1, 2, 2, DAY)];
        assert!(project(&events).is_err());
        assert!(project(&[event(s, p, i64::MIN, 0, 1, DAY)]).is_err());
    }

    #[test]
    fn low_means_at_or_under_a_positive_reorder_level() {
        let (s, p) = (Uuid::now_v7(), Uuid::now_v7());
        let level = |quantity, reorder_level| LevelState {
            quantity,
            reorder_level,
            ..project(&[event(s, p, 1, 1, 1, DAY)]).expect("fits").levels[0].clone()
        };
        assert!(level(5, 5).is_low());
        assert!(level(0, 1).is_low());
        assert!(!level(6, 5).is_low());
        assert!(!level(0, 0).is_low());
    }
}
