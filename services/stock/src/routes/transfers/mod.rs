//! `/stock/transfers`: stock moved between two stores in one transaction.

pub(crate) mod create;
