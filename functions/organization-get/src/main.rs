//! The Lambda bootstrap of GET /v1/organization.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(organization_get::handle)
}
