//! Tracing initialisation: JSON logs (level from `RUST_LOG`), and OpenTelemetry spans exported over
//! OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (nothing is exported, and nothing fails, when
//! it is not). The W3C trace-context propagator is installed either way.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

/// Flushes pending spans when dropped; keep it alive for the life of the process.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("failed to flush traces: {e}");
        }
    }
}

/// Installs the global subscriber for `service`. `LOG_FORMAT=pretty` gives human-readable lines. In
/// JSON, each line lists its spans, so a line logged while serving a request carries the request's
/// `request_id`, `trace_id` and `user_id`.
pub fn init(service: &'static str) -> TelemetryGuard {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    // tracing-actix-web logs every error response again; ours are logged once, where they are handled.
    let directives = if directives.contains("tracing_actix_web") {
        directives
    } else {
        format!("{directives},tracing_actix_web::middleware=off")
    };
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let provider = otlp_provider(service);
    let otel_layer = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service)));
    let pretty = std::env::var("LOG_FORMAT").is_ok_and(|v| v == "pretty");
    let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
    let result = if pretty {
        registry.with(tracing_subscriber::fmt::layer()).try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(true),
            )
            .try_init()
    };
    // A second init in the same process (tests) keeps the first subscriber.
    drop(result);
    TelemetryGuard { provider }
}

fn otlp_provider(service: &'static str) -> Option<SdkTracerProvider> {
    std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|v| !v.trim().is_empty())?;
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
    {
        Ok(exporter) => exporter,
        Err(e) => {
            eprintln!("OTLP exporter disabled: {e}");
            return None;
        }
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(format!("inventory-{service}"))
                .build(),
        )
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    Some(provider)
}
