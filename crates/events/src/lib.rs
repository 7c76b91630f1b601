//! The stock event contract (`proto/inventory/v1`), shared by the stock service and the ledger
//! worker, with the stream names and entry field names.

#[allow(clippy::all, missing_docs)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/inventory.v1.rs"));
}

pub use v1::{MovementType, StockEvent};

/// The stream of committed stock movements.
pub const STOCK_EVENTS_STREAM: &str = "inventory.stock-events";
/// Where entries that cannot be applied end up, with the reason.
pub const STOCK_EVENTS_DLQ: &str = "inventory.stock-events.dlq";
/// Low-stock alerts opened and closed by the ledger worker.
pub const STOCK_ALERTS_STREAM: &str = "inventory.stock-alerts";
/// The ledger's consumer group.
pub const LEDGER_GROUP: &str = "ledger";

/// Field names of a stream entry.
pub mod fields {
    pub const EVENT_ID: &str = "event_id";
    pub const TYPE: &str = "type";
    pub const PAYLOAD: &str = "payload";
    pub const TRACEPARENT: &str = "traceparent";
}

impl MovementType {
    /// The API name (`STOCK_IN`, `SALE`, ...).
    pub fn api_name(self) -> &'static str {
        match self {
            MovementType::Unspecified => "UNSPECIFIED",
            MovementType::StockIn => "STOCK_IN",
            MovementType::Sale => "SALE",
            MovementType::ManualRemove => "MANUAL_REMOVE",
            MovementType::TransferOut => "TRANSFER_OUT",
            MovementType::TransferIn => "TRANSFER_IN",
            MovementType::ReorderLevelSet => "REORDER_LEVEL_SET",
        }
    }

    /// Parses the API name of a movement (a reorder-level change is not one).
    pub fn from_api_name(name: &str) -> Option<Self> {
        Some(match name {
            "STOCK_IN" => MovementType::StockIn,
            "SALE" => MovementType::Sale,
            "MANUAL_REMOVE" => MovementType::ManualRemove,
            "TRANSFER_OUT" => MovementType::TransferOut,
            "TRANSFER_IN" => MovementType::TransferIn,
            _ => return None,
        })
    }
}

impl StockEvent {
    /// The protobuf encoding (the stream entry's `payload`).
    pub fn to_bytes(&self) -> Vec<u8> {
        prost::Message::encode_to_vec(self)
    }

    /// Decodes a `payload`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, prost::DecodeError> {
        prost::Message::decode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let event = StockEvent {
            event_id: "e".into(),
            movement_type: MovementType::Sale as i32,
            delta: -3,
            quantity_after: 7,
            level_version: 4,
            ..Default::default()
        };
        let decoded = StockEvent::from_bytes(&event.to_bytes()).ok();
        assert_eq!(decoded.as_ref().map(|e| e.delta), Some(-3));
        assert_eq!(decoded.map(|e| e.movement_type()), Some(MovementType::Sale));
    }

    #[test]
    fn garbage_does_not_decode() {
        assert!(StockEvent::from_bytes(&[0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn api_names_round_trip() {
        for t in [
            MovementType::StockIn,
            MovementType::Sale,
            MovementType::ManualRemove,
            MovementType::TransferOut,
            MovementType::TransferIn,
        ] {
            assert_eq!(MovementType::from_api_name(t.api_name()), Some(t));
        }
    }
}
