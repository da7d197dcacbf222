//! The Lambda bootstrap of the $default route.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(not_found::handle)
}
