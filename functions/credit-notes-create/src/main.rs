//! The Lambda bootstrap of POST /v1/invoices/{id}/credit-notes.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(credit_notes_create::handle)
}
