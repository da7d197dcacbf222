//! The Lambda bootstrap of POST /v1/auth/signup.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(auth_signup::handle)
}
