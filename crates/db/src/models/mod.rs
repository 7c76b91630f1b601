//! Rows that more than one service touches. Each service keeps the queries on its own tables in its
//! own `models` module.

pub mod audit;
pub mod catalog;
