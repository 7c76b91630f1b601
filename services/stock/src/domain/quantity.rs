//! Quantities of units: integers, never floats, bounded so that sums cannot overflow.

use inventory_common::ApiError;

/// The largest quantity one request may move or set.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// A quantity moved by one movement: 1..=1,000,000,000 units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(i64);

impl Quantity {
    /// Checks the range; `field` names the input in the error.
    pub fn parse(raw: i64, field: &str) -> Result<Self, ApiError> {
        if (1..=MAX_QUANTITY).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(ApiError::field(
                field,
                format!("must be an integer between 1 and {MAX_QUANTITY}"),
            ))
        }
    }

    /// The number of units.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A counted (or expected, or reorder) quantity: 0..=1,000,000,000 units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountedQuantity(i64);

impl CountedQuantity {
    /// Checks the range; `field` names the input in the error.
    pub fn parse(raw: i64, field: &str) -> Result<Self, ApiError> {
        if (0..=MAX_QUANTITY).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(ApiError::field(
                field,
                format!("must be an integer between 0 and {MAX_QUANTITY}"),
            ))
        }
    }

    /// Parses an optional input.
    pub fn parse_opt(raw: Option<i64>, field: &str) -> Result<Option<Self>, ApiError> {
        raw.map(|n| Self::parse(n, field)).transpose()
    }

    /// The number of units.
    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(err: ApiError) -> String {
        match err {
            ApiError::BadRequest { errors, .. } => errors[0].field.clone(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn quantity_bounds() {
        assert_eq!(
            Quantity::parse(1, "quantity").map(Quantity::get).ok(),
            Some(1)
        );
        assert!(Quantity::parse(MAX_QUANTITY, "quantity").is_ok());
        for bad in [0, -1, i64::MIN, MAX_QUANTITY + 1, i64::MAX] {
            assert!(Quantity::parse(bad, "quantity").is_err(), "{bad}");
        }
    }

    #[test]
    fn quantity_errors_name_the_field() {
        let err = Quantity::parse(0, "movements[3].quantity").err();
        assert_eq!(err.map(field_of).as_deref(), Some("movements[3].quantity"));
    }

    #[test]
    fn counted_quantity_allows_zero() {
        assert!(CountedQuantity::parse(0, "quantity").is_ok());
        assert!(CountedQuantity::parse(MAX_QUANTITY, "quantity").is_ok());
        assert!(CountedQuantity::parse(-1, "quantity").is_err());
        assert!(CountedQuantity::parse(MAX_QUANTITY + 1, "quantity").is_err());
        let err = CountedQuantity::parse(-5, "reorder_level").err();
        assert_eq!(err.map(field_of).as_deref(), Some("reorder_level"));
    }

    #[test]
    fn optional_counted_quantity() {
        assert_eq!(CountedQuantity::parse_opt(None, "x").ok(), Some(None));
        assert!(CountedQuantity::parse_opt(Some(-1), "x").is_err());
        assert_eq!(
            CountedQuantity::parse_opt(Some(7), "x")
                .ok()
                .flatten()
                .map(CountedQuantity::get),
            Some(7)
        );
    }
}
