//! Cold starts: a function's binary started against a Lambda Runtime API of our own, timed from
//! the process's start to its first request for work (its init), then through its first
//! invocation. The Python peer starts in the same harness.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::{Mutex, Notify};

/// One start of a function.
#[derive(Clone, Copy, Debug)]
pub struct Start {
    pub init: Duration,
    pub first_invocation: Duration,
    /// Whether the runtime reported the first invocation as an error.
    pub failed: bool,
}

/// What the harness saw of one process.
struct Seen {
    started: Instant,
    first_next: Option<Instant>,
    answered: Option<Instant>,
    failed: bool,
    event: String,
    done: Arc<Notify>,
}

type Shared = Arc<Mutex<Seen>>;

async fn next(State(seen): State<Shared>) -> axum::response::Response {
    let mut seen = seen.lock().await;
    if seen.first_next.is_some() {
        drop(seen);
        // The process asks for its second event: it is stopped before it gets one.
        return std::future::pending().await;
    }
    seen.first_next = Some(Instant::now());
    let deadline = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 + 30_000;
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", "bench-invocation".to_owned()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:000000000000:function:bench".to_owned(),
        ),
        ("content-type", "application/json".to_owned()),
    ] {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    }
    (headers, seen.event.clone()).into_response()
}

async fn answered(State(seen): State<Shared>) -> axum::http::StatusCode {
    finish(&seen, false).await
}

async fn failed(State(seen): State<Shared>) -> axum::http::StatusCode {
    finish(&seen, true).await
}

async fn finish(seen: &Shared, failed: bool) -> axum::http::StatusCode {
    let mut seen = seen.lock().await;
    seen.answered = Some(Instant::now());
    seen.failed = failed;
    seen.done.notify_one();
    axum::http::StatusCode::ACCEPTED
}

/// How to start a function: its program and arguments, environment and directory.
pub struct Launch<'a> {
    pub command: &'a [String],
    pub environment: &'a BTreeMap<String, String>,
    pub directory: Option<&'a Path>,
    /// Whether `AWS_LAMBDA_RUNTIME_API` carries `http://` (the Rust runtime takes a URL,
    /// awslambdaric a `host:port`, as Lambda gives it).
    pub runtime_api_as_url: bool,
}

/// Starts the function once and times its init and its first invocation of `event`.
pub async fn start_once(launch: &Launch<'_>, event: &str) -> anyhow::Result<Start> {
    let done = Arc::new(Notify::new());
    let seen: Shared = Arc::new(Mutex::new(Seen {
        started: Instant::now(),
        first_next: None,
        answered: None,
        failed: false,
        event: event.to_owned(),
        done: done.clone(),
    }));
    let router = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(answered))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(failed))
        .route("/2018-06-01/runtime/init/error", post(failed))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let (program, args) = launch.command.split_first().context("no command")?;
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(launch.environment)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            if launch.runtime_api_as_url {
                format!("http://{address}")
            } else {
                address.to_string()
            },
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(directory) = launch.directory {
        command.current_dir(directory);
    }
    seen.lock().await.started = Instant::now();
    let mut child = command.spawn().with_context(|| format!("starting {program}"))?;
    let waited = tokio::time::timeout(Duration::from_secs(30), done.notified()).await;
    let _ = child.kill().await;
    server.abort();
    if waited.is_err() {
        bail!("{program} did not answer its first event in 30 s");
    }
    let seen = seen.lock().await;
    let (Some(first_next), Some(answered)) = (seen.first_next, seen.answered) else {
        bail!("{program} failed before asking for an event");
    };
    Ok(Start {
        init: first_next - seen.started,
        first_invocation: answered - first_next,
        failed: seen.failed,
    })
}
