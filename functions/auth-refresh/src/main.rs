//! The Lambda bootstrap of POST /v1/auth/refresh.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(auth_refresh::handle)
}
