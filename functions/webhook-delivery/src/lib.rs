//! The webhooks queue's consumer (SQS, `ReportBatchItemFailures`). A message either announces an
//! event, which is fanned out: one `pending` delivery per enabled endpoint of the organization
//! that subscribes to its type, each its own message; or names one delivery, which is attempted:
//! a signed `POST` of the event to the endpoint (its host resolved and checked again, the
//! connection pinned to the checked addresses, no redirects, 10 seconds at most). A 2xx delivers
//! it; a 410 disables the endpoint; anything else is tried again after an exponential backoff
//! with jitter (the message sent again with that delay, chained past SQS's 15 minutes), until a
//! day after its creation (one last attempt at the day's end), when it is `failed`. Every
//! delivery is its own message and its own bounded attempt, so a slow or dead endpoint delays
//! no other. Messages are acknowledged once their outcome is stored; only a failure of our own
//! (the table, the queue) leaves one for SQS to deliver again.

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures_util::{StreamExt, stream};
use lambda_runtime::{Error, LambdaEvent};
use shared::bootstrap::State;
use shared::clock;
use shared::config::{Config, vars};
use shared::metrics::Metrics;
use shared::queue::{DeliveryMessage, EventMessage, Queue, WebhookMessage};
use shared::services::Services;
use shared::store::{Delivery, DeliveryStatus, EventRecord, WebhookEndpoint};
use shared::webhooks::{Targets, signature};

/// How long an endpoint has to answer.
const ENDPOINT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a delivery is retried, from its creation (or redelivery).
const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 60 * 60);
/// How long an attempt holds its delivery: the endpoint's 10 seconds and the writes around
/// them, with room to spare. Should the attempt die, the reconciler queues the delivery again.
/// No attempt outlives its claim as long as the function's `Timeout` (template.yaml) is at
/// most this: keep them so.
const CLAIM_MS: i64 = 60_000;
/// Why an endpoint was disabled.
const GONE: &str = "the endpoint answered 410 Gone";
/// Messages worked at once.
const CONCURRENCY: usize = 10;
/// SQS's longest delay.
const LONGEST_DELAY_SECONDS: u64 = 900;

/// What this function holds.
pub struct Deliverer {
    services: Services,
    queue: Queue,
    targets: Targets,
    retry_base: Duration,
    retry_max: Duration,
}

impl State for Deliverer {
    fn build(sdk: &shared::aws::SdkConfig, config: &Config) -> anyhow::Result<Self> {
        let services = Services::build(sdk, config)?;
        let seconds = |name, default| config.number(name, default).map(Duration::from_secs);
        Ok(Self {
            queue: services.webhooks_queue()?,
            services,
            targets: config.webhook_targets(),
            retry_base: seconds(vars::WEBHOOK_RETRY_BASE_SECONDS, 30)?,
            retry_max: seconds(vars::WEBHOOK_RETRY_MAX_SECONDS, 3_600)?,
        })
    }
}

pub async fn handle(state: &Deliverer, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    let worked: Vec<(String, Result<Metrics, anyhow::Error>)> = stream::iter(event.payload.records)
        .map(|record| async move {
            let id = record.message_id.clone().unwrap_or_default();
            let message = record
                .body
                .as_deref()
                .and_then(|body| serde_json::from_str::<WebhookMessage>(body).ok());
            let outcome = match message {
                Some(WebhookMessage::Event(event)) => fan_out(state, &event).await,
                Some(WebhookMessage::Delivery(delivery)) => deliver(state, &delivery).await,
                None => {
                    tracing::error!(message_id = %id, "an unreadable message: it will reach the dead-letter queue");
                    Err(anyhow::anyhow!("unreadable"))
                }
            };
            (id, outcome)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut metrics = Metrics::default();
    let mut response = SqsBatchResponse::default();
    for (id, outcome) in worked {
        match outcome {
            Ok(counted) => metrics.merge(counted),
            Err(error) => {
                tracing::warn!(cause = format!("{error:#}"), message_id = %id, "a webhook message is left for later");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
    }
    metrics.emit("webhook-delivery");
    Ok(response)
}

/// One pending delivery per enabled endpoint that subscribes to the event, each sent on. A
/// fan-out that runs again sends the same messages: those of deliveries attempted since are
/// stale, and dropped.
async fn fan_out(state: &Deliverer, message: &EventMessage) -> anyhow::Result<Metrics> {
    let store = &state.services.store;
    let Some(event) = store.get_event(&message.org_id, &message.event_id).await? else {
        return Ok(Metrics::default());
    };
    let now = clock::now();
    let mut deliveries = Vec::new();
    for endpoint in store.list_webhooks(&message.org_id).await? {
        if !endpoint.enabled || !endpoint.events.contains(&event.event_type) {
            continue;
        }
        let delivery = Delivery::new(&event, &endpoint.id, now);
        store.create_delivery(&delivery).await?;
        deliveries.push(WebhookMessage::Delivery(delivery.message()));
    }
    let unsent = state.queue.send_all(&deliveries).await?;
    anyhow::ensure!(
        unsent.is_empty(),
        "{} deliveries could not be queued",
        unsent.len()
    );
    store.event_fanned_out(&event.organization_id, &event.id).await?;
    Ok(Metrics::default())
}

/// What an endpoint did with one attempt.
struct Answer {
    status: Option<u16>,
    error: Option<String>,
}

/// One attempt of a delivery, if it is due and the message is its current one. The attempt
/// claims the delivery first (a write conditional on the version read), so that of two messages
/// of one delivery (a fan-out run twice, a redelivery, the reconciler's) only one posts; its
/// outcome is written conditional on the claim, so that a redelivery made meanwhile wins.
async fn deliver(state: &Deliverer, message: &DeliveryMessage) -> anyhow::Result<Metrics> {
    let store = &state.services.store;
    let mut metrics = Metrics::default();
    let Some(mut delivery) = store
        .get_delivery(&message.org_id, &message.webhook_id, &message.event_id)
        .await?
    else {
        return Ok(metrics);
    };
    let current = message.version.is_none_or(|version| version == delivery.version);
    if delivery.status != DeliveryStatus::Pending || !current {
        return Ok(metrics);
    }
    let now_ms = clock::epoch_ms(clock::now());
    if let Some(due) = delivery.next_attempt_at_ms
        && due > now_ms + 1_000
    {
        // Its backoff is longer than SQS's longest delay, or it is being attempted: wait on.
        let seconds = u64::try_from((due - now_ms) / 1_000).unwrap_or(0);
        send_later(state, &delivery, seconds).await?;
        return Ok(metrics);
    }
    // Claimed: another message of it finds it due later, and drops or waits.
    let due_ms = delivery.next_attempt_at_ms.unwrap_or(now_ms);
    delivery.next_attempt_at_ms = Some(now_ms + CLAIM_MS);
    delivery.claimed_until_ms = Some(now_ms + CLAIM_MS);
    if !store.replace_delivery(&mut delivery).await? {
        return Ok(metrics);
    }
    delivery.claimed_until_ms = None;
    let endpoint = store.get_webhook(&message.org_id, &message.webhook_id).await?;
    let event = store.get_event(&message.org_id, &message.event_id).await?;
    let (endpoint, event) = match (endpoint, event) {
        (Some(endpoint), Some(event)) if endpoint.enabled => (endpoint, event),
        (endpoint, _) => {
            // What the organization did, not a failure to alarm on.
            delivery.status = DeliveryStatus::Failed;
            delivery.last_error = Some(
                match endpoint {
                    None => "the endpoint was deleted",
                    Some(endpoint) if !endpoint.enabled => "the endpoint is disabled",
                    Some(_) => "the event expired",
                }
                .to_owned(),
            );
            delivery.next_attempt_at_ms = None;
            delivery.updated_at = clock::rfc3339(clock::now());
            store.replace_delivery(&mut delivery).await?;
            return Ok(metrics);
        }
    };
    let started = Instant::now();
    let answer = post(state.targets, &endpoint, &event, now_ms).await;
    metrics.duration(
        "WebhookLatency",
        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    );
    let attempted = clock::now();
    let attempted_ms = clock::epoch_ms(attempted);
    delivery.attempts += 1;
    delivery.last_status_code = answer.status;
    delivery.last_error = answer.error;
    delivery.updated_at = clock::rfc3339(attempted);
    delivery.next_attempt_at_ms = None;
    let mut gave_up = false;
    match answer.status {
        Some(200..=299) => {
            delivery.status = DeliveryStatus::Delivered;
            delivery.delivered_at = Some(delivery.updated_at.clone());
        }
        Some(410) => {
            delivery.status = DeliveryStatus::Failed;
            store
                .disable_webhook(&endpoint.organization_id, &endpoint.id, &endpoint.url, GONE)
                .await?;
            tracing::warn!(webhook_id = %endpoint.id, "an endpoint answered 410 Gone: it is disabled");
        }
        _ => {
            let give_up_ms = delivery.started_at_ms + millis(GIVE_UP_AFTER);
            if due_ms >= give_up_ms || attempted_ms >= give_up_ms {
                delivery.status = DeliveryStatus::Failed;
                gave_up = true;
            } else {
                // The last attempt is at the day's end, however long the backoff has grown.
                let next_ms = (attempted_ms + millis(backoff(state, delivery.attempts))).min(give_up_ms);
                delivery.next_attempt_at_ms = Some(next_ms);
            }
        }
    }
    if !store.replace_delivery(&mut delivery).await? {
        // Cannot happen while the claim holds (a redelivery waits for it to end); should the
        // claim have run out, whoever took the delivery since has it.
        return Ok(metrics);
    }
    if delivery.status == DeliveryStatus::Delivered {
        metrics.count("WebhookDeliveriesDelivered", 1);
    }
    if gave_up {
        metrics.count("WebhookDeliveriesFailed", 1);
    }
    if let Some(next_ms) = delivery.next_attempt_at_ms {
        let seconds = u64::try_from((next_ms - attempted_ms) / 1_000).unwrap_or(0);
        send_later(state, &delivery, seconds.max(1)).await?;
    }
    tracing::info!(
        webhook_id = %delivery.webhook_id,
        event_id = %delivery.event_id,
        status = ?delivery.status,
        code = ?delivery.last_status_code,
        attempts = delivery.attempts,
        "a webhook delivery was attempted"
    );
    Ok(metrics)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 2)
}

/// The wait after `attempts` failed attempts: the base doubled each time, capped, with up to
/// a fifth of it added or taken at random so that failing endpoints' retries spread out.
fn backoff(state: &Deliverer, attempts: u32) -> Duration {
    let doubled = state
        .retry_base
        .saturating_mul(2_u32.saturating_pow(attempts.saturating_sub(1).min(20)));
    let wait = doubled.min(state.retry_max);
    let jitter = wait.as_millis() / 5;
    let spread = u64::try_from(jitter).unwrap_or(0);
    let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(millis.saturating_sub(spread) + fastrand::u64(0..=spread.saturating_mul(2)))
}

/// Sends the delivery's message, `seconds` later (SQS's longest delay at most).
async fn send_later(state: &Deliverer, delivery: &Delivery, seconds: u64) -> anyhow::Result<()> {
    let delay = i32::try_from(seconds.min(LONGEST_DELAY_SECONDS)).unwrap_or(900);
    state
        .queue
        .send(&WebhookMessage::Delivery(delivery.message()), delay)
        .await
}

/// One signed `POST` of the event to the endpoint.
async fn post(targets: Targets, endpoint: &WebhookEndpoint, event: &EventRecord, now_ms: i64) -> Answer {
    let failed = |error: String| Answer {
        status: None,
        error: Some(error),
    };
    let url = match targets.url(&endpoint.url) {
        Ok(url) => url,
        Err(message) => return failed(format!("the url {message}")),
    };
    let addresses = match targets.resolve(&url).await {
        Ok(addresses) => addresses,
        Err(message) => return failed(format!("the url {message}")),
    };
    let host = url.host_str().unwrap_or_default().to_owned();
    let client = reqwest::Client::builder()
        .timeout(ENDPOINT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .resolve_to_addrs(&host, &addresses)
        .build();
    let client = match client {
        Ok(client) => client,
        Err(error) => return failed(format!("no HTTP client: {error}")),
    };
    let body = event.body();
    let secrets = endpoint.signing_secrets(now_ms);
    let header = signature(&secrets, now_ms / 1_000, &body);
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("user-agent", "invoicer-webhooks/1")
        .header("invoicer-event-id", &event.id)
        .header("invoicer-signature", header)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) => {
            let status = response.status();
            Answer {
                status: Some(status.as_u16()),
                error: (!status.is_success()).then(|| format!("the endpoint answered {status}")),
            }
        }
        Err(error) if error.is_timeout() => {
            failed(format!("no answer within {} s", ENDPOINT_TIMEOUT.as_secs()))
        }
        Err(error) => failed(format!("the request failed: {}", without_url(&error))),
    }
}

/// A request error's text, without the URL (which may carry a client's token in its query).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "the endpoint");
    }
    text
}
