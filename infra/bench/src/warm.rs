//! Warm latency: the same requests through the local stack's HTTP API, straight to the function
//! through the Runtime API emulator (no gateway), and as the raw AWS calls they need, made
//! directly against the same emulator; at a few concurrency levels.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use local_stack::state::binary_path;
use serde_json::{Value, json};

use local_stack::examples::{invoice, unique};

use crate::fixtures::{Account, Api};
use crate::stats::summary;
use shared::store::keys;

use crate::{logs, procs};

/// Calls made before a series is timed.
const WARM_UP: usize = 20;

/// `count` calls of `call`, `concurrency` at a time, after a few to warm up; their durations.
pub async fn series<F, Fut>(count: usize, concurrency: usize, call: F) -> anyhow::Result<Vec<Duration>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    for _ in 0..WARM_UP {
        call().await?;
    }
    let next = AtomicUsize::new(0);
    let workers = (0..concurrency).map(|_| async {
        let mut samples = Vec::new();
        while next.fetch_add(1, Ordering::Relaxed) < count {
            let started = Instant::now();
            call().await?;
            samples.push(started.elapsed());
        }
        Ok::<_, anyhow::Error>(samples)
    });
    let mut all = Vec::with_capacity(count);
    for samples in futures_util::future::join_all(workers).await {
        all.extend(samples?);
    }
    Ok(all)
}

/// The three requests measured, and how each is made at every layer.
#[derive(Clone, Copy, Debug)]
pub enum Endpoint {
    GetInvoice,
    ListInvoices,
    CreateInvoice,
}

impl Endpoint {
    pub const ALL: [Endpoint; 3] = [
        Endpoint::GetInvoice,
        Endpoint::ListInvoices,
        Endpoint::CreateInvoice,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Endpoint::GetInvoice => "GET /v1/invoices/{id}",
            Endpoint::ListInvoices => "GET /v1/invoices?limit=25",
            Endpoint::CreateInvoice => "POST /v1/invoices",
        }
    }

    pub fn function(self) -> &'static str {
        match self {
            Endpoint::GetInvoice => "invoices-get",
            Endpoint::ListInvoices => "invoices-list",
            Endpoint::CreateInvoice => "invoices-create",
        }
    }
}

/// What the layers need: the API, the Runtime API emulator, the emulator's clients.
pub struct Layers {
    pub api: Api,
    pub runtime_api_url: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub table: String,
    /// A queue of the bench's own, so that raw sends do not feed the worker.
    pub raw_queue_url: String,
    pub events_dir: std::path::PathBuf,
    pub logs_dir: std::path::PathBuf,
    /// Where the functions' binaries are, to find their processes.
    pub bin_dir: std::path::PathBuf,
}

impl Layers {
    /// Through the HTTP API, as a client calls it.
    async fn through_api(&self, endpoint: Endpoint, account: &Account) -> anyhow::Result<()> {
        let client = &self.api.client;
        let request = match endpoint {
            Endpoint::GetInvoice => {
                client.get(format!("{}/v1/invoices/{}", self.api.url, account.invoice_id))
            }
            Endpoint::ListInvoices => client.get(format!("{}/v1/invoices?limit=25", self.api.url)),
            Endpoint::CreateInvoice => client
                .post(format!("{}/v1/invoices", self.api.url))
                .json(&invoice(&unique("WARM"))),
        };
        let status = request.bearer_auth(&account.access).send().await?.status();
        ensure!(status.is_success(), "{}: {status}", endpoint.label());
        Ok(())
    }

    /// The function's API Gateway event for `endpoint`.
    fn event(&self, endpoint: Endpoint, account: &Account) -> anyhow::Result<Value> {
        let file = match endpoint {
            Endpoint::GetInvoice => "get.json",
            Endpoint::ListInvoices => "first-page.json",
            Endpoint::CreateInvoice => "create.json",
        };
        let path = self.events_dir.join(endpoint.function()).join(file);
        let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        let mut event: Value = serde_json::from_str(&account.placeholders().fill(&text))?;
        if let Endpoint::ListInvoices = endpoint {
            event["rawQueryString"] = json!("limit=25");
            event["queryStringParameters"] = json!({"limit": "25"});
        }
        Ok(event)
    }

    /// Straight to the function through the Runtime API emulator: no gateway.
    async fn direct(&self, endpoint: Endpoint, event: &Value) -> anyhow::Result<()> {
        let mut event = event.clone();
        if let Endpoint::CreateInvoice = endpoint {
            let body = invoice(&unique("WARM")).to_string();
            event["body"] = json!(body);
        }
        let url = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.runtime_api_url,
            endpoint.function()
        );
        let answer: Value = self
            .api
            .client
            .post(url)
            .json(&event)
            .send()
            .await?
            .json()
            .await?;
        let status = answer["statusCode"].as_u64().unwrap_or_default();
        ensure!(
            (200..300).contains(&status),
            "{} direct: {answer}",
            endpoint.label()
        );
        Ok(())
    }

    /// The AWS calls the handler makes, made directly.
    async fn raw(&self, endpoint: Endpoint, account: &Account, template: &InvoiceItem) -> anyhow::Result<()> {
        let org = account.org_id.as_str();
        match endpoint {
            Endpoint::GetInvoice => {
                let item = self
                    .dynamodb
                    .get_item()
                    .table_name(&self.table)
                    .key(
                        "PK",
                        AttributeValue::S(keys::invoice_partition(org, &account.invoice_id)),
                    )
                    .key("SK", AttributeValue::S(keys::invoice(&account.invoice_id)))
                    .consistent_read(true)
                    .send()
                    .await?;
                ensure!(item.item.is_some(), "raw GetItem found nothing");
            }
            Endpoint::ListInvoices => {
                // One `Query` of 25 per shard, at once, as the handler reads a page.
                let shards = (0..keys::SHARDS).map(|shard| {
                    self.dynamodb
                        .query()
                        .table_name(&self.table)
                        .key_condition_expression("PK = :pk")
                        .expression_attribute_values(":pk", AttributeValue::S(keys::invoices(org, shard)))
                        .scan_index_forward(false)
                        .limit(25)
                        .send()
                });
                let found: i32 = futures_util::future::try_join_all(shards)
                    .await?
                    .iter()
                    .map(|page| page.count)
                    .sum();
                ensure!(found >= 25, "raw Queries found {found} invoices");
            }
            Endpoint::CreateInvoice => {
                let id = ulid::Ulid::generate().to_string();
                let mut item = template.0.clone();
                let shard = keys::invoice_shard(&id);
                for (name, value) in [
                    ("PK", keys::invoice_partition(org, &id)),
                    ("SK", keys::invoice(&id)),
                    ("GSI1PK", keys::by_status(org, "queued", shard)),
                    ("GSI1SK", keys::invoice(&id)),
                ] {
                    item.insert(name.to_owned(), AttributeValue::S(value));
                }
                let code = unique("RAW");
                let reference = [
                    (
                        "PK".to_owned(),
                        AttributeValue::S(keys::reference_partition(org, &code)),
                    ),
                    ("SK".to_owned(), AttributeValue::S(keys::reference(&code))),
                    ("invoice_id".to_owned(), AttributeValue::S(id.clone())),
                ];
                let put = |item| -> anyhow::Result<TransactWriteItem> {
                    Ok(TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(&self.table)
                                .set_item(Some(item))
                                .condition_expression("attribute_not_exists(PK)")
                                .build()?,
                        )
                        .build())
                };
                self.dynamodb
                    .transact_write_items()
                    .transact_items(put(item)?)
                    .transact_items(put(reference.into_iter().collect())?)
                    .send()
                    .await?;
                self.sqs
                    .send_message()
                    .queue_url(&self.raw_queue_url)
                    .message_body(json!({"invoice_id": id, "org_id": account.org_id}).to_string())
                    .send()
                    .await?;
            }
        }
        Ok(())
    }
}

/// A stored invoice's item, the shape raw creates write.
pub struct InvoiceItem(std::collections::HashMap<String, AttributeValue>);

impl InvoiceItem {
    pub async fn of(layers: &Layers, account: &Account) -> anyhow::Result<Self> {
        let item = layers
            .dynamodb
            .get_item()
            .table_name(&layers.table)
            .key(
                "PK",
                AttributeValue::S(keys::invoice_partition(&account.org_id, &account.invoice_id)),
            )
            .key("SK", AttributeValue::S(keys::invoice(&account.invoice_id)))
            .send()
            .await?
            .item
            .context("the account's invoice is not in the table")?;
        Ok(Self(item))
    }
}

/// Every endpoint at every concurrency level, through each layer.
pub async fn measure(
    layers: &Layers,
    account: &Account,
    count: usize,
    levels: &[usize],
) -> anyhow::Result<Value> {
    let template = InvoiceItem::of(layers, account).await?;
    let mut rows = Vec::new();
    for endpoint in Endpoint::ALL {
        let event = layers.event(endpoint, account)?;
        for &concurrency in levels {
            let log = layers.logs_dir.join(format!("{}.log", endpoint.function()));
            let from = logs::length(&log);
            let pids = procs::pids_of(&binary_path(&layers.bin_dir, endpoint.function()));
            let cpu_before = procs::cpu_seconds(&pids);
            let api = series(count, concurrency, || layers.through_api(endpoint, account)).await?;
            // What the function's processes spent on the CPU per request (the warm-up included).
            let cpu_ms =
                procs::cpu_used(&cpu_before, &procs::cpu_seconds(&pids)) * 1000.0 / (count + WARM_UP) as f64;
            // The handler's own time, as the function logged it for each of those requests.
            let handler: Vec<Duration> = logs::entries_after(&log, from, "request served")?
                .iter()
                .filter_map(|entry| entry["duration_ms"].as_f64())
                .map(|ms| Duration::from_secs_f64(ms / 1000.0))
                .collect();
            let direct = series(count, concurrency, || layers.direct(endpoint, &event)).await?;
            let raw = series(count, concurrency, || layers.raw(endpoint, account, &template)).await?;
            let (api, handler, direct, raw) = (summary(api), summary(handler), summary(direct), summary(raw));
            let ratio = |layer: &Value| {
                layer["p50_ms"].as_f64().unwrap_or(f64::NAN) / raw["p50_ms"].as_f64().unwrap_or(f64::NAN)
            };
            rows.push(json!({
                "endpoint": endpoint.label(),
                "concurrency": concurrency,
                "api": api,
                "handler": handler,
                "direct": direct,
                "raw": raw,
                "api_over_raw_p50": ratio(&api),
                "direct_over_raw_p50": ratio(&direct),
                "handler_over_raw_p50": ratio(&handler),
                "handler_cpu_ms": cpu_ms,
            }));
        }
    }
    if rows.is_empty() {
        bail!("no concurrency level to measure");
    }
    Ok(Value::Array(rows))
}
