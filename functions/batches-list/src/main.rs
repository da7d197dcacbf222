//! The Lambda bootstrap of GET /v1/batches.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(batches_list::handle)
}
