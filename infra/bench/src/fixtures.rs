//! What the measurements need from the API: an organization, invoices, batches, and the files of
//! `events/` with their placeholders filled for them.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// The API of the stack under measure.
#[derive(Clone)]
pub struct Api {
    pub url: String,
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

/// A name no other run uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::generate().to_string().to_lowercase())
}

/// The documented example invoice with `reference_code`.
pub fn invoice(reference_code: &str) -> Value {
    json!({
        "reference_code": reference_code, "payment_form": "credit", "payment_due_date": "2026-12-31",
        "payment_method_code": "10", "numbering_range_id": 8, "currency": "COP",
        "customer": {"identification_type": "NIT", "identification": "900123456", "dv": "8",
                     "legal_organization": "company", "name": "ACME SAS", "email": "ap@acme.co",
                     "address": "Cra 7 # 71-21", "phone": "3001234567", "municipality_code": "11001"},
        "items": [{"code_reference": "SKU-1", "name": "Widget", "quantity": "2", "price": "10000.00",
                   "tax_rate": "19", "withholding_taxes": [{"code": "06", "rate": "2.5"}]}]
    })
}

pub const CSV_HEADER: &str = "reference_code,payment_form,customer_identification_type,customer_identification,customer_dv,customer_legal_organization,customer_name,customer_email,item_code,item_name,quantity,price,tax_rate,withholding_taxes";

/// A valid CSV batch of `count` one-item invoices named `<prefix>-<n>`.
pub fn csv(prefix: &str, count: usize) -> String {
    let mut text = format!("{CSV_HEADER}\n");
    for n in 0..count {
        text.push_str(&format!(
            "{prefix}-{n:05},cash,NIT,900123456,8,company,ACME SAS,ap@acme.co,SKU-1,Widget,2,10000.00,19,06:2.5\n"
        ));
    }
    text
}

impl Api {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
        }
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

    /// Signs a new organization up, with an invoice that has ended and a one-invoice batch.
    pub async fn account(&self) -> anyhow::Result<Account> {
        let number = format!("9{:08}", ulid::Ulid::generate().random() % 100_000_000);
        let dv = shared::domain::nit::check_digit(&number).context("a NIT")?;
        let (email, password) = (format!("{}@example.co", unique("bench")), unique("password"));
        let signup = self
            .client
            .post(format!("{}/v1/auth/signup", self.url))
            .json(
                &json!({"organization": {"name": "Bench SAS", "nit": number, "dv": dv.to_string()},
                          "email": email, "password": password, "full_name": "Bench"}),
            )
            .send()
            .await?;
        let signup = self.json(signup, 201).await?;
        let access = text(&signup["tokens"]["access_token"])?;
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
    Ok(fill(&std::fs::read_to_string(file)?, account))
}

/// `text` with the placeholders of `events/` filled for `account`.
pub fn fill(text: &str, account: &Account) -> String {
    text.replace("${ACCESS_TOKEN}", &account.access)
        .replace("${REFRESH_TOKEN}", &account.refresh)
        .replace("${EMAIL}", &account.email)
        .replace("${PASSWORD}", &account.password)
        .replace("${UNIQUE}", &unique("bench"))
        .replace("${INVOICE_ID}", &account.invoice_id)
        .replace("${ORG_ID}", &account.org_id)
        .replace("${BATCH_ID}", &account.batch_id)
}
