//! A Lambda Runtime API of our own, for one function process started by a test: to run a
//! function against a dependency that is down, or with its own key ring, without bending the
//! shared stack.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::{emulator_sdk, unique};

type Answer = Result<Value, String>;

struct Runtime {
    invocations: tokio::sync::Mutex<mpsc::UnboundedReceiver<(Value, oneshot::Sender<Answer>)>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    /// The function's timeout: each invocation's deadline is this long after it is handed out.
    timeout: Duration,
}

/// One function process on its own Runtime API.
pub struct LoneFunction {
    invocations: mpsc::UnboundedSender<(Value, oneshot::Sender<Answer>)>,
    _process: tokio::process::Child,
    server: tokio::task::JoinHandle<()>,
}

impl LoneFunction {
    /// Starts the stack's binary of `function` with exactly `environment` (plus the Runtime
    /// API's variables).
    pub async fn start(function: &str, environment: &BTreeMap<String, String>) -> Self {
        Self::start_with_timeout(function, environment, Duration::from_secs(30)).await
    }

    /// [`LoneFunction::start`] with the function's timeout: its invocations' deadline.
    pub async fn start_with_timeout(
        function: &str,
        environment: &BTreeMap<String, String>,
        timeout: Duration,
    ) -> Self {
        let (invocations, receiver) = mpsc::unbounded_channel();
        let runtime = Arc::new(Runtime {
            invocations: tokio::sync::Mutex::new(receiver),
            waiting: Mutex::new(HashMap::new()),
            timeout,
        });
        let app = axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .with_state(runtime);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let command = super::stack().function_command(function);
        let (program, args) = command.split_first().unwrap();
        let process = tokio::process::Command::new(program)
            .args(args)
            .env_clear()
            .envs(environment)
            .env("AWS_LAMBDA_RUNTIME_API", format!("http://{address}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", "lone")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        Self {
            invocations,
            _process: process,
            server,
        }
    }

    /// Invokes the function with `event`; `Err` carries the error it reported.
    pub async fn invoke(&self, event: Value) -> Answer {
        let (answer, receiver) = oneshot::channel();
        self.invocations
            .send((event, answer))
            .map_err(|_| "the runtime stopped".to_owned())?;
        tokio::time::timeout(Duration::from_secs(60), receiver)
            .await
            .map_err(|_| "the function did not answer within 60 s".to_owned())?
            .map_err(|_| "the runtime stopped".to_owned())?
    }
}

impl Drop for LoneFunction {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(runtime): State<Arc<Runtime>>) -> (HeaderMap, axum::Json<Value>) {
    let Some((event, answer)) = runtime.invocations.lock().await.recv().await else {
        return std::future::pending().await;
    };
    let id = ulid::Ulid::generate().to_string();
    runtime.waiting.lock().unwrap().insert(id.clone(), answer);
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + runtime.timeout;
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline.as_millis().to_string().parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:000000000000:function:lone"
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

fn complete(runtime: &Runtime, id: &str, answer: Answer) -> axum::http::StatusCode {
    if let Some(waiting) = runtime.waiting.lock().unwrap().remove(id) {
        let _ = waiting.send(answer);
    }
    axum::http::StatusCode::ACCEPTED
}

async fn respond(
    State(runtime): State<Arc<Runtime>>,
    UrlPath(id): UrlPath<String>,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let answer = serde_json::from_slice(&body).map_err(|e| format!("the answer is not JSON: {e}"));
    complete(&runtime, &id, answer)
}

async fn fail(
    State(runtime): State<Arc<Runtime>>,
    UrlPath(id): UrlPath<String>,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    complete(&runtime, &id, Err(String::from_utf8_lossy(&body).into_owned()))
}

/// The environment the stack gives `function`, pointed at `endpoint` for AWS.
pub fn environment_of(function: &str, endpoint: &str) -> BTreeMap<String, String> {
    let spec = super::stack().function(function).unwrap();
    spec.lambda_environment(endpoint, "info")
}

/// A queue of the test's own, in the emulator: its client and URL.
pub async fn own_queue() -> (aws_sdk_sqs::Client, String) {
    let sqs = aws_sdk_sqs::Client::new(&emulator_sdk().await);
    let url = sqs
        .create_queue()
        .queue_name(unique("test-submissions"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    (sqs, url)
}
