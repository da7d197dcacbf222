//! The provider sandbox and the stack's delivery faults, as tests steer and observe them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{emulator_sdk, http, stack};

pub fn url(path: &str) -> String {
    format!("{}{path}", stack().services["provider-sandbox"])
}

/// The JSON answer of a request.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// `GET` a sandbox path as the client of the organization's account would (with a token): the
/// answer's `data`.
pub async fn data_of(org_id: &str, path: &str) -> Value {
    json_of(http().get(url(path)).bearer_auth(org_token(org_id).await)).await["data"].take()
}

/// `PATCH` a sandbox path with `body` as the client of the organization's account would: the
/// status.
pub async fn patch_of(org_id: &str, path: &str, body: &Value) -> u16 {
    let credentials = super::organizations::account_secret(org_id)
        .await
        .expect("the organization has an account");
    patch_with(&credentials, path, body).await
}

/// `PATCH` a sandbox path with `body` as a client with these credentials (as
/// `PUT /v1/organization/provider` takes them) would: the status.
pub async fn patch_with(credentials: &Value, path: &str, body: &Value) -> u16 {
    http()
        .patch(url(path))
        .bearer_auth(token_of(serde_json::from_value(credentials.clone()).unwrap()).await)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A sandbox access token of the organization's own account.
async fn org_token(org_id: &str) -> String {
    let credentials = super::organizations::account_secret(org_id)
        .await
        .expect("the organization has an account");
    token_of(serde_json::from_value(credentials).unwrap()).await
}

/// A control path of the sandbox, for the reference codes starting with `prefix`.
async fn control(path: &str, prefix: &str) -> Value {
    json_of(http().get(url(path)).query(&[("reference_prefix", prefix)])).await
}

/// A sandbox access token, with the credentials the stack gave the provider secret.
pub async fn token() -> String {
    let secrets = aws_sdk_secretsmanager::Client::new(&emulator_sdk().await);
    let secret = secrets
        .get_secret_value()
        .secret_id(stack().reference("ProviderCredentials").unwrap())
        .send()
        .await
        .unwrap();
    token_of(serde_json::from_str(secret.secret_string().unwrap()).unwrap()).await
}

/// A sandbox access token of the account of `credentials`.
async fn token_of(mut credentials: BTreeMap<String, String>) -> String {
    credentials.remove("environment");
    credentials.insert("grant_type".into(), "password".into());
    let answer = json_of(http().post(url("/oauth/token")).form(&credentials)).await;
    answer["access_token"].as_str().unwrap().to_owned()
}

/// Faults for the reference codes starting with `prefix`.
pub async fn set_faults(rule: Value) {
    let response = http()
        .post(url("/_sandbox/faults"))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

pub async fn clear_faults(prefix: &str) {
    http()
        .delete(url("/_sandbox/faults"))
        .query(&[("reference_prefix", prefix)])
        .send()
        .await
        .unwrap();
}

/// What the sandbox counted for the reference codes starting with `prefix`: `issued`,
/// `pending`, `deleted` by reference, and the sandbox's `rate_limited` (real 429s) and
/// `injected_rate_limited`.
pub async fn stats(prefix: &str) -> Value {
    control("/_sandbox/stats", prefix).await
}

/// How many bills the sandbox issued per reference code starting with `prefix`.
pub async fn issued(prefix: &str) -> BTreeMap<String, u64> {
    serde_json::from_value(stats(prefix).await["issued"].clone()).unwrap()
}

/// The bills pending at the sandbox (rejected or slow) under `prefix`.
pub async fn pending(prefix: &str) -> BTreeMap<String, String> {
    serde_json::from_value(stats(prefix).await["pending"].clone()).unwrap()
}

/// The requests the sandbox received about reference codes starting with `prefix`, oldest first.
pub async fn requests(prefix: &str) -> Vec<Value> {
    let answer = control("/_sandbox/requests", prefix).await;
    answer["requests"].as_array().cloned().unwrap_or_default()
}

/// The bodies of the bills created under `prefix` (`POST /v2/bills/validate`).
pub async fn created_bodies(prefix: &str) -> Vec<Value> {
    requests(prefix)
        .await
        .into_iter()
        .filter(|request| request["method"] == "POST" && request["path"] == "/v2/bills/validate")
        .map(|request| request["body"].clone())
        .collect()
}

/// Asserts that every bill body invoicer sent under `prefix` keeps Factus's documented field
/// rules (the sandbox's own checker, written from Factus's docs).
pub async fn assert_bodies_conform(prefix: &str) {
    let bodies = created_bodies(prefix).await;
    assert!(!bodies.is_empty(), "no bill was sent under {prefix}");
    for body in bodies {
        let broken = provider_sandbox::rules::check_bill(&body);
        assert!(
            broken.is_empty(),
            "a body breaks Factus's rules: {broken:?}\n{body}"
        );
    }
}

/// `POST /v2/bills/validate` straight to the sandbox, as another client (or a worker that
/// crashed after it) would: the answer's status and body.
pub async fn create_bill(org_id: &str, body: &Value) -> (u16, Value) {
    let answer = http()
        .post(url("/v2/bills/validate"))
        .bearer_auth(org_token(org_id).await)
        .json(body)
        .send()
        .await
        .unwrap();
    (
        answer.status().as_u16(),
        answer.json().await.unwrap_or(Value::Null),
    )
}

/// `DELETE /v2/bills/destroy/reference/{reference}` straight to the sandbox.
pub async fn delete_bill(org_id: &str, reference: &str) -> u16 {
    http()
        .delete(url(&format!("/v2/bills/destroy/reference/{reference}")))
        .bearer_auth(org_token(org_id).await)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Delivery faults of the stack's queue pollers, for one organization: `rates` of
/// `duplicate_rate`, `drop_ack_rate`, `lose_rate`.
pub async fn set_delivery_faults(org_id: &str, rates: Value) {
    let mut rule = json!({"org_id": org_id, "seed": 11});
    if let (Some(rule), Some(rates)) = (rule.as_object_mut(), rates.as_object()) {
        rule.extend(rates.clone());
    }
    let response = http()
        .post(format!("{}/poller/faults", stack().control_url))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

pub async fn clear_delivery_faults(org_id: &str) {
    http()
        .delete(format!("{}/poller/faults/{org_id}", stack().control_url))
        .send()
        .await
        .unwrap();
}
