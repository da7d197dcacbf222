//! The Lambda bootstrap of POST /v1/auth/logout.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(auth_logout::handle)
}
