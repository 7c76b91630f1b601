//! The ledger worker: consumes the stock event stream into the reporting projections.

pub mod config;
pub mod startup;
