//! The Lambda bootstrap of an accepted invoice's documents.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(invoice_documents::handle)
}
