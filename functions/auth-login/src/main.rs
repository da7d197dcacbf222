//! The Lambda bootstrap of POST /v1/auth/login.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(auth_login::handle)
}
