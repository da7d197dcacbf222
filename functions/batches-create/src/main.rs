//! The Lambda bootstrap of POST /v1/batches.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(batches_create::handle)
}
