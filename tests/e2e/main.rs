//! End-to-end tests through the nginx gateway of the test stack (`make test`). One binary, one
//! module per area.

mod audit;
mod auth;
mod docs;
mod catalog;
mod gateway;
mod ledger;
mod stock;
mod tracing;
