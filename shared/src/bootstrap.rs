//! The body of every function's `main`: JSON logs, configuration and clients built once per
//! container, then the Lambda runtime serving the handler. A function's `main.rs` is one call:
//! [`serve`] for HTTP functions, [`serve_events`] for queue and schedule functions.

use std::future::Future;

use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::aws::{Invocation, SdkConfig};
use crate::config::Config;
use crate::http::{HandlerResult, Request};

/// What a function builds once per container and lends to every invocation.
pub trait State: Sized + Send + Sync + 'static {
    fn build(sdk: &SdkConfig, config: &Config) -> anyhow::Result<Self>;
}

/// Builds `S` from the environment, once, for the container's whole life: leaking it lets
/// every invocation borrow it.
async fn state<S: State>() -> anyhow::Result<&'static S> {
    crate::telemetry::init();
    let sdk = crate::aws::load().await;
    Ok(Box::leak(Box::new(S::build(&sdk, &Config::from_env())?)))
}

/// One thread: a Lambda process serves one invocation at a time, and its concurrent work (AWS
/// calls, provider calls) waits on the network; blocking work (argon2) goes to tokio's blocking
/// pool. No worker threads to start at init, no wake-up crossing threads (docs/PERFORMANCE.md).
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

/// Serves an HTTP `handler` on the Lambda runtime until it stops.
pub fn serve<S, F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    S: State,
    F: Fn(&'static S, Request) -> Fut + Sync,
    Fut: Future<Output = HandlerResult> + Send,
{
    runtime()?.block_on(async {
        let state = state::<S>().await?;
        crate::http::run(|request| handler(state, request)).await
    })
}

/// Serves a `handler` of events of type `E` (SQS, schedules) on the Lambda runtime.
pub fn serve_events<S, E, R, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    S: State,
    E: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    F: Fn(&'static S, LambdaEvent<E>) -> Fut,
    Fut: Future<Output = Result<R, lambda_runtime::Error>> + Send + 'static,
{
    runtime()?.block_on(async {
        let state = state::<S>().await?;
        lambda_runtime::run(lambda_runtime::service_fn(|event| {
            let invocation = Invocation::start();
            let handled = handler(state, event);
            async move {
                let answer = handled.await;
                invocation.finish("event handled", None);
                answer
            }
        }))
        .await
    })
}
