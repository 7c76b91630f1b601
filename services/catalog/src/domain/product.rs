//! A product's fields.

use inventory_common::{ApiError, FieldError, text::TextRule};

use super::text::Name;

/// A stock-keeping unit: 1–64 characters on one line, trimmed. Unique among
/// active products (case-sensitive, as stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sku(String);

impl Sku {
    /// Trims and checks a SKU.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        TextRule::line(64).check("sku", raw).map(Self)
    }

    /// The SKU as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free-text description: at most 2,000 characters; line breaks and tabs allowed; trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    /// Trims and checks a description; a blank one is no description (`None`).
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, FieldError> {
        let text = TextRule::lines(2000).check_optional("description", raw)?;
        Ok(text.map(Self))
    }

    /// The description as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A price in minor units (cents): an integer ≥ 0. JSON strings and floats are refused before this
/// point, by the body's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceCents(i64);

/// The highest price, in cents (ten billion in currency units): enough for any item, and a bound
/// that keeps valuations (quantity × price) within 64 bits for millions of units per level. A
/// valuation that would still overflow is answered 422, not 500.
pub const MAX_PRICE_CENTS: i64 = 1_000_000_000_000;

impl PriceCents {
    /// Checks a price.
    pub fn parse(raw: i64) -> Result<Self, FieldError> {
        if raw < 0 {
            return Err(FieldError::new("price_cents", "must be 0 or more"));
        }
        if raw > MAX_PRICE_CENTS {
            return Err(FieldError::new(
                "price_cents",
                format!("must be at most {MAX_PRICE_CENTS}"),
            ));
        }
        Ok(Self(raw))
    }

    /// The price in cents.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A valid product, as a create or a replace writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDraft {
    pub sku: Sku,
    pub name: Name,
    pub description: Option<Description>,
    pub price_cents: PriceCents,
}

impl ProductDraft {
    /// Parses every field, reporting all the bad ones together.
    pub fn parse(
        sku: &str,
        name: &str,
        description: Option<&str>,
        price_cents: i64,
    ) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let sku = super::keep(Sku::parse(sku), &mut errors);
        let name = super::keep(Name::parse(name), &mut errors);
        let description = super::keep(Description::parse(description), &mut errors);
        let price_cents = super::keep(PriceCents::parse(price_cents), &mut errors);
        match (sku, name, description, price_cents) {
            (Some(sku), Some(name), Some(description), Some(price_cents)) => Ok(Self {
                sku,
                name,
                description,
                price_cents,
            }),
            _ => Err(ApiError::fields(errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tests::field;

    #[test]
    fn skus() {
        assert_eq!(field(Sku::parse("")), "sku");
        assert_eq!(field(Sku::parse("   ")), "sku");
        assert_eq!(field(Sku::parse(&"x".repeat(65))), "sku");
        assert_eq!(field(Sku::parse("AB\u{0}C")), "sku");
        assert_eq!(field(Sku::parse("AB\nC")), "sku");
        assert_eq!(
            Sku::parse("  ABC-1 ").map(|s| s.0).ok(),
            Some("ABC-1".into())
        );
        assert!(
            Sku::parse(&"é".repeat(64)).is_ok(),
            "length counts characters"
        );
    }

    #[test]
    fn descriptions() {
        assert_eq!(
            field(Description::parse(Some(&"d".repeat(2001)))),
            "description"
        );
        assert_eq!(field(Description::parse(Some("bell\u{7}"))), "description");
        assert_eq!(Description::parse(None).ok(), Some(None));
        assert_eq!(Description::parse(Some("  ")).ok(), Some(None));
        assert!(matches!(
            Description::parse(Some("two\nlines")),
            Ok(Some(_))
        ));
        assert!(Description::parse(Some(&"d".repeat(2000))).is_ok());
    }

    #[test]
    fn prices() {
        assert_eq!(field(PriceCents::parse(-1)), "price_cents");
        assert_eq!(PriceCents::parse(0).map(PriceCents::get).ok(), Some(0));
        assert!(PriceCents::parse(MAX_PRICE_CENTS).is_ok());
        assert_eq!(field(PriceCents::parse(MAX_PRICE_CENTS + 1)), "price_cents");
    }

    #[test]
    fn a_draft_reports_every_bad_field() {
        let Err(ApiError::BadRequest { errors, .. }) = ProductDraft::parse("", "", None, -5) else {
            panic!("expected a 400");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["sku", "name", "price_cents"]);
        assert!(ProductDraft::parse("A-1", "Tea", Some("green"), 250).is_ok());
    }
}
