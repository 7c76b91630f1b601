//! The rules every catalog text field shares: surrounding whitespace is trimmed, length is counted in
//! characters, and control characters are refused (line breaks and tabs are allowed where a field
//! may span lines). Also the one text type products and stores share: [`Name`].

use inventory_common::FieldError;

/// How a text field may look: 1 to `max` characters after trimming.
pub(super) struct TextRule {
    field: &'static str,
    max: usize,
    multiline: bool,
}

impl TextRule {
    /// A field on one line.
    pub const fn line(field: &'static str, max: usize) -> Self {
        Self {
            field,
            max,
            multiline: false,
        }
    }

    /// A field that may hold line breaks and tabs.
    pub const fn lines(field: &'static str, max: usize) -> Self {
        Self {
            field,
            max,
            multiline: true,
        }
    }

    /// The trimmed text, or what is wrong with it. The length limit and the character rules apply to
    /// the text as sent (as the API document states them), emptiness to the trimmed text.
    pub fn check(&self, raw: &str) -> Result<String, FieldError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(FieldError::new(self.field, "must not be empty"));
        }
        if raw.chars().count() > self.max {
            return Err(FieldError::new(
                self.field,
                format!("must be at most {} characters", self.max),
            ));
        }
        let allowed = |c: char| !c.is_control() || (self.multiline && matches!(c, '\n' | '\t'));
        if !raw.chars().all(allowed) {
            return Err(FieldError::new(
                self.field,
                "must not contain control characters",
            ));
        }
        Ok(text.to_owned())
    }

    /// For an optional field: absent or blank is no value (`None`); anything else is [`check`]ed.
    ///
    /// [`check`]: Self::check
    pub fn check_optional(&self, raw: Option<&str>) -> Result<Option<String>, FieldError> {
        match raw.filter(|r| !r.trim().is_empty()) {
            None => Ok(None),
            Some(raw) => self.check(raw).map(Some),
        }
    }
}

/// A product's or a store's display name: 1–200 characters on one line after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Trims and checks a name.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        TextRule::line("name", 200).check(raw).map(Self)
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
    fn rules() {
        let line = TextRule::line("f", 3);
        assert_eq!(error(line.check(" \t ")), "f: must not be empty");
        assert_eq!(error(line.check("abcd")), "f: must be at most 3 characters");
        assert_eq!(
            error(line.check("a\nb")),
            "f: must not contain control characters"
        );
        assert_eq!(
            line.check("éé ").ok(),
            Some("éé".into()),
            "length counts characters; the stored text is trimmed"
        );
        assert_eq!(
            error(line.check(" abc ")),
            "f: must be at most 3 characters",
            "the limit applies to the text as sent, as the API document says"
        );
        assert_eq!(
            TextRule::lines("f", 3).check("a\nb").ok(),
            Some("a\nb".into())
        );
        assert_eq!(
            error(TextRule::lines("f", 3).check("a\u{0}")),
            "f: must not contain control characters"
        );
        assert_eq!(line.check_optional(None).ok(), Some(None));
        assert_eq!(line.check_optional(Some("  ")).ok(), Some(None));
        assert_eq!(
            error(line.check_optional(Some("abcd"))),
            "f: must be at most 3 characters"
        );
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
