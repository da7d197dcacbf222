//! What the measurements need from the API: an organization, invoices, batches, and the files of
//! `events/` with their placeholders filled for them.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use local_stack::examples::{Placeholders, csv, invoice, nit, unique};
use serde_json::{Value, json};

/// The API of the stack under measure, and its provider sandbox.
#[derive(Clone)]
pub struct Api {
    pub url: String,
    pub sandbox_url: String,
    pub client: reqwest::Client,
}

/// A signed-up owner, with an invoice and a batch of its own.
pub struct Account {
    pub access: String,
    pub refresh: String,
    pub org_id: String,
    pub email: String,
    pub password: String,
    pub invoice_id: String,
    pub batch_id: String,
}

impl Account {
    /// What the placeholders of `events/` stand for, for this account.
    pub fn placeholders(&self) -> Placeholders {
        Placeholders {
            access_token: self.access.clone(),
            refresh_token: self.refresh.clone(),
            email: self.email.clone(),
            password: self.password.clone(),
            org_id: self.org_id.clone(),
            invoice_id: self.invoice_id.clone(),
            batch_id: self.batch_id.clone(),
        }
    }
}

impl Api {
    pub fn new(url: &str, sandbox_url: &str) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            sandbox_url: sandbox_url.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
        }
    }

    /// Makes a provider sandbox account of the company `nit` and connects it to the
    /// organization of `bearer`, as its owner would (`PUT /v1/organization/provider`).
    async fn connect_sandbox_account(&self, bearer: &str, nit: &str) -> anyhow::Result<()> {
        let tag = unique("bench");
        let credentials = json!({"client_id": tag, "client_secret": tag, "username": format!("{tag}@bench.example.co"),
                                 "password": tag});
        let mut account = credentials.clone();
        account["company"] = json!({"nit": nit, "name": "Bench SAS"});
        let made = self
            .client
            .post(format!("{}/_sandbox/accounts", self.sandbox_url))
            .json(&account)
            .send()
            .await?;
        self.json(made, 201).await?;
        let mut connect = credentials;
        connect["environment"] = json!("sandbox");
        let connected = self
            .client
            .put(format!("{}/v1/organization/provider", self.url))
            .bearer_auth(bearer)
            .json(&connect)
            .send()
            .await?;
        self.json(connected, 200).await?;
        Ok(())
    }

    pub async fn json(&self, response: reqwest::Response, expected: u16) -> anyhow::Result<Value> {
        let status = response.status().as_u16();
        let body = response.text().await?;
        if status != expected {
            bail!("expected {expected}, got {status}: {body}");
        }
        Ok(serde_json::from_str(&body)?)
    }

    pub async fn get(&self, bearer: &str, path: &str) -> anyhow::Result<Value> {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .bearer_auth(bearer)
            .send()
            .await?;
        self.json(response, 200).await
    }

    /// Signs a new organization up, connects a provider sandbox account of its own, and gives it
    /// an invoice that has ended and a one-invoice batch.
    pub async fn account(&self) -> anyhow::Result<Account> {
        let (number, dv) = nit();
        let (email, password) = (format!("{}@example.co", unique("bench")), unique("password"));
        let signup = self
            .client
            .post(format!("{}/v1/auth/signup", self.url))
            .json(
                &json!({"organization": {"name": "Bench SAS", "nit": number, "dv": dv},
                          "email": email, "password": password, "full_name": "Bench"}),
            )
            .send()
            .await?;
        let signup = self.json(signup, 201).await?;
        let access = text(&signup["tokens"]["access_token"])?;
        self.connect_sandbox_account(&access, &number).await?;
        let invoice_id = self.create_invoice(&access, &unique("BENCH")).await?;
        self.wait_until_ended(&access, &format!("/v1/invoices/{invoice_id}"))
            .await?;
        let batch_id = self.post_csv(&access, &csv(&unique("BENCH"), 1)).await?.0;
        Ok(Account {
            refresh: text(&signup["tokens"]["refresh_token"])?,
            org_id: text(&signup["organization"]["id"])?,
            access,
            email,
            password,
            invoice_id,
            batch_id,
        })
    }

    pub async fn create_invoice(&self, bearer: &str, reference_code: &str) -> anyhow::Result<String> {
        let response = self
            .client
            .post(format!("{}/v1/invoices", self.url))
            .bearer_auth(bearer)
            .json(&invoice(reference_code))
            .send()
            .await?;
        text(&self.json(response, 202).await?["id"])
    }

    /// Posts a CSV batch; its id and how long the 202 took.
    pub async fn post_csv(&self, bearer: &str, csv: &str) -> anyhow::Result<(String, Duration)> {
        let started = std::time::Instant::now();
        let response = self
            .client
            .post(format!("{}/v1/batches", self.url))
            .bearer_auth(bearer)
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
            .await?;
        let elapsed = started.elapsed();
        Ok((text(&self.json(response, 202).await?["id"])?, elapsed))
    }

    /// Polls an invoice or batch until its status has ended.
    pub async fn wait_until_ended(&self, bearer: &str, path: &str) -> anyhow::Result<Value> {
        let ended = [
            "accepted",
            "rejected",
            "failed",
            "completed",
            "completed_with_errors",
        ];
        for _ in 0..6_000 {
            let resource = self.get(bearer, path).await?;
            if ended.contains(&resource["status"].as_str().unwrap_or_default()) {
                return Ok(resource);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("{path} did not end in 10 minutes")
    }
}

pub fn text(value: &Value) -> anyhow::Result<String> {
    value
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("not a string: {value}"))
}

/// The first file of `events/<function>/`, its placeholders filled for `account`.
pub fn event(events_dir: &Path, function: &str, account: &Account) -> anyhow::Result<String> {
    let mut files: Vec<_> = std::fs::read_dir(events_dir.join(function))
        .with_context(|| format!("events/{function}"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let file = files
        .first()
        .with_context(|| format!("events/{function} is empty"))?;
    Ok(account.placeholders().fill(&std::fs::read_to_string(file)?))
}
