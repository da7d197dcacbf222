//! Organizations' own Factus accounts, as tests make them: an account at the provider sandbox
//! (its control API) for a company, and `PUT /v1/organization/provider` to connect it.

use serde_json::{Value, json};

use super::accounts::Account;
use super::invoices::get;
use super::{api, emulator_sdk, function_config, http, sandbox, unique};

/// A new account at the provider sandbox issuing for `nit` (`name`): its credentials, as
/// `PUT /v1/organization/provider` takes them.
pub async fn sandbox_account(nit: &str, name: &str) -> Value {
    let tag = unique("factus");
    let credentials = json!({
        "client_id": format!("client-{tag}"), "client_secret": format!("secret-{tag}"),
        "username": format!("{tag}@factus.example.co"), "password": format!("password {tag}"),
    });
    let mut account = credentials.clone();
    account["company"] = json!({"nit": nit, "name": name});
    let response = http()
        .post(sandbox::url("/_sandbox/accounts"))
        .json(&account)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let mut credentials = credentials;
    credentials["environment"] = json!("sandbox");
    credentials
}

/// `PUT /v1/organization/provider` with `credentials`: its status and body.
pub async fn connect(account: &Account, credentials: &Value) -> (u16, Value) {
    let response = http()
        .put(api("/v1/organization/provider"))
        .header("authorization", account.bearer())
        .json(credentials)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `DELETE /v1/organization/provider`: its status.
pub async fn disconnect(account: &Account) -> u16 {
    http()
        .delete(api("/v1/organization/provider"))
        .header("authorization", account.bearer())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The caller's organization (`GET /v1/organization`).
pub async fn organization(account: &Account) -> Value {
    let (status, organization) = get(account, "/v1/organization").await;
    assert_eq!(status, 200, "{organization}");
    organization
}

/// A sandbox account of the organization's own company: its credentials.
pub async fn own_sandbox_account(account: &Account) -> Value {
    let organization = organization(account).await;
    sandbox_account(
        organization["nit"].as_str().unwrap(),
        organization["name"].as_str().unwrap(),
    )
    .await
}

/// What the organization's provider account secret holds, if it has one.
pub async fn account_secret(org_id: &str) -> Option<Value> {
    let config = function_config("organization-provider");
    let prefix = config.provider_accounts_prefix().unwrap();
    let secrets = aws_sdk_secretsmanager::Client::new(&emulator_sdk().await);
    let secret = secrets
        .get_secret_value()
        .secret_id(format!("{prefix}{org_id}"))
        .send()
        .await
        .ok()?;
    Some(serde_json::from_str(secret.secret_string().unwrap()).unwrap())
}
