//! The Lambda bootstrap of GET /v1/invoices.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(invoices_list::handle)
}
