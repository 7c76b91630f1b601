//! The ledger's SQL: applying events to its projections, and comparing them with the stock levels.

pub mod checks;
pub mod heal;
pub mod ledger;
pub mod reconcile;
