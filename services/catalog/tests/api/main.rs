//! Integration tests of the catalog service: the real app on port 0 against a fresh database (cloned
//! from the migrated template) and a Redis key prefix of its own, per test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: failing loudly is the point

mod audit;
mod cache;
mod helpers;
mod openapi;
mod products;
mod stores;
mod validation;
