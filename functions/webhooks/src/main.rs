//! The Lambda bootstrap of /v1/webhooks.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(webhooks::handle)
}
