//! The one rule set for free text in requests (catalog names, SKUs, descriptions, addresses; stock
//! reasons and references), and the patterns that state it in the API document.
//!
//! - **Length** is counted in characters of the text *as sent*, like JSON Schema's `maxLength`, so
//!   the document's bound and the server's are the same number for the same string.
//! - **Control characters** are refused anywhere in the text as sent; a field that may span lines
//!   allows line feeds and tabs.
//! - **Surrounding whitespace** is trimmed from what is stored. A required field that is blank is a
//!   400; an optional field that is absent, `null` or blank has no value (`None`): a blank form field
//!   means "none", never a stored empty string.
//!
//! Field schemas do not paste the patterns: they name the kind with a `format` marker
//! (`format = "text-line"`, `"text-line-required"`, `"text-lines"`), which the shared OpenAPI
//! conventions replace with the pattern of [`TextKind::pattern`].

use crate::FieldError;

/// The control characters refused in every text field, as a JSON Schema (ECMA-262) character-class
/// body: C0, DEL and C1.
macro_rules! control_class {
    () => {
        r"\u0000-\u001f\u007f-\u009f"
    };
}

/// What a field may hold, as the API document states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// One line, possibly blank (an optional field).
    Line,
    /// One line with at least one character that is not whitespace (a required field).
    LineRequired,
    /// Several lines: line feeds and tabs allowed, possibly blank (an optional field).
    Lines,
}

impl TextKind {
    /// Every kind.
    pub const ALL: [TextKind; 3] = [TextKind::Line, TextKind::LineRequired, TextKind::Lines];

    /// The `format` marker a field's schema carries.
    pub const fn marker(self) -> &'static str {
        match self {
            TextKind::Line => "text-line",
            TextKind::LineRequired => "text-line-required",
            TextKind::Lines => "text-lines",
        }
    }

    /// The kind a `format` marker names.
    pub fn from_marker(format: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.marker() == format)
    }

    /// The JSON Schema pattern of the kind (the same rule [`TextRule`] applies).
    pub const fn pattern(self) -> &'static str {
        match self {
            TextKind::Line => concat!("^[^", control_class!(), "]*$"),
            TextKind::LineRequired => concat!(
                "^[^",
                control_class!(),
                r"]*[^\s",
                control_class!(),
                "][^",
                control_class!(),
                "]*$"
            ),
            // Tab (0009) and line feed (000a) are the two control characters allowed.
            TextKind::Lines => r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$",
        }
    }
}

/// How a text field may look: at most `max` characters, no control characters (but line feeds and
/// tabs where the field may span lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRule {
    max: usize,
    multiline: bool,
}

impl TextRule {
    /// A field on one line.
    pub const fn line(max: usize) -> Self {
        Self {
            max,
            multiline: false,
        }
    }

    /// A field that may hold line feeds and tabs.
    pub const fn lines(max: usize) -> Self {
        Self {
            max,
            multiline: true,
        }
    }

    /// The longest text accepted, in characters.
    pub const fn max(&self) -> usize {
        self.max
    }

    /// A required field: the trimmed text, or what is wrong with it (`field` names it).
    pub fn check(&self, field: &str, raw: &str) -> Result<String, FieldError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(FieldError::new(field, "must not be empty"));
        }
        self.check_chars(field, raw)?;
        Ok(text.to_owned())
    }

    /// An optional field: absent or blank is no value (`None`); anything else is [`check`]ed.
    ///
    /// [`check`]: Self::check
    pub fn check_optional(
        &self,
        field: &str,
        raw: Option<&str>,
    ) -> Result<Option<String>, FieldError> {
        match raw {
            None => Ok(None),
            Some(raw) => {
                self.check_chars(field, raw)?;
                let text = raw.trim();
                Ok((!text.is_empty()).then(|| text.to_owned()))
            }
        }
    }

    /// The length and character rules, on the text as sent.
    fn check_chars(&self, field: &str, raw: &str) -> Result<(), FieldError> {
        if raw.chars().count() > self.max {
            return Err(FieldError::new(
                field,
                format!("must be at most {} characters", self.max),
            ));
        }
        let allowed = |c: char| !c.is_control() || (self.multiline && matches!(c, '\n' | '\t'));
        if !raw.chars().all(allowed) {
            return Err(FieldError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point
mod tests {
    use super::*;

    fn error(result: Result<impl std::fmt::Debug, FieldError>) -> String {
        match result {
            Err(e) => format!("{}: {}", e.field, e.message),
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }

    #[test]
    fn required_fields() {
        let line = TextRule::line(3);
        assert_eq!(error(line.check("f", " \t ")), "f: must not be empty");
        assert_eq!(
            error(line.check("f", "abcd")),
            "f: must be at most 3 characters"
        );
        assert_eq!(
            error(line.check("f", "a\nb")),
            "f: must not contain control characters"
        );
        assert_eq!(
            line.check("f", "éé ").ok(),
            Some("éé".into()),
            "length counts characters; the stored text is trimmed"
        );
        assert_eq!(
            error(line.check("f", " abc ")),
            "f: must be at most 3 characters",
            "the limit applies to the text as sent, as the API document states it"
        );
        assert_eq!(
            error(line.check("f", "ab\n")),
            "f: must not contain control characters",
            "a trailing line break is a control character on one line, trimmed or not"
        );
        assert_eq!(
            TextRule::lines(3).check("f", "a\nb").ok(),
            Some("a\nb".into())
        );
        assert_eq!(
            error(TextRule::lines(3).check("f", "a\u{0}")),
            "f: must not contain control characters"
        );
    }

    #[test]
    fn optional_fields() {
        let line = TextRule::line(3);
        assert_eq!(line.check_optional("f", None).ok(), Some(None));
        assert_eq!(
            line.check_optional("f", Some("")).ok(),
            Some(None),
            "blank is none"
        );
        assert_eq!(line.check_optional("f", Some("  ")).ok(), Some(None));
        assert_eq!(
            line.check_optional("f", Some(" ab")).ok(),
            Some(Some("ab".into()))
        );
        assert_eq!(
            error(line.check_optional("f", Some("abcd"))),
            "f: must be at most 3 characters"
        );
        assert_eq!(
            error(line.check_optional("f", Some("    "))),
            "f: must be at most 3 characters",
            "a blank text over the limit is refused like any other: the document says so"
        );
        assert_eq!(
            error(line.check_optional("f", Some("\u{7}"))),
            "f: must not contain control characters"
        );
    }

    #[test]
    fn patterns_state_the_same_rule() {
        // A client that validates against the document decides like the server, except for the
        // length, which the schema states beside the pattern.
        let samples = [
            "",
            " ",
            " \t ",
            "a",
            " a ",
            "ab\n",
            "a\nb",
            "a\tb",
            "a\rb",
            "\u{0}",
            "x\u{7}",
            "\u{7f}",
            "\u{85}",
            "\u{9f}",
            "\u{a0}",
            "é",
            "\u{2028}",
            "tea 100 g",
        ];
        let rules = [
            (TextKind::Line, TextRule::line(100), false),
            (TextKind::LineRequired, TextRule::line(100), true),
            (TextKind::Lines, TextRule::lines(100), false),
        ];
        for (kind, rule, required) in rules {
            let pattern = regex::Regex::new(kind.pattern()).expect("a valid pattern");
            for sample in samples {
                let accepted = if required {
                    rule.check("f", sample).is_ok()
                } else {
                    rule.check_optional("f", Some(sample)).is_ok()
                };
                assert_eq!(pattern.is_match(sample), accepted, "{kind:?} {sample:?}");
            }
            assert_eq!(TextKind::from_marker(kind.marker()), Some(kind));
        }
        assert_eq!(TextKind::from_marker("date-time"), None);
    }
}
