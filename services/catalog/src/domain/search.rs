//! The product list's `q` filter.

use inventory_common::{FieldError, text::TextRule};

/// The longest search text accepted.
const MAX_LEN: usize = 200;
/// The shortest search text matched anywhere; shorter ones match the start (see [`SearchQuery`]).
const CONTAINS_MIN_LEN: usize = 3;

/// A case-insensitive search on SKU or name: text of three or more characters matches anywhere
/// (served by the trigram indexes), shorter text matches the start (served by the prefix indexes; a
/// pattern under three characters has no trigram, so "contains" would scan every product).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    lowered: String,
}

impl SearchQuery {
    /// Trims `q` (the platform's text rule, on one line); absent or blank means no filter (`None`).
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, FieldError> {
        let Some(text) = TextRule::line(MAX_LEN).check_optional("q", raw)? else {
            return Ok(None);
        };
        Ok(Some(Self {
            lowered: text.to_lowercase(),
        }))
    }

    /// The lowercased search text (also what identifies the filter in a cache field).
    pub fn text(&self) -> &str {
        &self.lowered
    }

    /// A `LIKE` pattern for lowercased text: `%q%`, or `q%` for a short query; `\`, `%` and `_` are
    /// escaped so they match themselves (PostgreSQL's default `LIKE` escape is the backslash).
    pub fn like_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.lowered.len() + 2);
        if self.lowered.chars().count() >= CONTAINS_MIN_LEN {
            pattern.push('%');
        }
        for c in self.lowered.chars() {
            if matches!(c, '\\' | '%' | '_') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_no_filter() {
        assert_eq!(SearchQuery::parse(None).ok(), Some(None));
        assert_eq!(SearchQuery::parse(Some("   ")).ok(), Some(None));
    }

    #[test]
    fn bad_queries_name_q() {
        let long = "q".repeat(201);
        assert_eq!(
            SearchQuery::parse(Some(&long)).err().map(|e| e.field),
            Some("q".into())
        );
        assert!(SearchQuery::parse(Some("a\u{0}b")).is_err());
    }

    #[test]
    fn patterns_are_lowercased_and_escaped() {
        let q = SearchQuery::parse(Some(" 50%_Off\\ ")).ok().flatten();
        assert_eq!(q.map(|q| q.like_pattern()), Some(r"%50\%\_off\\%".into()));
    }

    #[test]
    fn short_queries_match_the_start() {
        let pattern = |q: &str| {
            SearchQuery::parse(Some(q))
                .ok()
                .flatten()
                .map(|q| q.like_pattern())
        };
        assert_eq!(pattern("A"), Some("a%".into()));
        assert_eq!(pattern("_%"), Some(r"\_\%%".into()));
        assert_eq!(pattern("éé"), Some("éé%".into()));
        assert_eq!(pattern("abc"), Some("%abc%".into()));
    }
}
