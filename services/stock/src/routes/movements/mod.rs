//! `/stock/movements`: recording one movement or a batch, and reading the history.

pub(crate) mod batch;
pub(crate) mod create;
pub(crate) mod list;
