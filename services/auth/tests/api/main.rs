//! Integration tests of the auth service: the real app on port 0 against its own PostgreSQL database
//! (cloned from the migrated template) and the stack's Redis and signing key. Run them with the
//! stack's environment (`make test`, or `. .state/dev/stack.env` and `cargo test -p inventory-auth`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

mod admin;
mod bootstrap;
mod helpers;
mod keys;
mod limits;
mod login;
mod refresh;
mod register;
mod registration;
