//! The Lambda bootstrap of the webhook deliveries.

fn main() -> Result<(), lambda_runtime::Error> {
    shared::bootstrap::serve_events(webhook_delivery::handle)
}
