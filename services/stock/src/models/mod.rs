//! The stock service's queries: the only place in this crate that writes SQL. Every function takes a
//! connection, so callers decide what runs in one transaction.

pub mod catalog;
pub mod idempotency;
pub mod levels;
pub mod movements;
pub mod one_step;
pub mod outbox;
pub mod reports;
