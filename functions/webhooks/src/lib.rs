//! An organization's webhook endpoints (owners and admins): `POST /v1/webhooks` registers one
//! (201, with its signing secret, shown this once), `GET /v1/webhooks` lists them, `GET`,
//! `PATCH` and `DELETE /v1/webhooks/{id}` read, change and remove one, and `POST
//! /v1/webhooks/{id}/rotate-secret` gives it a new secret (the old one keeps signing for 24
//! hours). A URL must be `https` and resolve to public addresses only ([`shared::webhooks`]).
//! An endpoint's deliveries, their redelivery and a test event are [`deliveries`]'.

use std::time::Duration;

use lambda_http::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::{Caller, Permission};
use shared::bootstrap::State;
use shared::clock;
use shared::config::Config;
use shared::domain::text::bounded;
use shared::http::{ApiError, HandlerResult, Request, path_param, read_json};
use shared::json::{Json, Object, as_array, as_bool, as_str};
use shared::services::Services;
use shared::store::{SigningSecret, WebhookEndpoint, WebhookWriteError};
use shared::validation::Problems;
use shared::webhooks::{EventType, MAX_ENDPOINTS, Targets, new_secret};

const MAX_BODY_BYTES: usize = 16 * 1024;
const MAX_DESCRIPTION: usize = 200;
/// How long a rotated-out secret keeps signing.
const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 60 * 60);

/// What this function holds: the common services and where endpoints may point.
pub struct Webhooks {
    services: Services,
    targets: Targets,
}

impl State for Webhooks {
    fn build(sdk: &shared::aws::SdkConfig, config: &Config) -> anyhow::Result<Self> {
        Ok(Self {
            services: Services::build(sdk, config)?,
            targets: config.webhook_targets(),
        })
    }
}

mod deliveries;

/// The gateway sends this function every route of `/v1/webhooks` (template.yaml): the method
/// and the path's segments after it say which.
pub async fn handle(state: &Webhooks, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &state.services.tokens, Permission::ManageWebhooks).await?;
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path
        .trim_start_matches("/v1/webhooks")
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    match (request.method().clone(), segments.as_slice()) {
        (Method::POST, []) => create(state, &caller, &request).await,
        (Method::GET, []) => {
            let now_ms = clock::epoch_ms(clock::now());
            let endpoints = state.services.store.list_webhooks(&caller.org_id).await?;
            let data: Vec<Value> = endpoints.iter().map(|endpoint| endpoint.view(now_ms)).collect();
            Ok(shared::http::json(StatusCode::OK, &json!({ "data": data })))
        }
        (Method::GET, [_]) => {
            let endpoint = endpoint_of(state, &caller, &request).await?;
            let now_ms = clock::epoch_ms(clock::now());
            Ok(shared::http::json(StatusCode::OK, &endpoint.view(now_ms)))
        }
        (Method::PATCH, [_]) => change(state, &caller, &request).await,
        (Method::DELETE, [_]) => {
            let id = path_param(&request, "id")?;
            match state.services.store.delete_webhook(&caller.org_id, &id).await {
                Ok(()) => Ok(shared::http::empty(StatusCode::NO_CONTENT)),
                Err(WebhookWriteError::Changed) => Err(ApiError::NotFound),
                Err(error) => Err(anyhow::Error::from(error).into()),
            }
        }
        (Method::POST, [_, "rotate-secret"]) => rotate_secret(state, &caller, &request).await,
        (Method::POST, [_, "test"]) => deliveries::test(state, &caller, &request).await,
        (Method::GET, [_, "deliveries"]) => deliveries::list(state, &caller, &request).await,
        (Method::POST, [_, "deliveries", _, "redeliver"]) => {
            deliveries::redeliver(state, &caller, &request).await
        }
        _ => Err(ApiError::NotFound),
    }
}

/// The caller's endpoint `{id}`; another organization's is missing, as a missing one is.
pub(crate) async fn endpoint_of(
    state: &Webhooks,
    caller: &Caller,
    request: &Request,
) -> Result<WebhookEndpoint, ApiError> {
    let id = path_param(request, "id")?;
    if !shared::ids::is_id(&id) {
        return Err(ApiError::NotFound);
    }
    state
        .services
        .store
        .get_webhook(&caller.org_id, &id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The fields of a body that registers or changes an endpoint.
#[derive(Default)]
struct Fields {
    url: Option<String>,
    events: Option<Vec<EventType>>,
    description: Option<Option<String>>,
    enabled: Option<bool>,
}

/// Reads `body`; `creating` requires `url` and `events` and takes no `enabled`. Each URL's host
/// is resolved and checked.
async fn fields(targets: Targets, body: &Json, creating: bool) -> Result<Fields, ApiError> {
    let mut problems = Problems::new();
    let Some(mut root) = Object::read(body, "", &mut problems) else {
        return Err(ApiError::Validation(problems.into_errors()));
    };
    let mut read = Fields::default();
    let url_text = if creating {
        root.required_str("url", &mut problems)
    } else {
        root.optional_str("url", &mut problems)
    };
    if let Some(text) = url_text {
        match targets.url(text) {
            Ok(url) => match targets.resolve(&url).await {
                Ok(_) => read.url = Some(url.to_string()),
                Err(message) => problems.add("url", message),
            },
            Err(message) => problems.add("url", message),
        }
    }
    let events = if creating {
        root.required("events", &mut problems)
    } else {
        root.optional("events")
    };
    if let Some(value) = events {
        let mut chosen = Vec::new();
        for (path, element) in as_array(value, "events", &mut problems).unwrap_or_default() {
            let Some(name) = as_str(element, &path, &mut problems) else {
                continue;
            };
            match EventType::parse_subscribable(name) {
                Ok(event) if !chosen.contains(&event) => chosen.push(event),
                Ok(_) => problems.add(&path, "is listed twice"),
                Err(message) => problems.add(&path, message),
            }
        }
        if chosen.is_empty() && problems.is_empty() {
            problems.add("events", "must list at least one event");
        }
        chosen.sort();
        read.events = Some(chosen);
    }
    if root.optional("description").is_some() || body_has_null(body, "description") {
        read.description = Some(match root.optional_str("description", &mut problems) {
            Some(text) => bounded(text, MAX_DESCRIPTION)
                .map_err(|message| problems.add("description", message))
                .ok(),
            None => None,
        });
    }
    if !creating && let Some(value) = root.optional("enabled") {
        read.enabled = as_bool(value, "enabled", &mut problems);
    }
    root.finish(&mut problems);
    if !creating
        && problems.is_empty()
        && read.url.is_none()
        && read.events.is_none()
        && read.description.is_none()
        && read.enabled.is_none()
    {
        problems.add("body", "must change url, events, description or enabled");
    }
    if problems.is_empty() {
        Ok(read)
    } else {
        Err(ApiError::Validation(problems.into_errors()))
    }
}

/// Whether `body` sets `key` to `null` (which clears an optional field).
fn body_has_null(body: &Json, key: &str) -> bool {
    matches!(body, Json::Object(members) if matches!(members.get(key), Some(Json::Null)))
}

async fn create(state: &Webhooks, caller: &Caller, request: &Request) -> HandlerResult {
    let body = read_json(request, MAX_BODY_BYTES)?;
    let read = fields(state.targets, &body, true).await?;
    let now = clock::now();
    let secret = new_secret()?;
    let endpoint = WebhookEndpoint {
        id: shared::ids::new_id(),
        organization_id: caller.org_id.clone(),
        url: read.url.unwrap_or_default(),
        events: read.events.unwrap_or_default(),
        description: read.description.flatten(),
        enabled: true,
        disabled_reason: None,
        secrets: vec![SigningSecret {
            secret: secret.clone(),
            expires_at_ms: None,
        }],
        created_at: clock::rfc3339(now),
        updated_at: clock::rfc3339(now),
        version: 1,
    };
    match state.services.store.create_webhook(&endpoint).await {
        Ok(()) => {}
        Err(WebhookWriteError::TooMany) => {
            return Err(ApiError::InvalidState(format!(
                "an organization has at most {MAX_ENDPOINTS} webhook endpoints: delete one first"
            )));
        }
        Err(error) => return Err(anyhow::Error::from(error).into()),
    }
    tracing::info!(webhook_id = %endpoint.id, "a webhook endpoint was registered");
    Ok(shared::http::json(
        StatusCode::CREATED,
        &with_secret(endpoint.view(clock::epoch_ms(now)), &secret),
    ))
}

/// An endpoint's view with its new secret: the one answer that shows it.
fn with_secret(mut view: Value, secret: &str) -> Value {
    view["secret"] = json!(secret);
    view
}

async fn change(state: &Webhooks, caller: &Caller, request: &Request) -> HandlerResult {
    let body = read_json(request, MAX_BODY_BYTES)?;
    let read = fields(state.targets, &body, false).await?;
    let mut endpoint = endpoint_of(state, caller, request).await?;
    if let Some(url) = read.url {
        endpoint.url = url;
    }
    if let Some(events) = read.events {
        endpoint.events = events;
    }
    if let Some(description) = read.description {
        endpoint.description = description;
    }
    if let Some(enabled) = read.enabled {
        endpoint.enabled = enabled;
        if enabled {
            endpoint.disabled_reason = None;
        }
    }
    save(state, &mut endpoint).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        &endpoint.view(clock::epoch_ms(clock::now())),
    ))
}

async fn rotate_secret(state: &Webhooks, caller: &Caller, request: &Request) -> HandlerResult {
    let mut endpoint = endpoint_of(state, caller, request).await?;
    let now = clock::now();
    let now_ms = clock::epoch_ms(now);
    let until_ms = clock::epoch_ms(now + ROTATION_OVERLAP);
    let secret = new_secret()?;
    // The current secret signs 24 hours more; one rotated out before is dropped.
    let previous = endpoint
        .secrets
        .iter()
        .find(|secret| secret.expires_at_ms.is_none())
        .map(|current| SigningSecret {
            secret: current.secret.clone(),
            expires_at_ms: Some(until_ms),
        });
    endpoint.secrets = std::iter::once(SigningSecret {
        secret: secret.clone(),
        expires_at_ms: None,
    })
    .chain(previous)
    .collect();
    save(state, &mut endpoint).await?;
    tracing::info!(webhook_id = %endpoint.id, "a webhook endpoint's secret was rotated");
    Ok(shared::http::json(
        StatusCode::OK,
        &with_secret(endpoint.view(now_ms), &secret),
    ))
}

/// Stores a changed endpoint; 409 when it changed meanwhile, 404 when it was deleted.
async fn save(state: &Webhooks, endpoint: &mut WebhookEndpoint) -> Result<(), ApiError> {
    endpoint.updated_at = clock::rfc3339(clock::now());
    endpoint.version += 1;
    match state.services.store.replace_webhook(endpoint).await {
        Ok(()) => Ok(()),
        Err(WebhookWriteError::Changed) => Err(ApiError::InvalidState(
            "the endpoint changed at the same moment: read it and send the change again".to_owned(),
        )),
        Err(error) => Err(anyhow::Error::from(error).into()),
    }
}
