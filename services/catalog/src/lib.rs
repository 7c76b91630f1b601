//! The catalog service: the central product catalog and the stores, cached in Redis and audited.

pub mod config;
pub mod domain;
pub mod keys;
pub mod models;
pub mod openapi;
pub mod routes;
pub mod startup;
pub mod state;
