//! Integration tests of the stock service: the real app on an ephemeral port against a fresh
//! PostgreSQL database (cloned from the migrated template) and the shared Redis under a per-test
//! key prefix. One binary, one module per area.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

mod batch;
mod bounded;
mod concurrency;
mod events;
mod helpers;
mod idempotency;
mod reads;
mod reports;
mod scope;
mod transfers;
mod validation;
