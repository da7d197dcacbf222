//! `GET /v1/health`: says the function is up, and with `?deep=true` that the table and the
//! submissions queue answer too (503 `UNAVAILABLE` naming each failing check otherwise).

use std::time::Duration;

use lambda_http::http::StatusCode;
use serde_json::json;
use shared::aws::SdkConfig;
use shared::bootstrap::State;
use shared::config::Config;
use shared::http::{ApiError, HandlerResult, Query, Request};
use shared::validation::FieldError;

/// How long one dependency check may take before it counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);
/// What a 503 asks clients to wait before asking again.
const RETRY_AFTER_SECONDS: u64 = 5;

/// The clients and resource names the checks use, built once per container.
pub struct AppState {
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    table_name: String,
    queue_url: String,
}

impl State for AppState {
    fn build(sdk: &SdkConfig, config: &Config) -> anyhow::Result<Self> {
        Ok(Self {
            dynamodb: shared::aws::dynamodb(sdk),
            sqs: shared::aws::sqs(sdk),
            table_name: config.table_name()?.to_owned(),
            queue_url: config.submissions_queue_url()?.to_owned(),
        })
    }
}

pub async fn handle(state: &AppState, request: Request) -> HandlerResult {
    let query = Query::read(&request, &["deep"])?;
    let version = env!("CARGO_PKG_VERSION");
    if !query.flag("deep")? {
        return Ok(shared::http::json(
            StatusCode::OK,
            &json!({"status": "ok", "version": version}),
        ));
    }
    let (table, queue) = tokio::join!(check("table", table(state)), check("queue", queue(state)));
    let failing: Vec<FieldError> = [table, queue].into_iter().flatten().collect();
    if !failing.is_empty() {
        return Err(ApiError::Unavailable {
            failing,
            retry_after_seconds: RETRY_AFTER_SECONDS,
        });
    }
    Ok(shared::http::json(
        StatusCode::OK,
        &json!({"status": "ok", "version": version, "checks": {"table": "ok", "queue": "ok"}}),
    ))
}

/// Runs one check with a deadline; a failure is logged with its cause and reported by name only.
async fn check(name: &'static str, probe: impl Future<Output = Result<(), String>>) -> Option<FieldError> {
    let outcome = match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(())) => return None,
        Ok(Err(cause)) => {
            tracing::warn!(check = name, cause, "health check failed");
            "did not answer correctly"
        }
        Err(_) => {
            tracing::warn!(check = name, "health check timed out");
            "did not answer in time"
        }
    };
    Some(FieldError::new(format!("checks.{name}"), outcome))
}

async fn table(state: &AppState) -> Result<(), String> {
    let described = state
        .dynamodb
        .describe_table()
        .table_name(&state.table_name)
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    let status = described.table().and_then(|t| t.table_status());
    match status {
        Some(aws_sdk_dynamodb::types::TableStatus::Active) => Ok(()),
        other => Err(format!("table status is {other:?}")),
    }
}

async fn queue(state: &AppState) -> Result<(), String> {
    state
        .sqs
        .get_queue_attributes()
        .queue_url(&state.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)))
}
