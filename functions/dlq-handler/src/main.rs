//! The Lambda bootstrap of the dead-letter handler.

fn main() -> Result<(), lambda_runtime::Error> {
    shared::bootstrap::serve_events(dlq_handler::handle)
}
