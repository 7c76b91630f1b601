//! Integration tests of the ledger worker: real consumer loops against the stack's Redis (a key
//! prefix per test) and a PostgreSQL database per test, fed with entries in the exact format the
//! stock service's relay publishes. Run with the stack's environment (`make test`, or
//! `. .state/dev/stack.env` and `cargo test -p inventory-ledger`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

mod consume;
mod heal;
mod helpers;
mod housekeeping;
mod reconcile;
mod recovery;
mod service;
mod stock_side;
