//! The Lambda bootstrap of the `$default` route.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let routes = not_found::routes();
    shared::http::run(|request| not_found::handle(&routes, request)).await
}
