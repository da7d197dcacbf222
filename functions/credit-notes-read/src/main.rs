//! The Lambda bootstrap of GET /v1/credit-notes/{id} and GET /v1/credit-notes.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(credit_notes_read::handle)
}
