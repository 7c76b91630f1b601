//! Code shared by every inventory service: configuration, telemetry, the problem+json error type,
//! PostgreSQL and Redis pools, and access-token verification.
//!
//! The actix-web glue (extractors, health and metrics routes, request middleware) sits behind the
//! `web` feature so that a non-HTTP consumer does not compile actix.

pub mod auth;
pub mod cache;
pub mod config;
pub mod db;
pub mod error;
pub mod metrics;
#[cfg(feature = "web")]
pub mod openapi;
pub mod pagination;
#[cfg(feature = "web")]
pub mod rate_limit;
pub mod redis;
pub mod retry;
pub mod telemetry;
pub mod text;
#[cfg(feature = "web")]
pub mod web;

pub use error::{ApiError, FieldError};
