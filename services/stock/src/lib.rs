//! The stock service: per-store stock levels, movements, transfers and the outbox.

pub mod config;
pub mod routes;
pub mod startup;
