//! Invoices made through the API for tests.

use std::time::Duration;

use serde_json::Value;

use super::accounts::Account;
use super::{api, http, unique};

/// The documented example invoice, with a fresh reference code.
pub fn example() -> Value {
    local_stack::examples::invoice(&unique("FV"))
}

/// `POST /v1/invoices` as `account`, with an optional idempotency key.
pub async fn post(account: &Account, body: &Value, key: Option<&str>) -> reqwest::Response {
    let mut request = http()
        .post(api("/v1/invoices"))
        .header("authorization", account.bearer())
        .json(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.unwrap()
}

/// Creates the example invoice; answers it.
pub async fn create(account: &Account) -> Value {
    let response = post(account, &example(), None).await;
    assert_eq!(
        response.status(),
        202,
        "creating an invoice: {}",
        response.text().await.unwrap()
    );
    response.json().await.unwrap()
}

/// `GET path` as `account`: status and body.
pub async fn get(account: &Account, path: &str) -> (u16, Value) {
    let response = http()
        .get(api(path))
        .header("authorization", account.bearer())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Polls the resource at `path` until its status is one of `statuses`; answers it. Not a timing
/// assertion: a bound (ten minutes: the suite's invoices share one paced provider account) so
/// that a stuck pipeline fails the test instead of hanging it.
pub async fn wait_for_status(account: &Account, path: &str, statuses: &[&str]) -> Value {
    let mut last = Value::Null;
    for _ in 0..3_000 {
        let (_, resource) = get(account, path).await;
        if statuses.iter().any(|s| resource["status"] == *s) {
            return resource;
        }
        last = resource;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{path} never reached {statuses:?}: {last}");
}

/// Polls an invoice until its status is one of `statuses`.
pub async fn wait_for(account: &Account, invoice_id: &str, statuses: &[&str]) -> Value {
    wait_for_status(account, &format!("/v1/invoices/{invoice_id}"), statuses).await
}

/// Polls a rejected invoice until the provider no longer holds its rejected bill (the worker
/// deletes it); answers it.
pub async fn wait_for_cleared(account: &Account, path: &str) -> Value {
    for _ in 0..300 {
        let (_, invoice) = get(account, path).await;
        if invoice["provider_cleared"] == true {
            return invoice;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{path}: its rejected bill was never deleted at the provider");
}
