//! Every file in `events/` is a real event of its function (`events/<function>/<case>.json`):
//! each is fed to the function's handler in-process, and sent through the stack's Lambda
//! Runtime API emulator to the function's own process; both must answer the listed status.
//!
//! Events that need a live credential or a fresh email carry placeholders (`${ACCESS_TOKEN}`,
//! `${REFRESH_TOKEN}`, `${EMAIL}`, `${PASSWORD}`, `${UNIQUE}`), filled with a new account's
//! for each feeding.

use lambda_http::{Body, Response};
use serde_json::Value;
use shared::bootstrap::State;
use shared::http::dispatch;
use shared::services::Services;
use shared::submission::Submission;

use crate::support::events::{event, events_dir};
use crate::support::{emulator_sdk, function_config, http, local_only, stack};

/// What a function answers to an event: an HTTP status; for a schedule, a JSON answer with this
/// field; for a queue, this many `batchItemFailures`.
#[derive(Clone, Copy, Debug)]
enum Expect {
    Status(u16),
    Field(&'static str),
    Failures(usize),
}
use Expect::{Failures, Field, Status};

/// Whether an event function's answer is what `expect` says.
fn answered(expect: Expect, answer: &Value) -> bool {
    match expect {
        Field(field) => answer.get(field).is_some(),
        Failures(count) => answer["batchItemFailures"]
            .as_array()
            .is_some_and(|f| f.len() == count),
        Status(_) => false,
    }
}

/// Each event file and what its function answers.
const EVENTS: &[(&str, &str, Expect)] = &[
    ("api-spec", "get.json", Status(200)),
    ("health", "shallow.json", Status(200)),
    ("health", "deep.json", Status(200)),
    ("health", "unknown-parameter.json", Status(400)),
    ("not-found", "unknown-path.json", Status(404)),
    ("not-found", "other-method.json", Status(405)),
    ("auth-signup", "signup.json", Status(201)),
    ("auth-signup", "invalid.json", Status(422)),
    ("auth-login", "login.json", Status(200)),
    ("auth-login", "wrong-password.json", Status(401)),
    ("auth-refresh", "refresh.json", Status(200)),
    ("auth-logout", "logout.json", Status(204)),
    ("users-me", "me.json", Status(200)),
    ("users-me", "no-token.json", Status(401)),
    ("users-create", "create-issuer.json", Status(201)),
    ("organization-get", "get.json", Status(200)),
    ("organization-provider", "disconnect.json", Status(204)),
    ("organization-provider", "connect-refused.json", Status(422)),
    ("users-list", "first-page.json", Status(200)),
    ("invoices-create", "create.json", Status(202)),
    ("invoices-create", "invalid.json", Status(422)),
    ("invoices-get", "get.json", Status(200)),
    ("invoices-get", "missing.json", Status(404)),
    ("invoices-list", "first-page.json", Status(200)),
    ("invoices-list", "queued.json", Status(200)),
    ("invoices-retry", "not-failed.json", Status(409)),
    ("invoice-documents", "pdf.json", Status(302)),
    ("invoice-documents", "send-email.json", Status(202)),
    ("credit-notes-create", "credit.json", Status(202)),
    ("credit-notes-create", "over-credit.json", Status(422)),
    ("credit-notes-read", "list.json", Status(200)),
    ("credit-notes-read", "missing.json", Status(404)),
    ("webhooks", "list.json", Status(200)),
    ("webhooks", "metadata-target.json", Status(422)),
    ("webhook-delivery", "expired-event.json", Failures(0)),
    ("batches-create", "csv.json", Status(202)),
    ("batches-create", "windows-1252.json", Status(202)),
    ("batches-create", "json.json", Status(202)),
    ("batches-get", "get.json", Status(200)),
    ("batches-get", "missing.json", Status(404)),
    ("batches-list", "first-page.json", Status(200)),
    ("batches-invoices", "accepted.json", Status(200)),
    ("batches-errors", "errors.json", Status(200)),
    ("reconciler", "scheduled.json", Field("requeued")),
    ("submit-worker", "one-invoice.json", Failures(0)),
    ("submit-worker", "chunk.json", Failures(0)),
    ("submit-worker", "ranges-check.json", Failures(0)),
    ("submit-worker", "credit-note.json", Failures(0)),
    ("submit-worker", "unreadable.json", Failures(1)),
    ("dlq-handler", "dead-letter.json", Failures(0)),
];

/// The answer of an event-driven function, in process.
async fn handle_event_in_process(function: &str, event: &str) -> Value {
    let sdk = emulator_sdk().await;
    let config = function_config(function);
    let event = serde_json::from_str::<Value>(event).unwrap();
    let context = lambda_runtime::Context::default();
    match function {
        "reconciler" => {
            let services = Services::build(&sdk, &config).unwrap();
            reconciler::handle(&services, lambda_runtime::LambdaEvent::new(event, context))
                .await
                .unwrap()
        }
        "webhook-delivery" => {
            let deliverer = webhook_delivery::Deliverer::build(&sdk, &config).unwrap();
            let event = lambda_runtime::LambdaEvent::new(serde_json::from_value(event).unwrap(), context);
            serde_json::to_value(webhook_delivery::handle(&deliverer, event).await.unwrap()).unwrap()
        }
        "submit-worker" | "dlq-handler" => {
            let submission = Submission::build(&sdk, &config).unwrap();
            let event = lambda_runtime::LambdaEvent::new(serde_json::from_value(event).unwrap(), context);
            let answer = if function == "submit-worker" {
                submit_worker::handle(&submission, event).await
            } else {
                dlq_handler::handle(&submission, event).await
            };
            serde_json::to_value(answer.unwrap()).unwrap()
        }
        other => panic!("no in-process handler for {other}: add it here"),
    }
}

/// Calls the function's HTTP handler in this process, exactly as its `main.rs` wires it.
async fn handle_in_process(function: &str, event: &str) -> Response<Body> {
    let request = lambda_http::request::from_str(event).unwrap();
    let sdk = emulator_sdk().await;
    let config = function_config(function);
    if function == "health" {
        let state = health::AppState::build(&sdk, &config).unwrap();
        return dispatch(request, |r| health::handle(&state, r)).await;
    }
    if function == "api-spec" {
        let spec = api_spec::Spec::build(&sdk, &config).unwrap();
        return dispatch(request, |r| api_spec::handle(&spec, r)).await;
    }
    if function == "organization-provider" {
        let state = organization_provider::Connections::build(&sdk, &config).unwrap();
        return dispatch(request, |r| organization_provider::handle(&state, r)).await;
    }
    if function == "invoice-documents" {
        let state = invoice_documents::Documents::build(&sdk, &config).unwrap();
        return dispatch(request, |r| invoice_documents::handle(&state, r)).await;
    }
    if function == "webhooks" {
        let state = webhooks::Webhooks::build(&sdk, &config).unwrap();
        return dispatch(request, |r| webhooks::handle(&state, r)).await;
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
        "organization-get" => dispatch(request, |r| organization_get::handle(s, r)).await,
        "invoices-create" => dispatch(request, |r| invoices_create::handle(s, r)).await,
        "invoices-get" => dispatch(request, |r| invoices_get::handle(s, r)).await,
        "invoices-list" => dispatch(request, |r| invoices_list::handle(s, r)).await,
        "invoices-retry" => dispatch(request, |r| invoices_retry::handle(s, r)).await,
        "credit-notes-create" => dispatch(request, |r| credit_notes_create::handle(s, r)).await,
        "credit-notes-read" => dispatch(request, |r| credit_notes_read::handle(s, r)).await,
        "batches-create" => dispatch(request, |r| batches_create::handle(s, r)).await,
        "batches-get" => dispatch(request, |r| batches_get::handle(s, r)).await,
        "batches-list" => dispatch(request, |r| batches_list::handle(s, r)).await,
        "batches-invoices" => dispatch(request, |r| batches_invoices::handle(s, r)).await,
        "batches-errors" => dispatch(request, |r| batches_errors::handle(s, r)).await,
        other => panic!("no in-process handler for {other}: add it here"),
    }
}

#[tokio::test]
async fn every_event_file_is_listed_and_belongs_to_a_function_of_the_template() {
    let Some(_) = local_only("the stack's functions and its emulator") else {
        return;
    };
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
    let Some(_) = local_only("the stack's functions and its emulator") else {
        return;
    };
    for (function, file, expect) in EVENTS {
        let event = event(function, file).await;
        match *expect {
            Status(status) => {
                let response = handle_in_process(function, &event).await;
                assert_eq!(response.status().as_u16(), status, "events/{function}/{file}");
                let request_id = format!("evt-{}", file.trim_end_matches(".json"));
                assert_eq!(response.headers()["x-request-id"], request_id.as_str());
                if status == 302 {
                    assert!(
                        response.headers().contains_key("location"),
                        "events/{function}/{file}"
                    );
                } else if status != 204 {
                    assert_eq!(
                        response.headers()["content-type"],
                        "application/json",
                        "events/{function}/{file}"
                    );
                }
            }
            Field(_) | Failures(_) => {
                let answer = handle_event_in_process(function, &event).await;
                assert!(answered(*expect, &answer), "events/{function}/{file}: {answer}");
            }
        }
    }
}

#[tokio::test]
async fn every_event_file_is_answered_through_the_runtime_emulator() {
    let Some(_) = local_only("the stack's functions and its emulator") else {
        return;
    };
    let client = http();
    for (function, file, expect) in EVENTS {
        let url = format!(
            "{}/2015-03-31/functions/{function}/invocations",
            stack().runtime_api_url
        );
        let answer: Value = client
            .post(url)
            .body(event(function, file).await)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();

        match *expect {
            Status(status) => {
                assert_eq!(answer["statusCode"], status, "events/{function}/{file}: {answer}");
                if status != 204 && status != 302 {
                    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
                    assert!(body.is_object(), "events/{function}/{file}: the body is JSON");
                }
            }
            Field(_) | Failures(_) => {
                assert!(answered(*expect, &answer), "events/{function}/{file}: {answer}")
            }
        }
    }
}
