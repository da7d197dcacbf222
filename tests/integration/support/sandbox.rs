//! The provider sandbox and the stack's delivery faults, as tests steer and observe them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{emulator_sdk, http, stack};

pub fn url(path: &str) -> String {
    format!("{}{path}", stack().services["provider-sandbox"])
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
    let credentials: BTreeMap<String, String> =
        serde_json::from_str(secret.secret_string().unwrap()).unwrap();
    let mut form = credentials.clone();
    form.insert("grant_type".into(), "password".into());
    let answer: Value = http()
        .post(url("/oauth/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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

/// How many bills the sandbox issued per reference code starting with `prefix`.
pub async fn issued(prefix: &str) -> BTreeMap<String, u64> {
    let stats: Value = http()
        .get(url("/_sandbox/stats"))
        .query(&[("reference_prefix", prefix)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    serde_json::from_value(stats["issued"].clone()).unwrap()
}

/// Delivery faults of the stack's queue pollers, for one organization.
pub async fn set_delivery_faults(org_id: &str, duplicate_rate: f64, drop_ack_rate: f64) {
    let response = http()
        .post(format!("{}/poller/faults", stack().control_url))
        .json(&json!({"org_id": org_id, "duplicate_rate": duplicate_rate, "drop_ack_rate": drop_ack_rate, "seed": 11}))
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
