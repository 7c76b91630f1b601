//! The one error type of every service, rendered as `application/problem+json` (RFC 9457), and the
//! central mapping of database errors onto it.

mod sqlstate;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use serde_json::{Map, Value};

pub use sqlstate::{DbFault, classify as classify_db_error, sqlstate};

/// A problem with one field of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field's name or path (`movements[3].quantity`), as the client sent it.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything a request can fail with. Each variant has one status; details meant for operators go
/// to the log, never into the response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the input is malformed or invalid.
    #[error("{detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 401: no token, or one that does not verify.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404: the named thing does not exist (or is archived).
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists, the method does not; `allow` lists the methods it has.
    #[error("{detail}")]
    MethodNotAllowed { detail: String, allow: String },
    /// 409: conflicting state; `extra` carries members such as `available`.
    #[error("{detail}")]
    Conflict {
        kind: &'static str,
        detail: String,
        extra: Map<String, Value>,
    },
    /// 413: the body is over the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed but cannot be processed (an idempotency key reused with another body).
    #[error("{0}")]
    Unprocessable(String),
    /// 429: rate limited; `retry_after` in seconds.
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    /// 503: a dependency is down or saturated; the client may retry.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a fault; the message is logged, the client sees a generic text.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 naming one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let error = FieldError::new(field, message);
        ApiError::BadRequest {
            detail: format!("{}: {}", error.field, error.message),
            errors: vec![error],
        }
    }

    /// A 400 naming several fields.
    pub fn fields(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        ApiError::BadRequest { detail, errors }
    }

    /// A 409 of the given kind (the last segment of its `type`).
    pub fn conflict(kind: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Conflict {
            kind,
            detail: detail.into(),
            extra: Map::new(),
        }
    }

    /// Adds an extension member to a 409 (no effect on other variants).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        if let ApiError::Conflict { extra, .. } = &mut self {
            extra.insert(key.to_owned(), value.into());
        }
        self
    }

    /// Wraps any unexpected error as a 500.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest { .. } => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::Conflict { .. } => 409,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::Unprocessable(_) => 422,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "validation",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict { kind, .. } => kind,
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::TooManyRequests { .. } => "rate-limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "Invalid request",
            ApiError::Unauthorized(_) => "Unauthorized",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::NotFound(_) => "Not found",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::MethodNotAllowed { .. } => "Method not allowed",
            ApiError::PayloadTooLarge(_) => "Payload too large",
            ApiError::UnsupportedMediaType(_) => "Unsupported media type",
            ApiError::Unprocessable(_) => "Unprocessable request",
            ApiError::TooManyRequests { .. } => "Too many requests",
            ApiError::Unavailable(_) => "Service unavailable",
            ApiError::Internal(_) => "Internal server error",
        }
    }

    /// The problem+json document.
    pub fn problem(&self) -> Value {
        let detail = match self {
            ApiError::Internal(_) => "an unexpected error occurred".to_owned(),
            ApiError::TooManyRequests { retry_after } => {
                format!("rate limit exceeded; retry in {retry_after} s")
            }
            other => other.to_string(),
        };
        let mut body = Map::new();
        body.insert(
            "type".into(),
            Value::String(format!("https://inventory.dev/problems/{}", self.kind())),
        );
        body.insert("title".into(), Value::String(self.title().into()));
        body.insert("status".into(), Value::from(self.status()));
        body.insert("detail".into(), Value::String(detail));
        match self {
            ApiError::BadRequest { errors, .. } if !errors.is_empty() => {
                body.insert(
                    "errors".into(),
                    serde_json::to_value(errors).unwrap_or(Value::Null),
                );
            }
            ApiError::Conflict { extra, .. } => body.extend(extra.clone()),
            _ => {}
        }
        Value::Object(body)
    }
}

/// The central mapping of diesel errors: missing row → 404, unique, check or foreign-key violation
/// → 409, a conflict with a concurrent transaction, a statement timeout or a lost database → 503
/// (with `Retry-After`), a value out of range → 422, anything else → 500 (logged, not shown).
/// Transient faults are told apart by SQLSTATE ([`classify_db_error`]).
impl From<DieselError> for ApiError {
    fn from(e: DieselError) -> Self {
        if let DieselError::NotFound = e {
            return ApiError::NotFound("resource not found".into());
        }
        if let DieselError::DatabaseError(kind, info) = &e {
            let conflict = |kind, what: &str| {
                ApiError::conflict(
                    kind,
                    format!("{what}{}", constraint(info.constraint_name())),
                )
            };
            match kind {
                DatabaseErrorKind::UniqueViolation => {
                    return conflict(
                        "already-exists",
                        "a record with the same key already exists",
                    );
                }
                DatabaseErrorKind::CheckViolation => {
                    return conflict(
                        "constraint-violation",
                        "the change violates a rule of the data",
                    );
                }
                DatabaseErrorKind::ForeignKeyViolation => {
                    return conflict(
                        "reference-violation",
                        "the change refers to a record that does not exist",
                    );
                }
                _ => {}
            }
        }
        match classify_db_error(&e) {
            DbFault::Conflict => ApiError::Unavailable(
                "the change conflicted with a concurrent one; try again".into(),
            ),
            DbFault::Timeout => {
                tracing::warn!(error = %e, "statement timeout");
                ApiError::Unavailable(
                    "the database took too long to answer (statement timeout); try again later"
                        .into(),
                )
            }
            DbFault::Unavailable => {
                tracing::error!(error = %e, "database unavailable");
                ApiError::Unavailable("the database is unavailable; try again".into())
            }
            // An arithmetic result too large for its column.
            DbFault::OutOfRange => {
                ApiError::Unprocessable("a value is too large to compute or store".into())
            }
            DbFault::Other => ApiError::Internal(format!("database error: {e}")),
        }
    }
}

fn constraint(name: Option<&str>) -> String {
    name.map(|n| format!(" ({n})")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_and_range_errors_are_not_500s() {
        let unknown = |message: &str| {
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_owned()))
        };
        assert_eq!(ApiError::from(unknown("deadlock detected")).status(), 503);
        assert_eq!(ApiError::from(unknown("bigint out of range")).status(), 422);
        assert_eq!(
            ApiError::from(unknown(
                "terminating connection due to administrator command"
            ))
            .status(),
            503
        );
        assert_eq!(
            ApiError::from(unknown("canceling statement due to statement timeout")).status(),
            503
        );
        assert_eq!(ApiError::from(unknown("syntax error")).status(), 500);
    }

    #[test]
    fn not_found_maps_to_404() {
        assert_eq!(ApiError::from(DieselError::NotFound).status(), 404);
    }

    #[test]
    fn internal_errors_hide_details() {
        let body = ApiError::internal("password=hunter2 in connection string").problem();
        assert_eq!(body["status"], 500);
        assert!(!body.to_string().contains("hunter2"));
    }

    #[test]
    fn conflict_carries_extension_members() {
        let body = ApiError::conflict("insufficient-stock", "only 3 left")
            .with("available", 3)
            .problem();
        assert_eq!(body["available"], 3);
        assert_eq!(
            body["type"],
            "https://inventory.dev/problems/insufficient-stock"
        );
    }

    #[test]
    fn field_errors_name_the_field() {
        let body = ApiError::field("quantity", "must be an integer").problem();
        assert_eq!(body["errors"][0]["field"], "quantity");
        assert_eq!(body["status"], 400);
    }
}
