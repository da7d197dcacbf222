//! The HTTP API's `$default` route: API Gateway sends here every request that no route of the
//! template matches. It answers 404 `NOT_FOUND`, or 405 `METHOD_NOT_ALLOWED` with `allow` when
//! the path exists for other methods, in the API's error shape.

use shared::aws::SdkConfig;
use shared::bootstrap::State;
use shared::config::Config;
use shared::http::route::{Route, allowed_methods};
use shared::http::{ApiError, HandlerResult, Request};

include!(concat!(env!("OUT_DIR"), "/routes.rs"));

/// The template's routes.
pub struct Routes(Vec<Route>);

impl State for Routes {
    fn build(_: &SdkConfig, _: &Config) -> anyhow::Result<Self> {
        Ok(Self(
            ROUTES
                .iter()
                .map(|(method, path)| Route::new(method, path))
                .collect(),
        ))
    }
}

pub async fn handle(routes: &Routes, request: Request) -> HandlerResult {
    let allowed = allowed_methods(&routes.0, request.uri().path());
    if allowed.is_empty() {
        Err(ApiError::NotFound)
    } else {
        Err(ApiError::MethodNotAllowed { allowed })
    }
}
