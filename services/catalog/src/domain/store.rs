//! A store's fields.

use inventory_common::{ApiError, FieldError, text::TextRule};

use super::text::Name;

/// A store's short code (e.g. `NYC-01`): 1–64 characters of letters, digits, `.`, `_` and `-`.
/// Optional; unique among active stores when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreCode(String);

impl StoreCode {
    /// Trims and checks a code; absent or blank is no code (`None`).
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, FieldError> {
        let Some(code) = TextRule::line(64).check_optional("code", raw)? else {
            return Ok(None);
        };
        if !code
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(FieldError::new(
                "code",
                "may contain only letters, digits, '.', '_' and '-'",
            ));
        }
        Ok(Some(Self(code)))
    }

    /// The code as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A postal address: at most 500 characters; line breaks and tabs allowed; trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address(String);

impl Address {
    /// Trims and checks an address; absent or blank is no address (`None`).
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, FieldError> {
        let text = TextRule::lines(500).check_optional("address", raw)?;
        Ok(text.map(Self))
    }

    /// The address as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid store, as a create or a replace writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreDraft {
    pub code: Option<StoreCode>,
    pub name: Name,
    pub address: Option<Address>,
}

impl StoreDraft {
    /// Parses every field, reporting all the bad ones together.
    pub fn parse(code: Option<&str>, name: &str, address: Option<&str>) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let code = super::keep(StoreCode::parse(code), &mut errors);
        let name = super::keep(Name::parse(name), &mut errors);
        let address = super::keep(Address::parse(address), &mut errors);
        match (code, name, address) {
            (Some(code), Some(name), Some(address)) => Ok(Self {
                code,
                name,
                address,
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
    fn codes() {
        assert_eq!(field(StoreCode::parse(Some(&"c".repeat(65)))), "code");
        assert_eq!(field(StoreCode::parse(Some("NYC 01"))), "code");
        assert_eq!(field(StoreCode::parse(Some("NYC/01"))), "code");
        assert_eq!(field(StoreCode::parse(Some("a\u{1b}b"))), "code");
        assert_eq!(StoreCode::parse(None).ok(), Some(None));
        assert_eq!(StoreCode::parse(Some("  ")).ok(), Some(None));
        assert_eq!(
            StoreCode::parse(Some(" NYC-01.b_2 "))
                .ok()
                .flatten()
                .map(|c| c.0),
            Some("NYC-01.b_2".into())
        );
    }

    #[test]
    fn addresses() {
        assert_eq!(field(Address::parse(Some(&"a".repeat(501)))), "address");
        assert_eq!(field(Address::parse(Some("x\u{0}"))), "address");
        assert!(matches!(
            Address::parse(Some("1 Main St\nSpringfield")),
            Ok(Some(_))
        ));
        assert_eq!(Address::parse(None).ok(), Some(None));
    }

    #[test]
    fn a_draft_reports_every_bad_field() {
        let Err(ApiError::BadRequest { errors, .. }) =
            StoreDraft::parse(Some("bad code"), " ", Some(&"a".repeat(501)))
        else {
            panic!("expected a 400");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["code", "name", "address"]);
        assert!(StoreDraft::parse(None, "Main", None).is_ok());
    }
}
