//! `GET /v1/openapi.json` (no auth): the OpenAPI document of the API, as `openapi.yaml` says it,
//! turned into JSON when the function is built.

use lambda_http::http::StatusCode;
use serde_json::value::RawValue;
use shared::aws::SdkConfig;
use shared::bootstrap::State;
use shared::config::Config;
use shared::http::{HandlerResult, Query, Request};

/// The document, read once per container.
pub struct Spec(Box<RawValue>);

impl State for Spec {
    fn build(_: &SdkConfig, _: &Config) -> anyhow::Result<Self> {
        let json = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));
        Ok(Self(RawValue::from_string(json.to_owned())?))
    }
}

pub async fn handle(spec: &Spec, request: Request) -> HandlerResult {
    Query::read(&request, &[])?;
    Ok(shared::http::json(StatusCode::OK, &spec.0))
}
