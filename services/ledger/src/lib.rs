//! The ledger worker: consumes the stock event stream (consumer group `ledger`) into the reporting
//! projections, exactly once per movement, closes the gaps a loss of Redis's data leaves from
//! `stock_movements`, and reconciles and rebuilds the projections.

pub mod config;
pub mod event;
pub mod heal;
pub mod health;
pub mod housekeeping;
pub mod metrics;
pub mod models;
pub mod projection;
pub mod reconcile;
pub mod startup;
pub mod stream;
pub mod tracing_context;
pub mod worker;
