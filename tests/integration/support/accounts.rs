//! Organizations and users made through the API, each test its own.

use serde_json::{Value, json};

use super::{api, http, unique};

/// A signed-in user.
#[derive(Clone, Debug)]
pub struct Account {
    pub email: String,
    pub password: String,
    pub org_id: String,
    pub user_id: String,
    pub role: String,
    pub access: String,
    pub refresh: String,
}

impl Account {
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.access)
    }
}

pub use local_stack::examples::nit;

/// A fresh email address.
pub fn email(name: &str) -> String {
    format!("{}@example.co", unique(name))
}

/// Signs a new organization up and connects a Factus account of its company, its owner signed
/// in. On the local stack, a provider sandbox account of its own; against a deployed stage (no
/// sandbox to make one), the Factus account `INVOICER_FACTUS_ACCOUNT` names, as
/// `{"nit", "dv", "environment", "client_id", "client_secret", "username", "password"}`, the
/// organization taking its company's NIT; without one, it stays unconnected.
pub async fn signup() -> Account {
    let (owner, credentials) = if super::is_local() {
        let owner = signup_unconnected().await;
        let credentials = super::organizations::own_sandbox_account(&owner).await;
        (owner, credentials)
    } else {
        let Ok(text) = std::env::var("INVOICER_FACTUS_ACCOUNT") else {
            return signup_unconnected().await;
        };
        let mut credentials: serde_json::Map<String, Value> =
            serde_json::from_str(&text).expect("INVOICER_FACTUS_ACCOUNT is a JSON object");
        let mut company = |key: &str| match credentials.remove(key) {
            Some(Value::String(text)) => text,
            other => panic!("INVOICER_FACTUS_ACCOUNT's {key}: {other:?}"),
        };
        let (nit, dv) = (company("nit"), company("dv"));
        (signup_as(&nit, &dv).await, Value::Object(credentials))
    };
    let (status, shown) = super::organizations::connect(&owner, &credentials).await;
    assert_eq!(status, 200, "connecting the organization's account: {shown}");
    owner
}

/// Signs a new organization up, with no provider account; its owner is signed in.
pub async fn signup_unconnected() -> Account {
    let (nit, dv) = nit();
    signup_as(&nit, &dv.to_string()).await
}

/// Signs a new organization of NIT `nit` (check digit `dv`) up; its owner is signed in.
pub async fn signup_as(nit: &str, dv: &str) -> Account {
    let email = email("owner");
    let password = "correct horse battery staple".to_owned();
    let response = http()
        .post(api("/v1/auth/signup"))
        .json(&json!({
            "organization": {"name": "Ferretería El Tornillo SAS", "nit": nit, "dv": dv},
            "email": email, "password": password, "full_name": "Ana María Gómez"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        201,
        "signup failed: {}",
        response.text().await.unwrap()
    );
    let body: Value = response.json().await.unwrap();
    Account {
        email,
        password,
        org_id: body["organization"]["id"].as_str().unwrap().to_owned(),
        user_id: body["user"]["id"].as_str().unwrap().to_owned(),
        role: "owner".to_owned(),
        access: body["tokens"]["access_token"].as_str().unwrap().to_owned(),
        refresh: body["tokens"]["refresh_token"].as_str().unwrap().to_owned(),
    }
}

/// Logs in; answers the response.
pub async fn login(email: &str, password: &str) -> reqwest::Response {
    http()
        .post(api("/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

/// A user of `owner`'s organization with `role`, created by `owner` and signed in.
pub async fn member(owner: &Account, role: &str) -> Account {
    let email = email(role);
    let password = format!("{role} password 123");
    let response = http()
        .post(api("/v1/users"))
        .header("authorization", owner.bearer())
        .json(&json!({"email": email, "full_name": "Luis Pérez", "role": role, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        201,
        "creating a {role}: {}",
        response.text().await.unwrap()
    );
    let user: Value = response.json().await.unwrap();
    let tokens: Value = login(&email, &password).await.json().await.unwrap();
    Account {
        email,
        password,
        org_id: owner.org_id.clone(),
        user_id: user["id"].as_str().unwrap().to_owned(),
        role: role.to_owned(),
        access: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
    }
}
