//! The Lambda bootstrap of POST /v1/invoices/{id}/retry.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(invoices_retry::handle)
}
