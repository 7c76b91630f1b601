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

    #[test]
    fn names() {
        let refused = |raw: &str| Name::parse(raw).err().map(|e| e.field);
        for bad in ["", " \t ", &"n".repeat(201), "Tea\u{7}", "Main\nStreet"] {
            assert_eq!(refused(bad).as_deref(), Some("name"), "{bad:?}");
        }
        assert!(Name::parse(&"n".repeat(200)).is_ok());
        assert_eq!(
            Name::parse(" Main Street ").map(|n| n.0).ok(),
            Some("Main Street".into())
        );
    }
}
