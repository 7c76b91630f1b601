//! actix-web glue shared by every service: problem+json rendering, the JSON body extractor that names
//! the offending field, cached reads sent as stored with conditional GETs (`conditional`), request ids, access and audit logs, the operator routes (`/healthz`,
//! `/readyz`, `/metrics`), and the server every service runs.

pub mod conditional;
mod consistency;
mod drift;
mod json;
mod ops;
mod problem;
mod request;
mod server;

pub use consistency::{CONSISTENCY_TOKEN, consistency, with_committed};
pub use drift::route_drift;
pub use json::{JsonBody, MAX_BODY_BYTES, parse_json};
pub use ops::{ProgressCheck, Readiness, check_pg, check_redis, configure, not_found};
pub use request::{AuditIds, REQUEST_ID, RequestId, RequestSpan, request_context};
pub use server::{Server, ServiceContext, StartupError, run, serve};
