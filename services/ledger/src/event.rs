//! A stream entry parsed into an event the ledger can apply, or the reason it cannot be.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use inventory_events::{MovementType, StockEvent, fields};
use redis::Value;
use uuid::Uuid;

/// A stock event whose every field the ledger relies on is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEvent {
    pub event_id: Uuid,
    pub movement_id: Uuid,
    pub store_id: Uuid,
    pub product_id: Uuid,
    pub movement_type: MovementType,
    /// Signed change of the level (never 0).
    pub delta: i64,
    pub quantity_after: i64,
    pub level_version: i64,
    pub reorder_level: i64,
    pub user_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// W3C trace context of the request that caused the movement (may be empty).
    pub traceparent: String,
}

/// Why an entry cannot be applied, ever (it goes to the DLQ at once).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Undecodable(pub String);

impl LedgerEvent {
    /// Parses the fields of a stream entry (`event_id`, `type`, `payload`, `traceparent`).
    pub fn from_fields(map: &HashMap<String, Value>) -> Result<Self, Undecodable> {
        let payload = match map.get(fields::PAYLOAD) {
            Some(Value::BulkString(bytes)) => bytes,
            Some(_) => return Err(Undecodable("the payload is not a byte string".into())),
            None => return Err(Undecodable("the entry has no payload".into())),
        };
        let event = StockEvent::from_bytes(payload)
            .map_err(|e| Undecodable(format!("the payload is not a StockEvent: {e}")))?;
        let parsed = Self::try_from(event)?;
        if let Some(Value::BulkString(raw)) = map.get(fields::EVENT_ID)
            && raw.as_slice() != parsed.event_id.to_string().as_bytes()
            && raw.as_slice() != parsed.event_id.simple().to_string().as_bytes()
        {
            return Err(Undecodable(
                "the entry's event_id differs from the payload's".into(),
            ));
        }
        Ok(parsed)
    }

    /// The UTC day the movement belongs to.
    pub fn day(&self) -> NaiveDate {
        self.occurred_at.date_naive()
    }
}

impl TryFrom<StockEvent> for LedgerEvent {
    type Error = Undecodable;

    fn try_from(e: StockEvent) -> Result<Self, Undecodable> {
        let movement_type = MovementType::try_from(e.movement_type)
            .ok()
            .filter(|t| *t != MovementType::Unspecified)
            .ok_or_else(|| Undecodable(format!("unknown movement type {}", e.movement_type)))?;
        // A movement changes the quantity; a reorder-level change does not.
        let threshold_only = movement_type == MovementType::ReorderLevelSet;
        if (e.delta == 0) != threshold_only {
            return Err(Undecodable(if threshold_only {
                "a reorder-level change must have delta 0".into()
            } else {
                "delta must not be 0".into()
            }));
        }
        if e.quantity_after < 0 {
            return Err(Undecodable("quantity_after must not be negative".into()));
        }
        if e.level_version < 1 {
            return Err(Undecodable("level_version must be at least 1".into()));
        }
        if e.reorder_level < 0 {
            return Err(Undecodable("reorder_level must not be negative".into()));
        }
        let occurred_at = DateTime::from_timestamp_micros(e.occurred_at_micros)
            .filter(|_| e.occurred_at_micros > 0)
            .ok_or_else(|| Undecodable("occurred_at_micros is out of range".into()))?;
        Ok(Self {
            event_id: uuid("event_id", &e.event_id)?,
            // A reorder-level change has no movement: its ledger entry is keyed by the event alone.
            movement_id: if threshold_only && e.movement_id.is_empty() {
                uuid("event_id", &e.event_id)?
            } else {
                uuid("movement_id", &e.movement_id)?
            },
            store_id: uuid("store_id", &e.store_id)?,
            product_id: uuid("product_id", &e.product_id)?,
            movement_type,
            delta: e.delta,
            quantity_after: e.quantity_after,
            level_version: e.level_version,
            reorder_level: e.reorder_level,
            user_id: uuid("user_id", &e.user_id)?,
            occurred_at,
            traceparent: e.traceparent,
        })
    }
}

fn uuid(field: &str, raw: &str) -> Result<Uuid, Undecodable> {
    Uuid::parse_str(raw).map_err(|_| Undecodable(format!("{field} is not a UUID: {raw:?}")))
}

#[cfg(test)]
#[allow(clippy::expect_used)] // tests: failing loudly is the point
mod tests {
    use super::*;

    fn good() -> StockEvent {
        StockEvent {
            event_id: Uuid::now_v7().to_string(),
            movement_id: Uuid::now_v7().to_string(),
            store_id: Uuid::now_v7().to_string(),
            product_id: Uuid::now_v7().to_string(),
            level_id: Uuid::now_v7().to_string(),
            movement_type: MovementType::Sale as i32,
            quantity: 2,
            delta: -2,
            quantity_after: 8,
            level_version: 3,
            reorder_level: 5,
            user_id: Uuid::now_v7().to_string(),
            occurred_at_micros: 1_764_028_800_000_000,
            ..Default::default()
        }
    }

    fn entry(event: &StockEvent) -> HashMap<String, Value> {
        HashMap::from([
            (
                fields::EVENT_ID.to_owned(),
                Value::BulkString(event.event_id.clone().into_bytes()),
            ),
            (
                fields::PAYLOAD.to_owned(),
                Value::BulkString(event.to_bytes()),
            ),
        ])
    }

    #[test]
    fn parses_a_good_entry() {
        let event = good();
        let parsed = LedgerEvent::from_fields(&entry(&event)).expect("valid");
        assert_eq!(parsed.delta, -2);
        assert_eq!(parsed.movement_type, MovementType::Sale);
        assert_eq!(parsed.day().to_string(), "2025-11-25");
    }

    #[test]
    fn rejects_bad_events() {
        let cases: Vec<fn(&mut StockEvent)> = vec![
            |e| e.event_id = "nope".into(),
            |e| e.store_id = String::new(),
            |e| e.product_id = "1234".into(),
            |e| e.user_id = "x".into(),
            |e| e.movement_type = 0,
            |e| e.movement_type = 99,
            |e| e.delta = 0,
            |e| e.quantity_after = -1,
            |e| e.level_version = 0,
            |e| e.reorder_level = -3,
            |e| e.occurred_at_micros = 0,
            |e| e.occurred_at_micros = i64::MAX,
        ];
        for (i, change) in cases.into_iter().enumerate() {
            let mut event = good();
            change(&mut event);
            assert!(LedgerEvent::try_from(event).is_err(), "case {i}");
        }
    }

    #[test]
    fn rejects_bad_entries() {
        let event = good();
        let mut no_payload = entry(&event);
        no_payload.remove(fields::PAYLOAD);
        assert!(LedgerEvent::from_fields(&no_payload).is_err());

        let mut garbage = entry(&event);
        garbage.insert(
            fields::PAYLOAD.into(),
            Value::BulkString(vec![0xff, 0xff, 0xff]),
        );
        assert!(LedgerEvent::from_fields(&garbage).is_err());

        let mut other_id = entry(&event);
        other_id.insert(
            fields::EVENT_ID.into(),
            Value::BulkString(Uuid::now_v7().to_string().into_bytes()),
        );
        assert!(LedgerEvent::from_fields(&other_id).is_err());
    }
}
