//! The form a cached response body takes: the rendered JSON with its entity tag.

use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ApiError;

/// A response body as the cache keeps it: the JSON and its strong entity tag (the first 128 bits
/// of the body's SHA-256, quoted), computed once when the body is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub etag: String,
    /// Shares the buffer Redis's answer was read into: a hit is sent without copying it again.
    pub body: Bytes,
}

impl Rendered {
    /// Renders `value` as JSON and tags it.
    pub fn of<T: Serialize>(value: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_vec(value).map_err(ApiError::internal)?;
        let digest = Sha256::digest(&body);
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            etag: format!("\"{hex}\""),
            body: Bytes::from(body),
        })
    }

    /// The stored form: `<etag>\n<json>` (compact JSON has no newline).
    pub(super) fn to_stored(&self) -> Vec<u8> {
        let mut stored = Vec::with_capacity(self.etag.len() + 1 + self.body.len());
        stored.extend_from_slice(self.etag.as_bytes());
        stored.push(b'\n');
        stored.extend_from_slice(&self.body);
        stored
    }

    /// Reads the stored form; `None` for anything else (an entry of an older format is a miss).
    pub(super) fn from_stored(stored: Vec<u8>) -> Option<Self> {
        let newline = stored.iter().position(|b| *b == b'\n')?;
        let etag = std::str::from_utf8(&stored[..newline]).ok()?.to_owned();
        let body = Bytes::from(stored).slice(newline + 1..);
        (etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'))
            .then_some(Self { etag, body })
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // tests: failing loudly is the point
mod tests {
    use super::Rendered;

    #[test]
    fn a_rendered_body_is_stored_and_read_back_whole() {
        let rendered =
            Rendered::of(&serde_json::json!({"name": "a\nb", "n": [1, 2]})).expect("renders");
        assert_eq!(rendered.etag.len(), 34);
        assert_eq!(
            Rendered::from_stored(rendered.to_stored()),
            Some(rendered.clone())
        );
        let other =
            Rendered::of(&serde_json::json!({"name": "a\nc", "n": [1, 2]})).expect("renders");
        assert_ne!(rendered.etag, other.etag);
    }

    #[test]
    fn an_entry_of_another_format_is_a_miss() {
        assert_eq!(
            Rendered::from_stored(br#"{"name":"plain json"}"#.to_vec()),
            None
        );
        assert_eq!(Rendered::from_stored(b"\n{}".to_vec()), None);
    }
}
