//! Every file in `events/` is a real event of its function (`events/<function>/<case>.json`):
//! each is fed to the function's handler in-process, and sent through the stack's Lambda
//! Runtime API emulator to the function's own process; both must answer the listed status.
//!
//! Events that need a live credential or a fresh email carry placeholders (`${ACCESS_TOKEN}`,
//! `${REFRESH_TOKEN}`, `${EMAIL}`, `${PASSWORD}`, `${UNIQUE}`), filled with a new account's
//! for each feeding.

use std::path::PathBuf;

use lambda_http::{Body, Response};
use serde_json::Value;
use shared::bootstrap::State;
use shared::http::dispatch;
use shared::services::Services;

use crate::support::accounts::signup;
use crate::support::{emulator_sdk, function_config, http, stack, unique};

/// Each event file and the status its function answers.
const EVENTS: &[(&str, &str, u16)] = &[
    ("health", "shallow.json", 200),
    ("health", "deep.json", 200),
    ("health", "unknown-parameter.json", 400),
    ("not-found", "unknown-path.json", 404),
    ("not-found", "other-method.json", 405),
    ("auth-signup", "signup.json", 201),
    ("auth-signup", "invalid.json", 422),
    ("auth-login", "login.json", 200),
    ("auth-login", "wrong-password.json", 401),
    ("auth-refresh", "refresh.json", 200),
    ("auth-logout", "logout.json", 204),
    ("users-me", "me.json", 200),
    ("users-me", "no-token.json", 401),
    ("users-create", "create-issuer.json", 201),
    ("users-list", "first-page.json", 200),
];

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// The event file with its placeholders filled for a new account.
async fn read(function: &str, file: &str) -> String {
    let text = std::fs::read_to_string(events_dir().join(function).join(file)).unwrap();
    if !text.contains("${") {
        return text;
    }
    let account = signup().await;
    text.replace("${ACCESS_TOKEN}", &account.access)
        .replace("${REFRESH_TOKEN}", &account.refresh)
        .replace("${EMAIL}", &account.email)
        .replace("${PASSWORD}", &account.password)
        .replace("${UNIQUE}", &unique("evt"))
}

/// Calls the function's handler in this process, exactly as its `main.rs` wires it.
async fn handle_in_process(function: &str, event: &str) -> Response<Body> {
    let request = lambda_http::request::from_str(event).unwrap();
    let sdk = emulator_sdk().await;
    let config = function_config(function);
    if function == "health" {
        let state = health::AppState::build(&sdk, &config).unwrap();
        return dispatch(request, |r| health::handle(&state, r)).await;
    }
    if function == "not-found" {
        let routes = not_found::Routes::build(&sdk, &config).unwrap();
        return dispatch(request, |r| not_found::handle(&routes, r)).await;
    }
    let services = Services::build(&sdk, &config).unwrap();
    let s = &services;
    match function {
        "auth-signup" => dispatch(request, |r| auth_signup::handle(s, r)).await,
        "auth-login" => dispatch(request, |r| auth_login::handle(s, r)).await,
        "auth-refresh" => dispatch(request, |r| auth_refresh::handle(s, r)).await,
        "auth-logout" => dispatch(request, |r| auth_logout::handle(s, r)).await,
        "users-me" => dispatch(request, |r| users_me::handle(s, r)).await,
        "users-create" => dispatch(request, |r| users_create::handle(s, r)).await,
        "users-list" => dispatch(request, |r| users_list::handle(s, r)).await,
        other => panic!("no in-process handler for {other}: add it here"),
    }
}

#[tokio::test]
async fn every_event_file_is_listed_and_belongs_to_a_function_of_the_template() {
    let mut found = Vec::new();
    for function in std::fs::read_dir(events_dir()).unwrap() {
        let function = function.unwrap();
        let name = function.file_name().into_string().unwrap();
        assert!(
            stack().function(&name).is_some(),
            "events/{name} names no function of the template"
        );
        for file in std::fs::read_dir(function.path()).unwrap() {
            found.push((name.clone(), file.unwrap().file_name().into_string().unwrap()));
        }
    }
    for (function, file) in &found {
        assert!(
            EVENTS.iter().any(|(f, n, _)| f == function && n == file),
            "events/{function}/{file} is not fed to its handler: add it to EVENTS"
        );
    }
    assert_eq!(
        found.len(),
        EVENTS.len(),
        "EVENTS lists a file that does not exist"
    );
}

#[tokio::test]
async fn every_event_file_is_answered_by_its_handler_in_process() {
    for (function, file, status) in EVENTS {
        let response = handle_in_process(function, &read(function, file).await).await;

        assert_eq!(response.status().as_u16(), *status, "events/{function}/{file}");
        let request_id = format!("evt-{}", file.trim_end_matches(".json"));
        assert_eq!(response.headers()["x-request-id"], request_id.as_str());
        if *status != 204 {
            assert_eq!(
                response.headers()["content-type"],
                "application/json",
                "events/{function}/{file}"
            );
        }
    }
}

#[tokio::test]
async fn every_event_file_is_answered_through_the_runtime_emulator() {
    let client = http();
    for (function, file, status) in EVENTS {
        let url = format!(
            "{}/2015-03-31/functions/{function}/invocations",
            stack().runtime_api_url
        );
        let answer: Value = client
            .post(url)
            .body(read(function, file).await)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();

        assert_eq!(
            answer["statusCode"], *status,
            "events/{function}/{file}: {answer}"
        );
        if *status != 204 {
            let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
            assert!(body.is_object(), "events/{function}/{file}: the body is JSON");
        }
    }
}
