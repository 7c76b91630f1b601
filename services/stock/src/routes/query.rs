//! Query-string values, read as text and parsed here so that a 400 names the parameter.

use chrono::{DateTime, Utc};
use inventory_common::ApiError;
use uuid::Uuid;

/// An optional UUID.
pub fn uuid(raw: Option<&str>, field: &str) -> Result<Option<Uuid>, ApiError> {
    raw.map(|r| Uuid::parse_str(r.trim()).map_err(|_| ApiError::field(field, "must be a UUID")))
        .transpose()
}

/// An optional `true`/`false` (absent is `false`).
pub fn flag(raw: Option<&str>, field: &str) -> Result<bool, ApiError> {
    match raw.map(str::trim) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::field(field, "must be true or false")),
    }
}

/// An optional RFC 3339 time.
pub fn time(raw: Option<&str>, field: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|r| {
        DateTime::parse_from_rfc3339(r.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                ApiError::field(field, "must be an RFC 3339 time, e.g. 2026-11-25T10:00:00Z")
            })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use inventory_common::pagination::PageRequest;

    use super::*;

    #[test]
    fn limits() {
        let page = PageRequest::parse;
        assert!(page(Some("abc"), None).is_err());
        assert!(page(Some("1.5"), None).is_err());
        assert!(page(Some("0"), None).is_err());
        assert!(page(Some("501"), None).is_err());
        assert_eq!(page(Some("10"), None).map(|p| p.limit).ok(), Some(10));
        assert_eq!(page(None, None).map(|p| p.limit).ok(), Some(50));
    }

    #[test]
    fn uuids_flags_and_times() {
        assert!(uuid(Some("nope"), "store_id").is_err());
        assert_eq!(uuid(None, "store_id").ok(), Some(None));
        assert!(flag(Some("yes"), "low_stock").is_err());
        assert_eq!(flag(Some("true"), "low_stock").ok(), Some(true));
        assert_eq!(flag(None, "low_stock").ok(), Some(false));
        assert!(time(Some("yesterday"), "from").is_err());
        assert!(time(Some("2026-11-25 10:00:00"), "from").is_err());
        assert!(time(Some("2026-11-25T10:00:00+01:00"), "from").is_ok());
    }
}
