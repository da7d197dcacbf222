//! Structured JSON logs through `tracing`, one line per event.
//!
//! Lambda adds the function's request id to the span the runtime opens for each invocation; the
//! HTTP glue adds the API Gateway request id; handlers add `org_id`, `user_id`, `invoice_id` and
//! `batch_id` as span fields. Secrets never reach a field: they are wrapped in types whose
//! `Debug` is redacted.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber. The level comes from `RUST_LOG` (default `info`). Calling it
/// twice is harmless: the second call keeps the first subscriber.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _already_set = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .with_target(true)
        .with_env_filter(filter)
        .try_init();
}
