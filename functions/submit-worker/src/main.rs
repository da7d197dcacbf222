//! The Lambda bootstrap of the submission worker.

fn main() -> Result<(), lambda_runtime::Error> {
    shared::bootstrap::serve_events(submit_worker::handle)
}
