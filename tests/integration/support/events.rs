//! The files of `events/`, with their placeholders (see `local_stack::examples`) filled for a
//! new account.

use std::path::PathBuf;

use super::accounts::signup;
use super::{batches, invoices};
use local_stack::examples::Placeholders;

pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// The event file `events/<function>/<file>`, filled for `account` and `invoice_id`.
pub fn event_of(function: &str, file: &str, account: &super::accounts::Account, invoice_id: &str) -> String {
    let text = std::fs::read_to_string(events_dir().join(function).join(file)).unwrap();
    Placeholders {
        access_token: account.access.clone(),
        refresh_token: account.refresh.clone(),
        email: account.email.clone(),
        password: account.password.clone(),
        org_id: account.org_id.clone(),
        invoice_id: invoice_id.to_owned(),
        batch_id: String::new(),
    }
    .fill(&text)
}

/// The event file `events/<function>/<file>`, filled for a new account of its own.
pub async fn event(function: &str, file: &str) -> String {
    let text = std::fs::read_to_string(events_dir().join(function).join(file)).unwrap();
    if !text.contains("${") {
        return text;
    }
    let account = signup().await;
    // An invoice that has ended: the stack's own worker is done with it, so an event naming it
    // is answered the same way whoever gets there first.
    let invoice_id = if text.contains("${INVOICE_ID}") {
        let id = invoices::create(&account).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        invoices::wait_for(&account, &id, &["accepted", "rejected", "failed"]).await;
        id
    } else {
        String::new()
    };
    let batch_id = if text.contains("${BATCH_ID}") {
        let body = format!("{}\n{}\n", batches::HEADER, batches::row("EVT-1", "SKU-1"));
        let response = batches::post(&account, "text/csv", body, None, "").await;
        response.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    } else {
        String::new()
    };
    Placeholders {
        access_token: account.access,
        refresh_token: account.refresh,
        email: account.email,
        password: account.password,
        org_id: account.org_id,
        invoice_id,
        batch_id,
    }
    .fill(&text)
}
