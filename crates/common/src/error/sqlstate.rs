//! The one classification of database errors by SQLSTATE, used by the HTTP error mapping
//! ([`ApiError`](crate::ApiError)'s `From<diesel::result::Error>`), by the stock service's
//! transaction retries and (once switched) by the ledger worker's batch retries.
//!
//! diesel-async 0.9 keeps a PostgreSQL error's SQLSTATE only as a [`DatabaseErrorKind`] for the few
//! codes diesel names (40001, 23xxx, ...); for every other code it keeps the server's primary
//! message but drops the code. Those codes are recovered here from the message PostgreSQL sends
//! for them (fixed texts in `src/backend/`, English under `lc_messages = C`, which the migrations
//! set for the service roles), in one table, [`BY_MESSAGE`]. Errors without a SQLSTATE (the
//! connection broke, the server went away) come from tokio-postgres as `UnableToSendCommand`.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What a database error means for whoever ran the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFault {
    /// 40001 `serialization_failure`, 40P01 `deadlock_detected`: the transaction was rolled back
    /// because of a concurrent one; running it again may succeed at once.
    Conflict,
    /// 57014 `query_canceled`: the statement ran past its `statement_timeout` (or was cancelled).
    /// The database is overloaded or the query too large; retry later, not at once.
    Timeout,
    /// Class 08 (connection exception), 57P01–57P03 (shutdown, crash, cannot connect now), 53300
    /// `too_many_connections`, or a connection that broke: the database is unavailable for now.
    Unavailable,
    /// 22003 `numeric_value_out_of_range`: a result too large for its column.
    OutOfRange,
    /// Anything else (a constraint, a bug): not transient.
    Other,
}

impl DbFault {
    /// Whether the same work may succeed when tried again later (conflicts, timeouts, outages).
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            DbFault::Conflict | DbFault::Timeout | DbFault::Unavailable
        )
    }

    /// Whether the transaction should simply run again at once (a conflict with another one).
    pub fn retry_at_once(self) -> bool {
        self == DbFault::Conflict
    }
}

/// SQLSTATEs that diesel-async reports as `DatabaseErrorKind::Unknown`, by PostgreSQL's primary
/// message for them (prefixes; the first match wins).
const BY_MESSAGE: &[(&str, &str)] = &[
    ("deadlock detected", "40P01"),
    ("could not serialize access", "40001"),
    ("canceling statement due to statement timeout", "57014"),
    ("canceling statement due to user request", "57014"),
    (
        "terminating connection due to administrator command",
        "57P01",
    ),
    (
        "terminating connection due to unexpected postmaster exit",
        "57P02",
    ),
    ("terminating connection because of crash", "57P02"),
    ("the database system is starting up", "57P03"),
    ("the database system is shutting down", "57P03"),
    ("the database system is in recovery mode", "57P03"),
    (
        "the database system is not yet accepting connections",
        "57P03",
    ),
    ("the database system is not accepting connections", "57P03"),
    ("sorry, too many clients already", "53300"),
    ("bigint out of range", "22003"),
    ("integer out of range", "22003"),
    ("smallint out of range", "22003"),
    ("numeric field overflow", "22003"),
];

/// The SQLSTATE of a database error, when the server sent one.
pub fn sqlstate(e: &DieselError) -> Option<&'static str> {
    let DieselError::DatabaseError(kind, info) = e else {
        return None;
    };
    match kind {
        DatabaseErrorKind::UniqueViolation => Some("23505"),
        DatabaseErrorKind::ForeignKeyViolation => Some("23503"),
        DatabaseErrorKind::RestrictViolation => Some("23001"),
        DatabaseErrorKind::ExclusionViolation => Some("23P01"),
        DatabaseErrorKind::NotNullViolation => Some("23502"),
        DatabaseErrorKind::CheckViolation => Some("23514"),
        DatabaseErrorKind::SerializationFailure => Some("40001"),
        DatabaseErrorKind::ReadOnlyTransaction => Some("25006"),
        // No SQLSTATE: the connection broke before or while the server answered.
        DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => None,
        _ => {
            let message = info.message();
            BY_MESSAGE
                .iter()
                .find(|(text, _)| message.starts_with(text))
                .map(|(_, code)| *code)
                .or_else(|| message.contains("out of range").then_some("22003"))
        }
    }
}

/// Classifies a database error (see [`DbFault`]).
pub fn classify(e: &DieselError) -> DbFault {
    if let DieselError::DatabaseError(
        DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
        info,
    ) = e
    {
        // tokio-postgres errors without a SQLSTATE: a closed or broken connection, a server that
        // went away, is an outage; a value that could not be encoded or decoded is a bug.
        let message = info.message();
        return if message.starts_with("error serializing")
            || message.starts_with("error deserializing")
        {
            DbFault::Other
        } else {
            DbFault::Unavailable
        };
    }
    match sqlstate(e) {
        Some("40001" | "40P01") => DbFault::Conflict,
        Some("57014") => DbFault::Timeout,
        Some("53300" | "57P01" | "57P02" | "57P03") => DbFault::Unavailable,
        Some(code) if code.starts_with("08") => DbFault::Unavailable,
        Some("22003") => DbFault::OutOfRange,
        _ => DbFault::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(message: &str) -> DieselError {
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_owned()))
    }

    #[test]
    fn codes_diesel_drops_are_recovered_from_the_message() {
        for (message, code, fault) in [
            ("deadlock detected", "40P01", DbFault::Conflict),
            (
                "canceling statement due to statement timeout",
                "57014",
                DbFault::Timeout,
            ),
            (
                "terminating connection due to administrator command",
                "57P01",
                DbFault::Unavailable,
            ),
            (
                "the database system is shutting down",
                "57P03",
                DbFault::Unavailable,
            ),
            (
                "sorry, too many clients already",
                "53300",
                DbFault::Unavailable,
            ),
            ("bigint out of range", "22003", DbFault::OutOfRange),
            (
                "value \"99999999999999999999\" is out of range for type bigint",
                "22003",
                DbFault::OutOfRange,
            ),
        ] {
            assert_eq!(sqlstate(&unknown(message)), Some(code), "{message}");
            assert_eq!(classify(&unknown(message)), fault, "{message}");
        }
        assert_eq!(sqlstate(&unknown("syntax error at or near")), None);
        assert_eq!(
            classify(&unknown("syntax error at or near")),
            DbFault::Other
        );
    }

    #[test]
    fn kinds_diesel_names_keep_their_code() {
        let kind = |k| DieselError::DatabaseError(k, Box::new("whatever".to_owned()));
        assert_eq!(
            classify(&kind(DatabaseErrorKind::SerializationFailure)),
            DbFault::Conflict
        );
        assert_eq!(
            sqlstate(&kind(DatabaseErrorKind::UniqueViolation)),
            Some("23505")
        );
        assert_eq!(
            classify(&kind(DatabaseErrorKind::CheckViolation)),
            DbFault::Other
        );
        let broken = DieselError::DatabaseError(
            DatabaseErrorKind::UnableToSendCommand,
            Box::new("connection closed".to_owned()),
        );
        assert_eq!(classify(&broken), DbFault::Unavailable);
        assert_eq!(classify(&DieselError::NotFound), DbFault::Other);
    }

    #[test]
    fn only_conflicts_are_retried_at_once_and_all_three_are_transient() {
        assert!(DbFault::Conflict.retry_at_once());
        assert!(!DbFault::Timeout.retry_at_once());
        assert!(DbFault::Timeout.is_transient());
        assert!(DbFault::Unavailable.is_transient());
        assert!(!DbFault::OutOfRange.is_transient());
        assert!(!DbFault::Other.is_transient());
    }
}
