//! The reports' query-string values, parsed so that a 400 names the parameter.

use ::uuid::Uuid;
use chrono::{Datelike, Days, NaiveDate};
use inventory_common::ApiError;

/// The longest daily report, in days.
pub const MAX_DAYS: u64 = 366;
/// Days covered when `from` is not given.
pub const DEFAULT_DAYS: u64 = 30;

/// An inclusive range of UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    /// `from` and `to` as `YYYY-MM-DD`; `to` defaults to `today`, `from` to 29 days before `to`.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<Self, ApiError> {
        let to = date(to, "to")?.unwrap_or(today);
        let from = match date(from, "from")? {
            Some(from) => from,
            None => to
                .checked_sub_days(Days::new(DEFAULT_DAYS - 1))
                .unwrap_or(to),
        };
        if from > to {
            return Err(ApiError::field("from", "must not be after `to`"));
        }
        if (to - from).num_days() >= MAX_DAYS as i64 {
            return Err(ApiError::field(
                "to",
                format!("the range may cover at most {MAX_DAYS} days"),
            ));
        }
        Ok(Self { from, to })
    }
}

fn date(raw: Option<&str>, field: &str) -> Result<Option<NaiveDate>, ApiError> {
    raw.map(|r| {
        NaiveDate::parse_from_str(r.trim(), "%Y-%m-%d")
            .ok()
            // chrono takes signed and 5-digit years; PostgreSQL and the format do not.
            .filter(|d| (1..=9999).contains(&d.year()))
            .ok_or_else(|| ApiError::field(field, "must be a date as YYYY-MM-DD"))
    })
    .transpose()
}

pub use crate::routes::query::uuid;
pub use inventory_common::pagination::parse_limit as limit;

/// A cursor of two parts, `a.b`, as this API hands them out.
pub fn cursor<A, B>(
    raw: Option<&str>,
    first: impl Fn(&str) -> Option<A>,
    second: impl Fn(&str) -> Option<B>,
) -> Result<Option<(A, B)>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    raw.split_once('.')
        .and_then(|(a, b)| Some((first(a)?, second(b)?)))
        .map(Some)
        .ok_or_else(|| ApiError::field("cursor", "is not a cursor returned by this API"))
}

/// Parses a day of a cursor.
pub fn cursor_day(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|d| (1..=9999).contains(&d.year()))
}

/// Parses a UUID of a cursor.
pub fn cursor_uuid(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn field_of(e: ApiError) -> String {
        match e {
            ApiError::BadRequest { errors, .. } => errors[0].field.clone(),
            other => format!("not a 400: {other}"),
        }
    }

    #[test]
    fn date_ranges() {
        let today = day("2026-11-25");
        let r = DateRange::parse(None, None, today).ok();
        assert_eq!(r.map(|r| (r.from, r.to)), Some((day("2026-10-27"), today)));
        let r = DateRange::parse(Some("2026-11-01"), Some("2026-11-03"), today).ok();
        assert_eq!(r.map(|r| r.from), Some(day("2026-11-01")));
        for (from, to, field) in [
            (Some("2026-13-01"), None, "from"),
            (Some("yesterday"), None, "from"),
            (Some("2026-11-01T00:00:00Z"), None, "from"),
            (None, Some("2026/11/25"), "to"),
            (None, Some(""), "to"),
            (Some("2026-11-26"), Some("2026-11-25"), "from"),
            (Some("2024-01-01"), Some("2026-01-01"), "to"),
            (Some("-5000-01-01"), None, "from"),
            (None, Some("+12026-01-01"), "to"),
        ] {
            let err = DateRange::parse(from, to, today).err().map(field_of);
            assert_eq!(err.as_deref(), Some(field), "{from:?} {to:?}");
        }
    }

    #[test]
    fn limits_uuids_and_cursors() {
        assert!(limit(Some("0")).is_err());
        assert!(limit(Some("501")).is_err());
        assert!(limit(Some("ten")).is_err());
        assert_eq!(limit(None).ok(), Some(50));
        assert!(uuid(Some("nope"), "store_id").is_err());
        assert_eq!(uuid(None, "store_id").ok(), Some(None));
        let id = Uuid::now_v7();
        let ok = cursor(Some(&format!("2026-11-25.{id}")), cursor_day, cursor_uuid).ok();
        assert_eq!(ok, Some(Some((day("2026-11-25"), id))));
        assert!(cursor(Some("2026-11-25"), cursor_day, cursor_uuid).is_err());
        assert!(cursor(Some("x.y"), cursor_day, cursor_uuid).is_err());
        assert_eq!(cursor(None, cursor_day, cursor_uuid).ok(), Some(None));
    }
}
