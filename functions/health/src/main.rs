//! The Lambda bootstrap of GET /v1/health.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(health::handle)
}
