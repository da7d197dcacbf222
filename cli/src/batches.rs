//! `invoicer batches submit` and `watch`: a lot (CSV or JSON) uploaded, what was stored and
//! what was not, and the lot watched to its end with a progress bar.

use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{Api, Body, Failure, Retry, encoded};
use crate::files::read;
use crate::output::{self, cell};
use crate::profile;

/// How often a watched batch is read.
const POLL: Duration = Duration::from_secs(2);
/// How long a watch reads on through an outage (the API unreachable, or answering 5xx), and
/// how far apart its reads are then, at most.
const OUTAGE: Duration = Duration::from_secs(600);
const LONGEST_POLL: Duration = Duration::from_secs(30);

/// How a batch's CSV is encoded.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Encoding {
    #[value(name = "utf-8")]
    Utf8,
    #[value(name = "windows-1252")]
    Windows1252,
}

/// Uploads `file` as a batch; answers its id.
pub async fn submit(
    api: &mut Api,
    file: &Path,
    all_or_nothing: bool,
    idempotency_key: Option<String>,
    encoding: Option<Encoding>,
    json: bool,
) -> Result<String, Failure> {
    let bytes = read(file)?;
    let extension = file
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    let content_type = match extension.as_deref() {
        Some("csv") => {
            let charset = match encoding {
                Some(Encoding::Windows1252) => "windows-1252",
                Some(Encoding::Utf8) => "utf-8",
                None if std::str::from_utf8(&bytes).is_ok() => "utf-8",
                None => "windows-1252",
            };
            format!("text/csv; charset={charset}")
        }
        Some("json") => "application/json".to_owned(),
        _ => {
            return Err(Failure::Usage(format!(
                "{}: a batch is a .csv or a .json file",
                file.display()
            )));
        }
    };
    let key = crate::idempotency_key(idempotency_key)?;
    let path = if all_or_nothing {
        "/v1/batches?all_or_nothing=true"
    } else {
        "/v1/batches"
    };
    let body = Body::Bytes { content_type, bytes };
    let batch = api
        .send(Method::POST, path, &body, Some(&key), Retry::Safe)
        .await?
        .json()?;
    let id = cell(&batch["id"]);
    // `batches errors` finds the lot's file here to write its invalid rows.
    if let Ok(source) = std::path::absolute(file) {
        profile::remember_source(&id, &source);
    }
    if json {
        output::json_line(&batch);
    } else {
        output::line(&format!(
            "batch {id}: {} invoices stored, {} invalid",
            cell(&batch["total"]),
            cell(&batch["invalid_count"])
        ));
        let invalid = batch["invalid"].as_array().cloned().unwrap_or_default();
        if !invalid.is_empty() {
            output::table(
                &["LINE", "REFERENCE", "FIELD", "MESSAGE"],
                &problem_rows(&invalid),
            );
        }
        let shown = invalid.len() as u64;
        if batch["invalid_count"].as_u64().unwrap_or(0) > shown {
            output::note(&format!("and more: invoicer batches errors {id}"));
        }
    }
    Ok(id)
}

/// One row per problem of the invalid inputs: its line (or index), reference, field, message.
pub fn problem_rows(invalid: &[Value]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for input in invalid {
        let position = match (&input["line"], &input["index"]) {
            (Value::Number(line), _) => line.to_string(),
            (_, Value::Number(index)) => format!("#{index}"),
            _ => String::new(),
        };
        for problem in input["errors"].as_array().into_iter().flatten() {
            let line = problem["line"]
                .as_u64()
                .map_or_else(|| position.clone(), |line| line.to_string());
            rows.push(vec![
                line,
                cell(&input["reference_code"]),
                cell(&problem["field"]),
                cell(&problem["message"]),
            ]);
        }
        if let Some(more) = input["errors_not_shown"].as_u64().filter(|more| *more > 0) {
            rows.push(vec![
                position.clone(),
                cell(&input["reference_code"]),
                String::new(),
                format!("and {more} more problems"),
            ]);
        }
    }
    rows
}

/// Watches a batch until it ends: a progress bar (or, with `--json`, one line each time it
/// moves). Ctrl-C stops the watching, never the batch.
pub async fn watch(api: &mut Api, id: &str, json: bool) -> Result<(), Failure> {
    let bar = ProgressBar::new(0);
    if json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{bar:40.green/white} {pos}/{len} {msg}")
            .map_err(|error| Failure::Failed(error.to_string()))?
            .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    let started = Instant::now();
    let mut first_done = None;
    let mut last = Value::Null;
    let path = format!("/v1/batches/{}", encoded(id));
    // Ctrl-C is listened for from the start, by a task of its own, and heeded between reads: a
    // read (and the refresh it may make, whose rotated token must be saved) is never cut short.
    let (stop, mut stopping) = tokio::sync::oneshot::channel::<()>();
    let listener = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop.send(());
        }
    });
    tokio::task::yield_now().await;
    let mut outage: Option<Instant> = None;
    let outcome = loop {
        let read = api.get(&path).await;
        if stopping.try_recv().is_ok() {
            break stopped(&bar, id);
        }
        let mut wait = POLL;
        let batch = match read {
            Ok(batch) => {
                if outage.take().is_some() {
                    // Drawn again, whether it moved or not.
                    last = Value::Null;
                }
                batch
            }
            // A lot takes hours: a network that drops for a while does not end the watching.
            Err(failure @ (Failure::Unreachable(_) | Failure::Unavailable(_))) => {
                let since = *outage.get_or_insert_with(Instant::now);
                if since.elapsed() >= OUTAGE {
                    break Err(failure);
                }
                let message = "the API does not answer: reading again…".to_owned();
                if bar.is_hidden() && !json {
                    output::note(&message);
                }
                bar.set_message(message);
                wait = since.elapsed().clamp(POLL, LONGEST_POLL);
                last.clone()
            }
            Err(failure) => break Err(failure),
        };
        let counts = |batch: &Value| {
            json!([
                batch["status"],
                batch["accepted"],
                batch["rejected"],
                batch["failed"],
                batch["total"]
            ])
        };
        if counts(&batch) != counts(&last) {
            let done = batch["total"]
                .as_u64()
                .unwrap_or(0)
                .saturating_sub(batch["pending"].as_u64().unwrap_or(0));
            let since = *first_done.get_or_insert(done);
            let minutes = started.elapsed().as_secs_f64() / 60.0;
            let rate = if minutes > 0.0 {
                format!("{:.0}/min", done.saturating_sub(since) as f64 / minutes)
            } else {
                "…".to_owned()
            };
            let message = progress(&batch, &rate);
            if json {
                output::json_line(&batch);
            } else if bar.is_hidden() {
                output::note(&message);
            }
            // The counts first, so that the last drawing of each move is whole.
            bar.set_message(message);
            bar.set_length(batch["total"].as_u64().unwrap_or(0));
            bar.set_position(done);
            last = batch;
        }
        if let Some(outcome) = ended(&last) {
            bar.finish();
            break outcome.map(|summary| output::note(&summary));
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = &mut stopping => break stopped(&bar, id),
        }
    };
    listener.abort();
    outcome
}

fn progress(batch: &Value, rate: &str) -> String {
    let ends = batch["estimated_completion_at"]
        .as_str()
        .and_then(|at| at.get(11..19))
        .map(|time| format!(" · ends ~{time} UTC"))
        .unwrap_or_default();
    format!(
        "accepted {} · rejected {} · failed {} · pending {} · {rate}{ends}",
        cell(&batch["accepted"]),
        cell(&batch["rejected"]),
        cell(&batch["failed"]),
        cell(&batch["pending"]),
    )
}

/// How a batch that ended went (what to say of a success): `None` while it goes on.
fn ended(batch: &Value) -> Option<Result<String, Failure>> {
    let id = cell(&batch["id"]);
    let summary = format!(
        "{} accepted, {} rejected, {} failed",
        cell(&batch["accepted"]),
        cell(&batch["rejected"]),
        cell(&batch["failed"])
    );
    match batch["status"].as_str()? {
        "completed" => Some(Ok(format!("batch {id} completed: {summary}"))),
        "completed_with_errors" => Some(Err(Failure::Failed(format!(
            "batch {id} completed with errors: {summary} (invoicer invoices list --batch {id} --status rejected)"
        )))),
        "failed" => Some(Err(Failure::Failed(format!(
            "batch {id} failed: {}",
            cell(&batch["failure_reason"])
        )))),
        _ => None,
    }
}

fn stopped(bar: &ProgressBar, id: &str) -> Result<(), Failure> {
    bar.abandon();
    output::note(&format!(
        "stopped watching; the batch goes on: invoicer batches watch {id}"
    ));
    Err(Failure::Interrupted)
}
