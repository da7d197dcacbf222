//! The Lambda bootstrap of POST /v1/invoices.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(invoices_create::handle)
}
