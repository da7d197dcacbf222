//! The Lambda bootstrap of GET /v1/batches/{id}/errors.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(batches_errors::handle)
}
