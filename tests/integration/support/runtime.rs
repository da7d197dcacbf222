//! A one-shot Lambda Runtime API: starts a function's binary by itself, hands it one event and
//! returns its answer. For cases the shared stack must not be bent into, such as a function
//! pointed at a dependency that is down.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::mpsc;

struct Runtime {
    event: Mutex<Option<Value>>,
    answers: mpsc::UnboundedSender<Result<Value, String>>,
}

/// Runs `binary` with `environment` (plus the Runtime API's address), invokes it once with
/// `event`, and answers what it returned (`Err` with the error it reported).
pub async fn invoke_once(
    binary: &Path,
    environment: &BTreeMap<String, String>,
    event: Value,
) -> Result<Value, String> {
    let (answers, mut answer) = mpsc::unbounded_channel();
    let runtime = Arc::new(Runtime {
        event: Mutex::new(Some(event)),
        answers,
    });
    let app = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
        .route("/2018-06-01/runtime/init/error", post(fail))
        .with_state(runtime);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(environment)
        .env("AWS_LAMBDA_RUNTIME_API", format!("http://{address}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "one-shot")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(60), answer.recv())
        .await
        .map_err(|_| "the function did not answer within 60 s".to_owned())
        .and_then(|answer| answer.ok_or_else(|| "the runtime stopped".to_owned()))
        .and_then(|answer| answer);
    let _ = child.kill().await;
    server.abort();
    outcome
}

async fn next(State(runtime): State<Arc<Runtime>>) -> (HeaderMap, axum::Json<Value>) {
    let event = runtime.event.lock().unwrap().take();
    let Some(event) = event else {
        // One event only: later polls wait until the process is stopped.
        return std::future::pending().await;
    };
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        "one-shot-request".parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline.as_millis().to_string().parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:000000000000:function:one-shot"
            .parse()
            .unwrap(),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0"
            .parse()
            .unwrap(),
    );
    (headers, axum::Json(event))
}

async fn respond(State(runtime): State<Arc<Runtime>>, body: axum::body::Bytes) -> axum::http::StatusCode {
    let answer = serde_json::from_slice(&body).map_err(|e| format!("the answer is not JSON: {e}"));
    let _ = runtime.answers.send(answer);
    axum::http::StatusCode::ACCEPTED
}

async fn fail(State(runtime): State<Arc<Runtime>>, body: axum::body::Bytes) -> axum::http::StatusCode {
    let _ = runtime
        .answers
        .send(Err(String::from_utf8_lossy(&body).into_owned()));
    axum::http::StatusCode::ACCEPTED
}
