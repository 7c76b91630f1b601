//! The rules every catalog text field shares: surrounding whitespace is trimmed, length is counted in
//! characters, and control characters are refused (line breaks and tabs are allowed where a field
//! may span lines).

use inventory_common::FieldError;

/// How a text field may look.
pub(super) struct TextRule {
    pub field: &'static str,
    pub min: usize,
    pub max: usize,
    pub multiline: bool,
}

impl TextRule {
    /// The trimmed text, or what is wrong with it.
    pub fn check(&self, raw: &str) -> Result<String, FieldError> {
        let text = raw.trim();
        let len = text.chars().count();
        if len < self.min {
            return Err(FieldError::new(self.field, "must not be empty"));
        }
        if len > self.max {
            return Err(FieldError::new(
                self.field,
                format!("must be at most {} characters", self.max),
            ));
        }
        let allowed = |c: char| !c.is_control() || (self.multiline && matches!(c, '\n' | '\t'));
        if !text.chars().all(allowed) {
            return Err(FieldError::new(
                self.field,
                "must not contain control characters",
            ));
        }
        Ok(text.to_owned())
    }
}
