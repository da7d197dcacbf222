//! `GET /v1/openapi.json` (no auth): the OpenAPI document of the API, as `openapi.yaml` says it,
//! turned into JSON when the function is built.

use lambda_http::http::header::CACHE_CONTROL;
use lambda_http::http::{HeaderValue, StatusCode};
use shared::aws::SdkConfig;
use shared::bootstrap::State;
use shared::config::Config;
use shared::http::{HandlerResult, Query, Request};

/// The document, as `build.rs` wrote it from `openapi.yaml`.
const SPEC: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// Nothing to build: the document is in the binary.
pub struct Spec;

impl State for Spec {
    fn build(_: &SdkConfig, _: &Config) -> anyhow::Result<Self> {
        Ok(Self)
    }
}

pub async fn handle(_: &Spec, request: Request) -> HandlerResult {
    Query::read(&request, &[])?;
    let mut response = shared::http::json_text(StatusCode::OK, SPEC.to_owned());
    // Public and the same for everyone until the next deployment.
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}
