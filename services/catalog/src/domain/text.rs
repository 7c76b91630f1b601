//! The one text type products and stores share: [`Name`]. The rules of every catalog text field are
//! the platform's ([`inventory_common::text`]): length counted in characters of the text as sent,
//! no control characters, surrounding whitespace trimmed, a blank optional field is no value.

use inventory_common::{FieldError, text::TextRule};

/// A product's or a store's display name: 1–200 characters on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Trims and checks a name.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        TextRule::line(200).check("name", raw).map(Self)
    }

    /// The name as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(result: Result<impl std::fmt::Debug, FieldError>) -> String {
        match result {
            Err(e) => format!("{}: {}", e.field, e.message),
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }

    #[test]
    fn names() {
        assert_eq!(error(Name::parse("")), "name: must not be empty");
        assert_eq!(error(Name::parse(" \t ")), "name: must not be empty");
        assert!(error(Name::parse(&"n".repeat(201))).starts_with("name: "));
        assert!(error(Name::parse("Tea\u{7}")).starts_with("name: "));
        assert!(error(Name::parse("Main\nStreet")).starts_with("name: "));
        assert!(Name::parse(&"n".repeat(200)).is_ok());
        assert_eq!(
            Name::parse(" Main Street ").map(|n| n.0).ok(),
            Some("Main Street".into())
        );
    }
}
