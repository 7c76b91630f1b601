//! End-to-end tests through the nginx gateway of the test stack (`make test`). One binary, one
//! module per area.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

mod audit;
mod auth;
mod catalog;
mod docs;
mod gateway;
mod hostile_scope;
mod ledger;
mod metrics;
mod monitoring;
mod stack_config;
mod stock;
mod tracing;
