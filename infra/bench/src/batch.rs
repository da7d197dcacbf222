//! The 10,000-invoice CSV batch: the time to its 202, the AWS calls per invoice on ingest, the
//! time until every invoice has ended, and the worker's DynamoDB calls and CPU time per invoice.
//! Calls are counted by the functions themselves (an SDK interceptor, logged with each
//! invocation) and read back from their logs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{Value, json};

use local_stack::examples::{csv, unique};

use crate::fixtures::{Account, Api};
use crate::{heat, logs, procs};

pub const INVOICES: usize = 10_000;

/// What the scenario reads and steers.
pub struct Batches<'a> {
    pub api: &'a Api,
    pub account: &'a Account,
    pub logs_dir: PathBuf,
    pub sandbox_url: String,
    pub worker_binary: PathBuf,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    /// The provider budget the stack runs with (lifted, to keep the run short).
    pub budget_per_minute: u32,
}

impl Batches<'_> {
    /// Waits until the submissions queue holds nothing, so that the worker works for this batch only.
    pub async fn wait_for_idle_queue(&self) -> anyhow::Result<()> {
        use aws_sdk_sqs::types::QueueAttributeName::{
            ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible,
        };
        for _ in 0..1_200 {
            let attributes = self
                .sqs
                .get_queue_attributes()
                .queue_url(&self.queue_url)
                .attribute_names(ApproximateNumberOfMessages)
                .attribute_names(ApproximateNumberOfMessagesNotVisible)
                .send()
                .await?;
            let waiting: u64 = attributes
                .attributes()
                .into_iter()
                .flat_map(|map| map.values())
                .filter_map(|count| count.parse::<u64>().ok())
                .sum();
            if waiting == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        bail!("the submissions queue did not empty in 5 minutes")
    }

    /// One batch of [`INVOICES`] with the sandbox answering after `latency_ms`.
    pub async fn run(&self, latency_ms: u64) -> anyhow::Result<Value> {
        self.wait_for_idle_queue().await?;
        let prefix = unique("B");
        let rule = json!({"reference_prefix": prefix, "latency_ms": latency_ms});
        let answer = self
            .api
            .client
            .post(format!("{}/_sandbox/faults", self.sandbox_url))
            .json(&rule)
            .send()
            .await?;
        anyhow::ensure!(answer.status().is_success(), "the sandbox refused {rule}");
        let body = csv(&prefix, INVOICES);
        let worker_log = self.logs_dir.join("submit-worker.log");
        let ingest_log = self.logs_dir.join("batches-create.log");
        let (worker_from, ingest_from) = (logs::length(&worker_log), logs::length(&ingest_log));
        let worker_pids = procs::pids_of(&self.worker_binary);
        let cpu_before = procs::cpu_seconds(&worker_pids);
        let marks = heat::Marks::now(&self.logs_dir)?;

        let started = Instant::now();
        let started_ms = epoch_ms();
        let (batch_id, to_202) = self.api.post_csv(&self.account.access, &body).await?;
        let answered_ms = epoch_ms();
        let batch = self
            .api
            .wait_until_ended(&self.account.access, &format!("/v1/batches/{batch_id}"))
            .await?;
        let to_terminal = started.elapsed();
        let ended_ms = epoch_ms();
        // The worker's last log lines may trail its last write by a moment.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let worker_cpu = procs::cpu_used(&cpu_before, &procs::cpu_seconds(&worker_pids));

        let served = logs::entries_after(&ingest_log, ingest_from, "request served")?;
        let ingest: Vec<Value> = served
            .into_iter()
            .filter(|entry| {
                entry["spans"]
                    .as_array()
                    .is_some_and(|spans| spans.iter().any(|span| span["batch_id"] == batch_id.as_str()))
            })
            .collect();
        anyhow::ensure!(
            ingest.len() == 1,
            "found {} log lines of the batch's request",
            ingest.len()
        );
        let (ingest_dynamodb, ingest_sqs) = (
            logs::total(&ingest, "dynamodb_calls"),
            logs::total(&ingest, "sqs_calls"),
        );
        let worker = logs::entries_after(&worker_log, worker_from, "event handled")?;
        let (worker_dynamodb, worker_sqs) = (
            logs::total(&worker, "dynamodb_calls"),
            logs::total(&worker, "sqs_calls"),
        );
        let invocations = worker.len();
        let partition_heat = heat::report(
            &marks,
            &[
                ("ingest", started_ms, answered_ms),
                ("drain", answered_ms, ended_ms),
            ],
        )?;
        let per_invoice = |count: f64| count / INVOICES as f64;
        let factus_interval = shared::provider::pacer::lane_interval_ms(80, shared::store::Lane::Submissions);
        Ok(json!({
            "invoices": INVOICES,
            "provider_budget_per_minute": self.budget_per_minute,
            "hours_at_factus_pace": INVOICES as f64 * factus_interval as f64 / 3_600_000.0,
            "csv_bytes": body.len(),
            "sandbox_latency_ms": latency_ms,
            "status": batch["status"],
            "accepted": batch["accepted"],
            "seconds_to_202": to_202.as_secs_f64(),
            "seconds_to_all_ended": to_terminal.as_secs_f64(),
            "ingest_dynamodb_calls": ingest_dynamodb,
            "ingest_sqs_calls": ingest_sqs,
            "ingest_calls_per_invoice": per_invoice((ingest_dynamodb + ingest_sqs) as f64),
            "worker_invocations": invocations,
            "worker_dynamodb_calls": worker_dynamodb,
            "worker_sqs_calls": worker_sqs,
            "worker_dynamodb_calls_per_invoice": per_invoice(worker_dynamodb as f64),
            "worker_cpu_seconds": worker_cpu,
            "worker_cpu_ms_per_invoice": per_invoice(worker_cpu * 1000.0),
            "partition_heat": partition_heat,
        }))
    }
}

fn epoch_ms() -> i64 {
    shared::clock::epoch_ms(shared::clock::now())
}
