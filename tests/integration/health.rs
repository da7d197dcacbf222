//! `GET /v1/health`, shallow and deep, over HTTP through the stack.

use serde_json::Value;

use crate::support::runtime::{LoneFunction, environment_of};
use crate::support::{api, http, local_only};

#[tokio::test]
async fn health_answers_ok_with_the_version() {
    let response = http().get(api("/v1/health")).send().await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn deep_health_checks_the_table_and_the_queue() {
    let response = http().get(api("/v1/health?deep=true")).send().await.unwrap();

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["checks"]["table"], "ok");
    assert_eq!(body["checks"]["queue"], "ok");
}

#[tokio::test]
async fn an_unknown_health_parameter_is_a_400_naming_it() {
    let response = http().get(api("/v1/health?verbose=1")).send().await.unwrap();

    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "INVALID_QUERY");
    assert_eq!(body["error"]["details"][0]["field"], "verbose");
}

#[tokio::test]
async fn deep_health_answers_503_naming_each_dependency_that_is_down() {
    let Some(_) = local_only("to start a function whose dependencies are down") else {
        return;
    };
    // A second health process whose AWS endpoint is a port nobody listens on.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let environment = environment_of("health", &format!("http://127.0.0.1:{closed_port}"));
    let health = LoneFunction::start("health", &environment).await;
    let event: Value = serde_json::from_str(include_str!("../../events/health/deep.json")).unwrap();

    let answer = health.invoke(event).await.unwrap();

    assert_eq!(answer["statusCode"], 503);
    assert_eq!(answer["headers"]["retry-after"], "5");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "UNAVAILABLE");
    let failing: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["checks.table", "checks.queue"]);
    let text = answer["body"].as_str().unwrap();
    assert!(
        !text.contains("127.0.0.1") && !text.contains("invoicer-"),
        "the 503 leaks internals: {text}"
    );
}
