//! Keyset pagination: `?limit=&cursor=` in, `{items, next_cursor}` out.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ApiError;

/// The default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest page a client may ask for.
pub const MAX_LIMIT: i64 = 500;

/// A page of a list.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says that there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Self {
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let next_cursor = if has_more {
            rows.last().map(cursor_of)
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

/// Validated `limit` and `cursor` query parameters.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<Uuid>,
}

/// Checks `limit` as the client sent it (text, so that a non-integer is a 400 naming `limit`
/// rather than an unreadable query string): 1..=500, default 50.
pub fn parse_limit(raw: Option<&str>) -> Result<i64, ApiError> {
    let limit = match raw {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .map_err(|_| ApiError::field("limit", "must be an integer"))?,
    };
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok(limit)
}

impl PageRequest {
    /// Checks `limit` ([`parse_limit`]) and a cursor that must be one this API handed out.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = parse_limit(limit)?;
        let after =
            match cursor.map(str::trim).filter(|c| !c.is_empty()) {
                None => None,
                Some(c) => Some(Uuid::parse_str(c).map_err(|_| {
                    ApiError::field("cursor", "is not a cursor returned by this API")
                })?),
            };
        Ok(Self { limit, after })
    }
}

/// The raw query parameters, for `web::Query`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "web", into_params(parameter_in = Query))]
pub struct PageParams {
    /// Page size, 1 to 500 (default 50).
    #[cfg_attr(feature = "web", param(value_type = Option<i64>, minimum = 1, maximum = 500))]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn parse(&self) -> Result<PageRequest, ApiError> {
        PageRequest::parse(self.limit.as_deref(), self.cursor.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_bounds() {
        assert!(PageRequest::parse(Some("0"), None).is_err());
        assert!(PageRequest::parse(Some("501"), None).is_err());
        assert_eq!(
            PageRequest::parse(None, None).map(|p| p.limit).ok(),
            Some(50)
        );
        assert_eq!(
            PageRequest::parse(Some(" 10 "), None).map(|p| p.limit).ok(),
            Some(10)
        );
        assert!(PageRequest::parse(Some("10"), Some("nope")).is_err());
        for bad in ["abc", "1.5", ""] {
            match parse_limit(Some(bad)) {
                Err(ApiError::BadRequest { errors, .. }) => assert_eq!(errors[0].field, "limit"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn next_cursor_only_when_more() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        let last = Page::from_rows(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(last.next_cursor, None);
    }
}
