//! The Lambda bootstrap of `GET /v1/health`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let sdk = shared::aws::load().await;
    let state = health::AppState::new(&sdk, &shared::config::Config::from_env())?;
    shared::http::run(|request| health::handle(&state, request)).await
}
