//! The Lambda bootstrap of the submission worker.

// The worker's future (an attempt's provider calls within its settlement of a blocked account)
// nests deeper than the compiler's default layout depth.
#![recursion_limit = "256"]

fn main() -> Result<(), lambda_runtime::Error> {
    shared::bootstrap::serve_events(submit_worker::handle)
}
