//! The Lambda bootstrap of GET /v1/batches/{id}/invoices.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(batches_invoices::handle)
}
