//! The submission pipeline end to end: the worker, the provider (the sandbox), the dead-letter
//! queue. Every invoice ends in exactly one terminal state and is issued at most once.

use std::collections::BTreeMap;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{Value, json};
use shared::domain::cufe::{CufeFields, cufe};
use shared::domain::invoice::InvoiceInput;
use shared::invoices::Invoice;
use shared::provider::{provider_reference, validate_request};
use shared::validation::Problems;

use crate::support::accounts::{Account, signup};
use crate::support::invoices::wait_for;
use crate::support::invoices::{example, get, post};
use crate::support::sandbox;
use crate::support::{api, http, local_only};

const TERMINAL: [&str; 3] = ["accepted", "rejected", "failed"];

async fn create(account: &Account, body: &Value) -> String {
    let response = post(account, body, None).await;
    assert_eq!(response.status(), 202);
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn decimal(value: &Value) -> Decimal {
    Decimal::from_str_exact(value.as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_created_invoice_is_accepted_with_a_number_and_a_cufe_that_verifies() {
    let account = signup().await;
    let body = example();
    let id = create(&account, &body).await;

    let invoice = wait_for(&account, &id, &TERMINAL).await;

    assert_eq!(invoice["status"], "accepted", "{invoice}");
    assert_eq!(invoice["attempts"], 1);
    assert!(invoice["number"].as_str().unwrap().starts_with("SETP"));
    assert!(invoice["accepted_at"].is_string());
    assert!(
        invoice["qr_url"]
            .as_str()
            .unwrap()
            .contains(invoice["cufe"].as_str().unwrap())
    );
    // The CUFE, recomputed from the bill as the provider holds it and DIAN's formula.
    let Some(_) = local_only("the provider sandbox's credentials, to read the bill back") else {
        return;
    };
    let token = sandbox::token().await;
    let number = invoice["number"].as_str().unwrap();
    let show: Value = http()
        .get(sandbox::url(&format!("/v1/bills/show/{number}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ranges: Value = http()
        .get(sandbox::url("/v1/numbering-ranges"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bill = &show["data"]["bill"];
    let range = ranges["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == bill["numbering_range_id"])
        .unwrap();
    assert_eq!(
        decimal(&bill["total"]),
        decimal(&invoice["totals"]["total"]),
        "the provider's total is ours to the cent"
    );
    let expected = cufe(&CufeFields {
        number,
        issue_date: bill["issue_date"].as_str().unwrap(),
        issue_time: bill["issue_time"].as_str().unwrap(),
        value_before_taxes: decimal(&invoice["totals"]["subtotal"]),
        iva: decimal(&invoice["totals"]["tax_total"]),
        inc: Decimal::ZERO,
        ica: Decimal::ZERO,
        payable: decimal(&invoice["totals"]["total"]),
        issuer_nit: ranges["issuer_nit"].as_str().unwrap(),
        buyer_identification: invoice["customer"]["identification"].as_str().unwrap(),
        technical_key: range["technical_key"].as_str().unwrap(),
        environment: "2",
    });
    assert_eq!(invoice["cufe"], expected.as_str());
    let issued = sandbox::issued(&provider_reference(&account.org_id, "")).await;
    assert_eq!(issued.values().copied().collect::<Vec<_>>(), [1]);
}

#[tokio::test]
async fn a_rejected_invoice_keeps_the_providers_messages_and_is_not_tried_again() {
    let Some(_) = local_only("the provider sandbox's rejection trigger and records") else {
        return;
    };
    let account = signup().await;
    let mut body = example();
    body["items"][0]["code_reference"] = json!("SANDBOX-REJECT");
    let id = create(&account, &body).await;

    let invoice = wait_for(&account, &id, &TERMINAL).await;

    assert_eq!(invoice["status"], "rejected");
    assert_eq!(
        invoice["provider_errors"],
        json!(["items.0.code_reference: Rechazo de prueba del sandbox."])
    );
    assert_eq!(invoice["number"], Value::Null);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, again) = get(&account, &format!("/v1/invoices/{id}")).await;
    assert_eq!(again["attempts"], 1, "a rejection is final");
    assert!(
        sandbox::issued(&provider_reference(&account.org_id, ""))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn under_faults_and_duplicate_deliveries_every_invoice_ends_once_and_is_issued_at_most_once() {
    let Some(_) = local_only("the provider sandbox's fault control and records") else {
        return;
    };
    let account = signup().await;
    let prefix = provider_reference(&account.org_id, "");
    sandbox::set_faults(json!({"reference_prefix": prefix, "error_rate": 0.2, "timeout_rate": 0.05, "rate_limit_rate": 0.05, "seed": 7})).await;
    sandbox::set_delivery_faults(&account.org_id, 0.1, 0.05).await;

    let mut ids = Vec::new();
    let numbers: Vec<u32> = (0..300).collect();
    for chunk in numbers.chunks(20) {
        let batch = chunk.iter().map(|i| {
            let account = account.clone();
            let mut body = example();
            body["reference_code"] = json!(format!("CHAOS-{i:03}"));
            async move { create(&account, &body).await }
        });
        ids.extend(futures_util::future::join_all(batch).await);
    }

    let mut statuses: BTreeMap<String, String> = BTreeMap::new();
    for _ in 0..900 {
        let (_, queued) = get(&account, "/v1/invoices?status=queued&limit=1").await;
        let (_, submitting) = get(&account, "/v1/invoices?status=submitting&limit=1").await;
        if queued["data"].as_array().unwrap().is_empty() && submitting["data"].as_array().unwrap().is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    sandbox::clear_faults(&prefix).await;
    sandbox::clear_delivery_faults(&account.org_id).await;
    let mut references = BTreeMap::new();
    let mut path = "/v1/invoices?limit=100".to_owned();
    loop {
        let (_, page) = get(&account, &path).await;
        for invoice in page["data"].as_array().unwrap() {
            statuses.insert(
                invoice["id"].as_str().unwrap().to_owned(),
                invoice["status"].as_str().unwrap().to_owned(),
            );
            references.insert(
                invoice["id"].as_str().unwrap().to_owned(),
                invoice["reference_code"].as_str().unwrap().to_owned(),
            );
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/invoices?limit=100&cursor={cursor}"),
            None => break,
        }
    }

    let listed: std::collections::BTreeSet<&String> = statuses.keys().collect();
    assert_eq!(
        listed,
        ids.iter().collect(),
        "every created invoice is listed once"
    );
    let waiting: Vec<_> = statuses
        .iter()
        .filter(|(_, s)| !TERMINAL.contains(&s.as_str()))
        .collect();
    assert!(waiting.is_empty(), "invoices left waiting: {waiting:?}");
    let issued = sandbox::issued(&prefix).await;
    assert!(
        issued.values().all(|count| *count == 1),
        "a reference issued twice: {issued:?}"
    );
    for (id, status) in &statuses {
        let reference = provider_reference(&account.org_id, &references[id]);
        let expected = u64::from(status == "accepted");
        assert_eq!(
            issued.get(&reference).copied().unwrap_or(0),
            expected,
            "{id} is {status}"
        );
    }
    let accepted = statuses.values().filter(|s| *s == "accepted").count();
    assert!(
        accepted > 250,
        "only {accepted} of 300 accepted: {:?}",
        statuses.values().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_invoice_that_always_fails_ends_failed_through_the_dead_letter_queue_and_a_retry_issues_it() {
    let Some(_) = local_only("the provider sandbox's fault control and records") else {
        return;
    };
    let account = signup().await;
    let mut body = example();
    body["reference_code"] = json!("ALWAYS-FAILS-1");
    let prefix = provider_reference(&account.org_id, "ALWAYS-FAILS");
    sandbox::set_faults(json!({"reference_prefix": prefix, "error_rate": 1.0, "seed": 1})).await;
    let id = create(&account, &body).await;

    let failed = wait_for(&account, &id, &["failed", "accepted", "rejected"]).await;

    assert_eq!(failed["status"], "failed");
    assert_eq!(
        failed["attempts"], 4,
        "one attempt per receive, then the dead-letter queue"
    );
    assert!(failed["last_error"].as_str().unwrap().contains("503"), "{failed}");
    sandbox::clear_faults(&prefix).await;
    let retry = http()
        .post(api(&format!("/v1/invoices/{id}/retry")))
        .header("authorization", account.bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 202);
    assert_eq!(retry.json::<Value>().await.unwrap()["status"], "queued");
    let accepted = wait_for(&account, &id, &["accepted", "rejected", "failed"]).await;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(
        sandbox::issued(&prefix)
            .await
            .values()
            .copied()
            .collect::<Vec<_>>(),
        [1]
    );
}

/// Issues `body` at the provider directly, as a worker that crashed right after would have.
async fn issue_at_the_provider(account: &Account, body: &Value) -> Value {
    let mut problems = Problems::new();
    let json = shared::json::parse(body.to_string().as_bytes()).unwrap();
    let input = InvoiceInput::parse(&json, "", &mut problems).unwrap();
    let invoice = Invoice::new(&account.org_id, None, input, "2026-11-22T00:00:00Z");
    let answer = http()
        .post(sandbox::url("/v1/bills/validate"))
        .bearer_auth(sandbox::token().await)
        .json(&validate_request(&invoice))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    answer.json().await.unwrap()
}

#[tokio::test]
async fn a_bill_issued_before_a_crash_is_adopted_once_and_a_foreign_one_is_not() {
    let Some(_) = local_only("the provider sandbox's fault control and records") else {
        return;
    };
    let account = signup().await;
    let mut ours = example();
    ours["reference_code"] = json!("CRASHED-1");
    let issued = issue_at_the_provider(&account, &ours).await;
    let id = create(&account, &ours).await;

    let invoice = wait_for(&account, &id, &TERMINAL).await;

    assert_eq!(invoice["status"], "accepted");
    assert_eq!(invoice["number"], issued["data"]["bill"]["number"]);
    assert_eq!(invoice["cufe"], issued["data"]["bill"]["cufe"]);
    let prefix = provider_reference(&account.org_id, "CRASHED");
    assert_eq!(
        sandbox::issued(&prefix)
            .await
            .values()
            .copied()
            .collect::<Vec<_>>(),
        [1]
    );

    let mut foreign = example();
    foreign["reference_code"] = json!("TAKEN-1");
    foreign["customer"]["identification"] = json!("800197268");
    foreign["customer"]["dv"] = json!("4");
    issue_at_the_provider(&account, &foreign).await;
    let mut mine = example();
    mine["reference_code"] = json!("TAKEN-1");
    let id = create(&account, &mine).await;
    let invoice = wait_for(&account, &id, &TERMINAL).await;
    assert_eq!(invoice["status"], "rejected");
    assert!(
        invoice["provider_errors"][0]
            .as_str()
            .unwrap()
            .contains("another document")
    );
}
