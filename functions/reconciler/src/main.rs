//! The Lambda bootstrap of the reconciler.

fn main() -> Result<(), lambda_runtime::Error> {
    shared::bootstrap::serve_events(reconciler::handle)
}
