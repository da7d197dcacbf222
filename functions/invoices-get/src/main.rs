//! The Lambda bootstrap of GET /v1/invoices/{id}.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(invoices_get::handle)
}
