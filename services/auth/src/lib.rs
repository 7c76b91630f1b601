//! The auth service: users, passwords, access and refresh tokens. It is the only holder of the
//! token-signing key; every other service verifies tokens with the public key.

pub mod administration;
pub mod bootstrap;
pub mod config;
pub mod domain;
pub mod models;
pub mod openapi;
pub mod password;
pub mod routes;
pub mod startup;
pub mod state;
pub mod tokens;
