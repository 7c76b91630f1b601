//! Continues the trace of the request that caused a movement (W3C `traceparent` carried by the
//! event) in the worker.

use std::collections::HashMap;

use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::event::LedgerEvent;

/// A span for one event whose parent is the producing request's span.
pub fn event_span(event: &LedgerEvent) -> tracing::Span {
    let span = tracing::info_span!(
        "ledger.event",
        event_id = %event.event_id,
        store_id = %event.store_id,
        product_id = %event.product_id,
        level_version = event.level_version,
    );
    if !event.traceparent.is_empty() {
        let carrier = HashMap::from([("traceparent".to_owned(), event.traceparent.clone())]);
        let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&carrier)
        });
        // Without an OpenTelemetry layer (no exporter configured) there is nothing to link.
        let _ = span.set_parent(parent);
    }
    span
}
