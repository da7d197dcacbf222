//! The Lambda bootstrap of GET /v1/users.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(users_list::handle)
}
