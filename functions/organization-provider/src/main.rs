//! The Lambda bootstrap of PUT and DELETE /v1/organization/provider.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(organization_provider::handle)
}
