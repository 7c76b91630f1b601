//! The error of a stock transaction: what the client gets, or a database error that a retry of the
//! whole transaction may cure (deadlock, serialization failure).

use diesel::result::Error as DieselError;
use inventory_common::{ApiError, error::classify_db_error};

/// Why a stock transaction failed.
#[derive(Debug)]
pub enum TxError {
    /// A failure to answer as is (404, 409, ...).
    Api(ApiError),
    /// A database error, kept whole so that [`TxError::is_retryable`] can look at it.
    Db(DieselError),
}

impl TxError {
    /// Deadlocks and serialization failures (by SQLSTATE, the one classification in
    /// `inventory_common::error`): the transaction was rolled back and may simply run again.
    pub fn is_retryable(&self) -> bool {
        match self {
            TxError::Db(e) => classify_db_error(e).retry_at_once(),
            TxError::Api(_) => false,
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
