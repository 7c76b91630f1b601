//! The error of a stock transaction: what the client gets, or a database error that a retry of the
//! whole transaction may cure (deadlock, serialization failure).

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use inventory_common::ApiError;

/// Why a stock transaction failed.
#[derive(Debug)]
pub enum TxError {
    /// A failure to answer as is (404, 409, ...).
    Api(ApiError),
    /// A database error, kept whole so that [`TxError::is_retryable`] can look at it.
    Db(DieselError),
}

impl TxError {
    /// Deadlocks and serialization failures: the transaction was rolled back and may simply run again.
    pub fn is_retryable(&self) -> bool {
        match self {
            TxError::Db(DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _)) => {
                true
            }
            // diesel has no kind for SQLSTATE 40P01; PostgreSQL's message is fixed text.
            TxError::Db(DieselError::DatabaseError(_, info)) => {
                info.message().contains("deadlock detected")
            }
            _ => false,
        }
    }
}

impl From<DieselError> for TxError {
    fn from(e: DieselError) -> Self {
        TxError::Db(e)
    }
}

impl From<ApiError> for TxError {
    fn from(e: ApiError) -> Self {
        TxError::Api(e)
    }
}

impl From<TxError> for ApiError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Api(e) => e,
            TxError::Db(e) => ApiError::from(e),
        }
    }
}
