//! The Lambda bootstrap of `GET /v1/openapi.json`.

fn main() -> Result<(), lambda_http::Error> {
    shared::bootstrap::serve(api_spec::handle)
}
