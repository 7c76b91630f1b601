//! End-to-end tests through the nginx gateway of the test stack (`make test`). One binary, one
//! module per area.

mod audit;
mod auth;
mod catalog;
mod docs;
mod gateway;
mod ledger;
mod metrics;
mod stock;
mod tracing;
