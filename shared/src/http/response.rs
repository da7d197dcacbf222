//! JSON responses.

use lambda_http::http::{StatusCode, header::CONTENT_TYPE};
use lambda_http::{Body, Response};
use serde::Serialize;

use super::ApiError;

const JSON: &str = "application/json";

/// A JSON response with `status`.
pub fn json(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(text) => json_text(status, text),
        Err(error) => {
            tracing::error!(%error, "a response could not be serialised");
            json_text(
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"error":{"code":"INTERNAL","message":"internal error"}}"#.into(),
            )
        }
    }
}

/// A `302 Found` to `location` (a short-lived link elsewhere: never cached).
pub fn redirect(location: &str) -> Result<Response<Body>, ApiError> {
    let mut response = empty(StatusCode::FOUND);
    let value = lambda_http::http::HeaderValue::from_str(location).map_err(|error| {
        ApiError::Internal(anyhow::anyhow!("a redirect to an unusable location: {error}"))
    })?;
    response
        .headers_mut()
        .insert(lambda_http::http::header::LOCATION, value);
    Ok(response)
}

/// A response without a body, e.g. 204.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

/// The error body of docs/API.md with the error's status and headers.
pub(super) fn error(error: &ApiError, request_id: &str) -> Response<Body> {
    let mut response = json(error.status(), &error.body(request_id));
    for (name, value) in error.headers() {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// A response with `status` whose body is JSON written already.
pub fn json_text(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, lambda_http::http::HeaderValue::from_static(JSON));
    response
}
