//! Batches made through the API for tests.

use serde_json::Value;

use super::accounts::Account;
use super::invoices::{get, wait_for_status};
use super::{api, http};

pub use local_stack::examples::{CSV_HEADER as HEADER, csv, csv_row as row};

/// `POST /v1/batches` with a body of `content_type`, an optional key and query.
pub async fn post(
    account: &Account,
    content_type: &str,
    body: impl Into<reqwest::Body>,
    key: Option<&str>,
    query: &str,
) -> reqwest::Response {
    let mut request = http()
        .post(api(&format!("/v1/batches{query}")))
        .header("authorization", account.bearer())
        .header("content-type", content_type)
        .body(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.unwrap()
}

/// The statuses a batch ends in.
pub const ENDED: [&str; 2] = ["completed", "completed_with_errors"];

/// Posts `rows` (under the CSV header) as a lot and waits for it to end: the ended batch.
pub async fn submit_csv_until_ended(account: &Account, rows: &[String]) -> Value {
    let body = format!("{HEADER}\n{}\n", rows.join("\n"));
    let response = post(account, "text/csv", body, None, "").await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    wait_for(account, answer["id"].as_str().unwrap(), &ENDED).await
}

/// Polls a batch until its status is one of `statuses`.
pub async fn wait_for(account: &Account, batch_id: &str, statuses: &[&str]) -> Value {
    wait_for_status(account, &format!("/v1/batches/{batch_id}"), statuses).await
}

/// Every page of a list path (`?limit=` included), concatenated.
pub async fn all_pages(account: &Account, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = path.to_owned();
    loop {
        let (status, page) = get(account, &next).await;
        assert_eq!(status, 200, "{next}: {page}");
        items.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("{path}&cursor={cursor}"),
            None => return items,
        }
    }
}
