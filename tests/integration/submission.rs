//! One invoice through the submission pipeline (the worker, the provider sandbox, the
//! dead-letter queue), for each way Factus v2 can answer: accepted with DIAN's notices, rejected
//! by DIAN (and its bill deleted), DIAN slow then accepted, refused by Factus's own validation,
//! failed through the dead-letter queue and retried, issued before a crash and adopted.

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{Value, json};
use shared::domain::invoice::InvoiceInput;
use shared::invoices::Invoice;
use shared::provider::{document_request, provider_reference};
use shared::validation::Problems;

use crate::support::accounts::{Account, signup};
use crate::support::invoices::{example, get, post, wait_for};
use crate::support::sandbox;
use crate::support::{api, http, local_only};

pub const TERMINAL: [&str; 3] = ["accepted", "rejected", "failed"];

pub async fn create(account: &Account, body: &Value) -> String {
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

/// The example with a reference code under `prefix`.
pub fn example_as(prefix: &str) -> Value {
    let mut body = example();
    body["reference_code"] = json!(crate::support::unique(prefix));
    body
}

/// The example under a fresh reference code starting with `name`, submitted while the sandbox
/// applies `faults` to it: the organization, its provider prefix for `name`, and the invoice
/// once it ended.
async fn ended_under(name: &str, mut faults: Value) -> (Account, String, Value) {
    let account = signup().await;
    let prefix = provider_reference(&account.org_id, name);
    faults["reference_prefix"] = json!(prefix);
    sandbox::set_faults(faults).await;
    let id = create(&account, &example_as(name)).await;
    let invoice = wait_for(&account, &id, &TERMINAL).await;
    sandbox::clear_faults(&prefix).await;
    (account, prefix, invoice)
}

#[tokio::test]
async fn an_invoice_is_accepted_with_dians_notices_and_a_cufe_that_verifies() {
    let account = signup().await;
    let body = example();
    let id = create(&account, &body).await;

    let invoice = wait_for(&account, &id, &TERMINAL).await;

    assert_eq!(invoice["status"], "accepted", "{invoice}");
    assert_eq!(invoice["attempts"], 1);
    assert!(invoice["number"].as_str().unwrap().starts_with("SETP"));
    assert!(invoice["accepted_at"].is_string());
    assert!(invoice["public_url"].is_string(), "{invoice}");
    assert!(
        invoice["qr_url"]
            .as_str()
            .unwrap()
            .contains(invoice["cufe"].as_str().unwrap())
    );
    // A valid bill may carry DIAN's notifications; they are kept, and it stays valid.
    assert_eq!(invoice["provider_notices"][0]["rule"], "RUT01", "{invoice}");
    assert_eq!(invoice["provider_errors"], json!([]));
    // Withholdings are the issuer's own: the customer pays the total.
    assert_eq!(invoice["totals"]["payable"], invoice["totals"]["total"]);
    let Some(_) = local_only("the provider sandbox, to read the bill back") else {
        return;
    };
    // The provider computed the same total from our net prices, and the CUFE of DIAN's formula.
    let number = invoice["number"].as_str().unwrap();
    let bill = sandbox::data_of(&account.org_id, &format!("/v2/bills/{number}")).await;
    assert_eq!(
        decimal(&bill["totals"]["total"]),
        decimal(&invoice["totals"]["total"]),
        "the provider's total is ours to the cent"
    );
    let range = sandbox::data_of(&account.org_id, "/v2/numbering-ranges/8").await;
    // The issue date and time the CUFE covers, as the invoice's UBL XML states them.
    let xml = sandbox::data_of(&account.org_id, &format!("/v2/bills/{number}/download-xml")).await;
    let xml = String::from_utf8(
        base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            xml["xml_base_64_encoded"].as_str().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let (date, time) = (element(&xml, "cbc:IssueDate"), element(&xml, "cbc:IssueTime"));
    let expected = provider_sandbox::cufe::cufe(&provider_sandbox::cufe::CufeFields {
        number,
        issue_date: &date,
        issue_time: &time,
        value_before_taxes: decimal(&invoice["totals"]["subtotal"]),
        iva: decimal(&invoice["totals"]["tax_total"]),
        inc: Decimal::ZERO,
        ica: Decimal::ZERO,
        payable: decimal(&invoice["totals"]["total"]),
        issuer_nit: bill["company"]["nit"].as_str().unwrap(),
        buyer_identification: invoice["customer"]["identification"].as_str().unwrap(),
        technical_key: range["technical_key"].as_str().unwrap(),
        environment: "2",
    });
    assert_eq!(invoice["cufe"], expected.as_str());
    let prefix = provider_reference(&account.org_id, "");
    assert_eq!(
        sandbox::issued(&prefix)
            .await
            .values()
            .copied()
            .collect::<Vec<_>>(),
        [1]
    );
    sandbox::assert_bodies_conform(&prefix).await;
}

/// The text of the first `<name>` element of an XML document.
fn element(xml: &str, name: &str) -> String {
    let start = xml.find(&format!("<{name}>")).unwrap() + name.len() + 2;
    let end = start + xml[start..].find('<').unwrap();
    xml[start..end].to_owned()
}

#[tokio::test]
async fn a_dian_rejection_is_recorded_rule_by_rule_and_its_bill_deleted_at_once() {
    let Some(_) = local_only("the provider sandbox's DIAN faults and records") else {
        return;
    };
    let (account, prefix, invoice) = ended_under("REJ", json!({"dian_rejection_rate": 1.0, "seed": 3})).await;

    assert_eq!(invoice["status"], "rejected", "{invoice}");
    let errors = invoice["provider_errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    for error in errors {
        assert!(error["rule"].as_str().unwrap().len() >= 4, "a DIAN rule: {error}");
        assert!(error["message"].as_str().unwrap().contains("Rechazo"), "{error}");
    }
    assert_eq!(
        invoice["provider_cleared"], true,
        "the rejected bill is gone from the provider"
    );
    assert_eq!(invoice["number"], Value::Null);
    assert!(
        sandbox::pending(&prefix).await.is_empty(),
        "nothing blocks the account"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, again) = get(
        &account,
        &format!("/v1/invoices/{}", invoice["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(again["attempts"], 1, "a rejection is final");
    assert!(sandbox::issued(&prefix).await.is_empty());
    sandbox::assert_bodies_conform(&prefix).await;
}

#[tokio::test]
async fn dian_slow_is_sent_again_with_the_same_body_never_deleted_and_ends_accepted() {
    let Some(_) = local_only("the provider sandbox's DIAN faults and records") else {
        return;
    };
    let (account, prefix, invoice) = ended_under("SLOW", json!({"dian_slow_rate": 1.0, "seed": 5})).await;

    assert_eq!(invoice["status"], "accepted", "{invoice}");
    let reference = provider_reference(&account.org_id, invoice["reference_code"].as_str().unwrap());
    let sent = sandbox::created_bodies(&prefix).await;
    assert!(
        sent.len() >= 2,
        "sent again after DIAN's silence: {} sends",
        sent.len()
    );
    assert!(
        sent.windows(2).all(|pair| pair[0] == pair[1]),
        "the same body each time"
    );
    let stats = sandbox::stats(&prefix).await;
    assert_eq!(stats["issued"][&reference], 1);
    assert!(
        stats["deleted"].get(&reference).is_none(),
        "a slow bill is never deleted: {stats}"
    );
    sandbox::assert_bodies_conform(&prefix).await;
}

#[tokio::test]
async fn factus_own_validation_rejects_with_its_fields_and_leaves_nothing_to_clear() {
    let Some(_) = local_only("the provider sandbox's faults") else {
        return;
    };
    let (_, prefix, invoice) = ended_under("INVALID", json!({"validation_error_rate": 1.0, "seed": 9})).await;

    assert_eq!(invoice["status"], "rejected", "{invoice}");
    let errors = invoice["provider_errors"].as_array().unwrap();
    assert!(!errors.is_empty() && errors.iter().all(|e| e["message"].is_string()));
    assert_eq!(
        invoice["provider_cleared"],
        Value::Null,
        "the provider kept nothing"
    );
    assert!(sandbox::pending(&prefix).await.is_empty());
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

    let failed = wait_for(&account, &id, &TERMINAL).await;

    assert_eq!(failed["status"], "failed");
    // One attempt per receive, then the dead-letter queue after MaxReceiveCount (4) receives.
    // Under load the emulator's long poll can hand a message out a time or two past it (it
    // sweeps to the dead-letter queue and collects with two clocks); AWS does not.
    let attempts = failed["attempts"].as_u64().unwrap();
    assert!((4..=6).contains(&attempts), "{attempts} attempts: {failed}");
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
    let accepted = wait_for(&account, &id, &TERMINAL).await;
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

/// The body invoicer's client sends for `body` in `account`'s organization.
pub fn body_of(account: &Account, body: &Value) -> Value {
    let mut problems = Problems::new();
    let json = shared::json::parse(body.to_string().as_bytes()).unwrap();
    let input = InvoiceInput::parse(&json, "", &mut problems).unwrap();
    let invoice = Invoice::new(
        shared::ids::new_id(),
        &account.org_id,
        None,
        input,
        "2026-11-22T00:00:00Z",
    );
    document_request(&invoice)
}

/// Issues `body` at the provider directly, as a worker that crashed right after would have
/// (retrying while another test's pending bill blocks the account for a moment).
async fn issue_at_the_provider(account: &Account, body: &Value) -> Value {
    for _ in 0..100 {
        let (status, answer) = sandbox::create_bill(&account.org_id, &body_of(account, body)).await;
        if status == 201 {
            return answer;
        }
        assert!([409, 429].contains(&status), "{status}: {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the sandbox stayed blocked");
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
    assert_eq!(invoice["number"], issued["data"]["number"]);
    assert_eq!(invoice["cufe"], issued["data"]["cufe"]);
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
    assert_eq!(invoice["provider_errors"][0]["rule"], "reference_code");
    assert!(
        invoice["provider_errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("another document")
    );
}

/// The SQS event of one single-invoice message per invoice of `ids`.
fn messages_of(org_id: &str, ids: &[String]) -> Value {
    let template: Value =
        serde_json::from_str(include_str!("../../events/submit-worker/one-invoice.json")).unwrap();
    let records: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let mut record = template["Records"][0].clone();
            record["messageId"] = json!(format!("message-{n}"));
            record["receiptHandle"] = json!(format!("receipt-{n}"));
            record["body"] = json!(json!({"org_id": org_id, "invoice_id": id}).to_string());
            record
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test]
async fn a_worker_whose_provider_answers_near_its_timeout_loses_no_outcome_and_issues_nothing_twice() {
    let Some(state) = local_only("a worker process of its own, killed at its timeout") else {
        return;
    };
    let account = signup().await;
    // The stack's own worker never sees these invoices: the poller loses their messages.
    sandbox::set_delivery_faults(&account.org_id, json!({"lose_rate": 1.0})).await;
    let prefix = provider_reference(&account.org_id, "NEAREND");
    sandbox::set_faults(
        json!({"reference_prefix": prefix, "latency_ms": 1800, "dian_slow_rate": 0.5, "seed": 21}),
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(create(&account, &example_as("NEAREND")).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Every call takes 1.8 s of a 4.5 s invocation; a bill DIAN is slow on is sent again a
    // second later. The process is killed at its timeout, as Lambda would.
    let timeout = Duration::from_millis(4500);
    let environment = crate::support::runtime::environment_of("submit-worker", &state.emulator_url);
    let worker =
        crate::support::runtime::LoneFunction::start_with_timeout("submit-worker", &environment, timeout)
            .await;
    let _ = tokio::time::timeout(timeout, worker.invoke(messages_of(&account.org_id, &ids))).await;
    drop(worker);

    let issued = sandbox::issued(&prefix).await;
    for id in &ids {
        let (_, invoice) = get(&account, &format!("/v1/invoices/{id}")).await;
        let reference = provider_reference(&account.org_id, invoice["reference_code"].as_str().unwrap());
        if issued.contains_key(&reference) {
            assert_ne!(
                invoice["status"], "submitting",
                "issued, but its outcome was lost: {invoice}"
            );
        }
    }

    // Deliveries and the provider work again: the recovery path ends every invoice, each once.
    sandbox::clear_faults(&prefix).await;
    sandbox::clear_delivery_faults(&account.org_id).await;
    for id in &ids {
        let invoice = wait_for(&account, id, &TERMINAL).await;
        assert_eq!(invoice["status"], "accepted", "{invoice}");
    }
    let issued = sandbox::issued(&prefix).await;
    assert_eq!(issued.len(), ids.len());
    assert!(
        issued.values().all(|count| *count == 1),
        "issued twice: {issued:?}"
    );
}
