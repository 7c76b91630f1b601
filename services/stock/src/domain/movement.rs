//! Movement types and the free-text notes a movement may carry.

use inventory_common::{ApiError, text::TextRule};
use inventory_events::MovementType;

/// What a movement does to a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, utoipa::ToSchema)]
#[schema(as = MovementType, rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MovementKind {
    StockIn,
    Sale,
    ManualRemove,
    TransferOut,
    TransferIn,
}

impl MovementKind {
    /// Every kind, in API order.
    pub const ALL: [MovementKind; 5] = [
        MovementKind::StockIn,
        MovementKind::Sale,
        MovementKind::ManualRemove,
        MovementKind::TransferOut,
        MovementKind::TransferIn,
    ];

    /// Parses any API name (filters accept the transfer kinds too).
    pub fn parse(raw: &str, field: &str) -> Result<Self, ApiError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| {
                ApiError::field(
                    field,
                    "must be one of STOCK_IN, SALE, MANUAL_REMOVE, TRANSFER_OUT, TRANSFER_IN",
                )
            })
    }

    /// Parses a kind a client may post to `/stock/movements`: transfers have their own endpoint,
    /// which writes both halves atomically.
    pub fn parse_direct(raw: &str, field: &str) -> Result<Self, ApiError> {
        match Self::parse(raw, field) {
            Ok(
                kind @ (MovementKind::StockIn | MovementKind::Sale | MovementKind::ManualRemove),
            ) => Ok(kind),
            Ok(_) => Err(ApiError::field(
                field,
                "transfers are posted to /stock/transfers, which moves both sides at once",
            )),
            Err(_) => Err(ApiError::field(
                field,
                "must be one of STOCK_IN, SALE, MANUAL_REMOVE",
            )),
        }
    }

    /// The API (and database) name.
    pub fn as_str(self) -> &'static str {
        self.event_type().api_name()
    }

    /// Whether the movement adds units (otherwise it removes them).
    pub fn is_inbound(self) -> bool {
        matches!(self, MovementKind::StockIn | MovementKind::TransferIn)
    }

    /// The signed change for `quantity` units.
    pub fn delta(self, quantity: i64) -> i64 {
        if self.is_inbound() {
            quantity
        } else {
            -quantity
        }
    }

    /// The protobuf enum of the event contract.
    pub fn event_type(self) -> MovementType {
        match self {
            MovementKind::StockIn => MovementType::StockIn,
            MovementKind::Sale => MovementType::Sale,
            MovementKind::ManualRemove => MovementType::ManualRemove,
            MovementKind::TransferOut => MovementType::TransferOut,
            MovementKind::TransferIn => MovementType::TransferIn,
        }
    }
}

/// A movement's optional `reason` or `reference`: at most 500 characters on one line, trimmed (the
/// platform's text rule, [`inventory_common::text`]); blank is no note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note(String);

impl Note {
    /// The rule of a note.
    pub const RULE: TextRule = TextRule::line(500);

    /// Parses an optional note; `field` names the input in the error. Absent or blank: `None`.
    pub fn parse_opt(raw: Option<&str>, field: &str) -> Result<Option<Self>, ApiError> {
        let text = Self::RULE
            .check_optional(field, raw)
            .map_err(|e| ApiError::fields(vec![e]))?;
        Ok(text.map(Self))
    }

    /// A note written by the service itself (e.g. `count`).
    pub fn fixed(text: &'static str) -> Self {
        Self(text.to_owned())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in MovementKind::ALL {
            assert_eq!(MovementKind::parse(kind.as_str(), "type").ok(), Some(kind));
        }
    }

    #[test]
    fn unknown_and_lowercase_kinds_are_rejected() {
        for bad in ["", "sale", "REFUND", "STOCK IN", "SALE "] {
            assert!(MovementKind::parse(bad, "type").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn transfers_are_not_posted_directly() {
        assert!(MovementKind::parse_direct("TRANSFER_OUT", "type").is_err());
        assert!(MovementKind::parse_direct("TRANSFER_IN", "type").is_err());
        assert_eq!(
            MovementKind::parse_direct("SALE", "type").ok(),
            Some(MovementKind::Sale)
        );
    }

    #[test]
    fn deltas_are_signed_by_direction() {
        assert_eq!(MovementKind::StockIn.delta(3), 3);
        assert_eq!(MovementKind::TransferIn.delta(3), 3);
        assert_eq!(MovementKind::Sale.delta(3), -3);
        assert_eq!(MovementKind::ManualRemove.delta(3), -3);
        assert_eq!(MovementKind::TransferOut.delta(3), -3);
    }

    #[test]
    fn notes() {
        assert_eq!(Note::parse_opt(None, "reason").ok(), Some(None));
        assert_eq!(
            Note::parse_opt(Some("   "), "reason").ok(),
            Some(None),
            "blank is no note, as in the catalog"
        );
        assert!(Note::parse_opt(Some(&"x".repeat(501)), "reason").is_err());
        assert!(
            Note::parse_opt(Some(&format!(" {} ", "x".repeat(499))), "reason").is_err(),
            "the limit counts the text as sent, as the API document states it"
        );
        assert!(Note::parse_opt(Some("a\u{0}b"), "reason").is_err());
        assert!(Note::parse_opt(Some("damaged\n"), "reason").is_err());
        let note = Note::parse_opt(Some("  damaged  "), "reason")
            .ok()
            .flatten();
        assert_eq!(note.as_ref().map(Note::as_str), Some("damaged"));
    }
}
