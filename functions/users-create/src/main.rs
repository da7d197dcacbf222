//! The Lambda bootstrap of POST /v1/users.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(users_create::handle)
}
