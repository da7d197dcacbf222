//! What the functions log: never a secret (after a whole auth run and an invoice issued, no
//! password, no token, no key and no provider credential), and for every request its duration
//! and the AWS calls it made.

use serde_json::json;

use crate::support::accounts::{login, signup};
use crate::support::organizations::{account_secret, connect};
use crate::support::tokens::active_key;
use crate::support::{api, http, local_only, stack};

#[tokio::test]
async fn no_password_token_or_key_appears_in_any_log() {
    let Some(_) = local_only("the functions' local logs") else {
        return;
    };
    let account = signup().await;
    // The organization's provider account is used (an invoice issued), and refused once.
    let provider = account_secret(&account.org_id).await.unwrap();
    let invoice = crate::support::invoices::create(&account).await;
    let issued = crate::support::invoices::wait_for(
        &account,
        invoice["id"].as_str().unwrap(),
        &["accepted", "rejected", "failed"],
    )
    .await;
    assert_eq!(issued["status"], "accepted", "{issued}");
    let mut refused = provider.clone();
    refused["password"] = json!("a wrong provider password, secret too");
    assert_eq!(connect(&account, &refused).await.0, 422);
    let tokens: serde_json::Value = login(&account.email, &account.password)
        .await
        .json()
        .await
        .unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let _ = login(&account.email, "a wrong password that is secret too").await;
    let rotated: serde_json::Value = http()
        .post(api("/v1/auth/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = http()
        .get(api("/v1/users/me"))
        .header("authorization", account.bearer())
        .send()
        .await
        .unwrap();
    let _ = http()
        .post(api("/v1/auth/logout"))
        .json(&json!({"refresh_token": rotated["refresh_token"]}))
        .send()
        .await
        .unwrap();
    let (_, key) = active_key().await;

    let secrets = [
        account.password.clone(),
        "a wrong password that is secret too".to_owned(),
        account.access.clone(),
        account.refresh.clone(),
        refresh.to_owned(),
        rotated["access_token"].as_str().unwrap().to_owned(),
        String::from_utf8(key).unwrap(),
        provider["client_secret"].as_str().unwrap().to_owned(),
        provider["password"].as_str().unwrap().to_owned(),
        "a wrong provider password, secret too".to_owned(),
    ];
    let mut logs = String::new();
    for function in &stack().functions {
        let log = stack().logs_dir.join(format!("{}.log", function.name));
        logs.push_str(&std::fs::read_to_string(log).unwrap_or_default());
    }
    assert!(
        logs.contains(&account.org_id),
        "the run was logged (its organization id is there)"
    );
    for secret in secrets {
        assert!(
            !logs.contains(&secret),
            "a secret reached the logs: {}…",
            &secret[..8]
        );
    }
}

#[tokio::test]
async fn each_request_logs_its_duration_and_the_aws_calls_it_made() {
    let Some(_) = local_only("the functions' local logs") else {
        return;
    };
    let account = signup().await;
    let invoice = crate::support::invoices::create(&account).await;
    let response = http()
        .get(api(&format!("/v1/invoices/{}", invoice["id"].as_str().unwrap())))
        .header("authorization", account.bearer())
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();

    let log = stack().logs_dir.join("invoices-get.log");
    let text = std::fs::read_to_string(log).unwrap();
    let served: serde_json::Value = text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|entry| entry["message"] == "request served" && entry.to_string().contains(&request_id))
        .expect("the request's last log line");
    // One GetItem (the key ring was read by an earlier request of this container, or now).
    assert_eq!(served["dynamodb_calls"], 1, "{served}");
    assert_eq!(served["sqs_calls"], 0, "{served}");
    assert!(served["secrets_manager_calls"].as_u64().unwrap() <= 1, "{served}");
    assert!(served["duration_ms"].as_f64().unwrap() > 0.0, "{served}");
}
