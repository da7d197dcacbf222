//! The body of every HTTP function's `main`: JSON logs, configuration and clients built once per
//! container, then the Lambda runtime serving the handler. A function's `main.rs` is one call.

use std::future::Future;

use crate::aws::SdkConfig;
use crate::config::Config;
use crate::http::{HandlerResult, Request};

/// What a function builds once per container and lends to every invocation.
pub trait State: Sized + Send + Sync + 'static {
    fn build(sdk: &SdkConfig, config: &Config) -> anyhow::Result<Self>;
}

/// Builds `S` from the environment and serves `handler` on the Lambda runtime until it stops.
pub fn serve<S, F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    S: State,
    F: Fn(&'static S, Request) -> Fut + Sync,
    Fut: Future<Output = HandlerResult> + Send,
{
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        crate::telemetry::init();
        let sdk = crate::aws::load().await;
        // Lives as long as the container: leaking it once lets every invocation borrow it.
        let state: &'static S = Box::leak(Box::new(S::build(&sdk, &Config::from_env())?));
        crate::http::run(|request| handler(state, request)).await
    })
}
