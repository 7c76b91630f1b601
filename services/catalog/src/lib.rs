//! The catalog service: the central product catalog and the stores.

pub mod config;
pub mod routes;
pub mod startup;
