//! The HTTP glue every API function uses: the error type, request parsing, JSON responses, and
//! [`dispatch`], which turns a handler's `Result` into the response API Gateway returns.

mod error;
mod request;
mod response;
pub mod route;

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use lambda_http::http::HeaderValue;
use lambda_http::http::header::CACHE_CONTROL;
use tracing::Instrument;

use crate::aws::Invocation;

pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use lambda_http::{Body, Request, Response};
pub use request::{Query, body_bytes, deadline_ms, header, path_param, read_json, request_id};
pub use response::{empty, json, json_text, redirect};

/// Headers on every answer: no content sniffing, and HTTPS only for two years.
pub const SECURITY_HEADERS: [(&str, &str); 2] = [
    ("x-content-type-options", "nosniff"),
    ("strict-transport-security", "max-age=63072000; includeSubDomains"),
];

/// What a handler returns.
pub type HandlerResult = Result<Response<Body>, ApiError>;

/// Runs `handler` for one request and turns its outcome into the response: errors become the
/// API's error body, a panic becomes an opaque 500 (the container lives on), and every response
/// carries `x-request-id` and the headers browsers and proxies rely on ([`SECURITY_HEADERS`];
/// `cache-control: no-store` unless the handler said how its answer may be cached: answers
/// hold tokens and personal data). The Lambda bootstrap and the tests both go through here.
pub async fn dispatch<F, Fut>(request: Request, handler: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = HandlerResult>,
{
    let request_id = request_id(&request);
    let invocation = Invocation::start();
    let span = tracing::info_span!(
        "http",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
        org_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
        invoice_id = tracing::field::Empty,
        batch_id = tracing::field::Empty,
    );
    let outcome = AssertUnwindSafe(handler(request).instrument(span.clone()))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(ApiError::Internal(anyhow::anyhow!("the handler panicked"))));
    let _entered = span.enter();
    let mut response = match outcome {
        Ok(response) => response,
        Err(error) => {
            if error.status().is_server_error() {
                tracing::error!(
                    error = format!("{error:#?}"),
                    code = error.code(),
                    "request failed"
                );
            } else {
                tracing::info!(code = error.code(), message = %error, "request refused");
            }
            response::error(&error, &request_id)
        }
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", value);
    }
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    invocation.finish("request served", Some(response.status().as_u16()));
    response
}

/// Serves `handler` on the Lambda runtime: the body of every HTTP function's `main`.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Request) -> Fut + Sync,
    Fut: Future<Output = HandlerResult> + Send,
{
    let handler = &handler;
    lambda_http::run(lambda_http::service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(dispatch(request, handler).await)
    }))
    .await
}
