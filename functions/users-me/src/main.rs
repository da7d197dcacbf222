//! The Lambda bootstrap of GET /v1/users/me.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(users_me::handle)
}
