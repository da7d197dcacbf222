//! `invoicer invoices`: create one from a JSON file, read one, list them (every page), retry one,
//! and download an accepted one's PDF or XML.

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::api::{Api, Body, Failure, Retry, all_pages, encoded};
use crate::files::{read, write_out};
use crate::output::{self, cell};

/// Prints invoices: a table, or one JSON line each.
fn show(invoices: &[Value], json: bool) {
    if json {
        invoices.iter().for_each(output::json_line);
        return;
    }
    let rows: Vec<Vec<String>> = invoices
        .iter()
        .map(|invoice| {
            vec![
                cell(&invoice["id"]),
                cell(&invoice["reference_code"]),
                cell(&invoice["status"]),
                cell(&invoice["number"]),
                cell(&invoice["totals"]["payable"]),
                cell(&invoice["created_at"]),
            ]
        })
        .collect();
    output::table(
        &["ID", "REFERENCE", "STATUS", "NUMBER", "PAYABLE", "CREATED"],
        &rows,
    );
}

/// `POST /v1/invoices` with the JSON of `file` (sent as it is written: its numbers exactly),
/// under an idempotency key, so that it may be sent again.
pub async fn create(
    api: &mut Api,
    file: &Path,
    idempotency_key: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let body = json_file(file)?;
    let key = crate::idempotency_key(idempotency_key)?;
    let invoice = api
        .send(Method::POST, "/v1/invoices", &body, Some(&key), Retry::Safe)
        .await?
        .json()?;
    show(&[invoice], json);
    Ok(())
}

pub async fn get(api: &mut Api, id: &str, json: bool) -> Result<(), Failure> {
    let invoice = api.get(&format!("/v1/invoices/{}", encoded(id))).await?;
    if json {
        output::json_line(&invoice);
    } else {
        show(std::slice::from_ref(&invoice), false);
        for error in invoice["provider_errors"].as_array().into_iter().flatten() {
            output::line(&format!(
                "  {}: {}",
                cell(&error["rule"]),
                cell(&error["message"])
            ));
        }
    }
    Ok(())
}

/// An invoice's status, as `list` filters on it.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Status {
    Queued,
    Submitting,
    Accepted,
    Rejected,
    Failed,
    Annulled,
}

/// Every invoice (of a status, of a batch), newest first, every page followed.
pub async fn list(
    api: &mut Api,
    status: Option<Status>,
    batch: Option<&str>,
    json: bool,
) -> Result<(), Failure> {
    let mut path = "/v1/invoices?limit=100".to_owned();
    if let Some(status) = status {
        let name = format!("{status:?}").to_ascii_lowercase();
        path.push_str(&format!("&status={name}"));
    }
    if let Some(batch) = batch {
        path.push_str(&format!("&batch_id={}", encoded(batch)));
    }
    let invoices = all_pages(api, &path).await?;
    show(&invoices, json);
    Ok(())
}

/// `POST /v1/invoices/{id}/retry`: a failed invoice as it is, a rejected one with the corrected
/// invoice of `file`.
pub async fn retry(api: &mut Api, id: &str, file: Option<&Path>, json: bool) -> Result<(), Failure> {
    let body = match file {
        Some(file) => json_file(file)?,
        None => Body::None,
    };
    let path = format!("/v1/invoices/{}/retry", encoded(id));
    let invoice = api
        .send(Method::POST, &path, &body, None, Retry::Never)
        .await?
        .json()?;
    show(&[invoice], json);
    Ok(())
}

/// Downloads an accepted invoice's `pdf` or `xml` into `out`.
pub async fn document(api: &mut Api, id: &str, kind: &str, out: &Path) -> Result<(), Failure> {
    let path = format!("/v1/invoices/{}/{kind}", encoded(id));
    let answer = api
        .send(Method::GET, &path, &Body::None, None, Retry::Safe)
        .await?;
    let link = answer
        .headers
        .get("location")
        .and_then(|value| value.to_str().ok())
        .filter(|_| answer.status == StatusCode::FOUND)
        .ok_or_else(|| Failure::Unreachable(format!("the API answered {} without a link", answer.status)))?;
    let bytes = api.download(link).await?;
    write_out(Some(out), &bytes)?;
    output::note(&format!("{} bytes written to {}", bytes.len(), out.display()));
    Ok(())
}

/// A JSON file as a body, its bytes as they are.
fn json_file(file: &Path) -> Result<Body, Failure> {
    Ok(Body::Bytes {
        content_type: "application/json".to_owned(),
        bytes: read(file)?,
    })
}
