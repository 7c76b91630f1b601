//! The stock service: per-store stock levels, movements, transfers and the outbox.

pub mod commands;
pub mod config;
pub mod domain;
pub mod models;
pub mod openapi;
pub mod relay;
pub mod routes;
pub mod startup;
pub mod state;
