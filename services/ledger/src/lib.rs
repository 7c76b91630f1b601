//! The ledger worker: consumes the stock event stream (consumer group `ledger`) into the reporting
//! projections, exactly once per event, and reconciles them with the stock levels.

pub mod config;
pub mod event;
pub mod metrics;
pub mod models;
pub mod projection;
pub mod reconcile;
pub mod startup;
pub mod stream;
pub mod tracing_context;
pub mod worker;
