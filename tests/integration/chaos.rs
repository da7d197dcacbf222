//! A 500-invoice batch under everything at once: 5xx, timeouts that hide an issue, DIAN slow,
//! DIAN rejections (each of which blocks the whole account until deleted), injected 429s,
//! duplicated deliveries and lost acknowledgements, all at the pace of the account's budget
//! (which the sandbox enforces as Factus does). Every invoice ends in one terminal state, none is
//! issued twice, no rejected bill is left pending, and the sandbox answers no 429 of its own.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};
use shared::provider::provider_reference;

use crate::support::accounts::signup;
use crate::support::batches::{ENDED, all_pages, post, wait_for};
use crate::support::invoices::example;
use crate::support::{local_only, sandbox};

const INVOICES: usize = 500;

#[tokio::test]
async fn a_500_invoice_batch_under_every_fault_ends_each_invoice_once_at_the_accounts_pace() {
    let Some(_) = local_only("the provider sandbox's faults and records") else {
        return;
    };
    let account = signup().await;
    let prefix = provider_reference(&account.org_id, "CHAOS");
    sandbox::set_faults(json!({
        "reference_prefix": prefix, "error_rate": 0.05, "timeout_rate": 0.02, "dian_slow_rate": 0.03,
        "dian_rejection_rate": 0.02, "rate_limit_rate": 0.02, "seed": 20261130
    }))
    .await;
    sandbox::set_delivery_faults(
        &account.org_id,
        json!({"duplicate_rate": 0.1, "drop_ack_rate": 0.05}),
    )
    .await;
    let invoices: Vec<Value> = (0..INVOICES)
        .map(|n| {
            let mut invoice = example();
            invoice["reference_code"] = json!(format!("CHAOS-{n:04}"));
            invoice
        })
        .collect();
    let started = Instant::now();

    let response = post(
        &account,
        "application/json",
        json!({"invoices": invoices}).to_string(),
        None,
        "",
    )
    .await;
    assert_eq!(response.status(), 202);
    let batch: Value = response.json().await.unwrap();
    let id = batch["id"].as_str().unwrap();
    let ended = wait_for(&account, id, &ENDED).await;
    let elapsed = started.elapsed();
    sandbox::clear_faults(&prefix).await;
    sandbox::clear_delivery_faults(&account.org_id).await;

    let listed = all_pages(&account, &format!("/v1/batches/{id}/invoices?limit=100")).await;
    assert_eq!(listed.len(), INVOICES, "every invoice is listed once");
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for invoice in &listed {
        *by_status
            .entry(invoice["status"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let stats = sandbox::stats(&prefix).await;
    let issued: BTreeMap<String, u64> = serde_json::from_value(stats["issued"].clone()).unwrap();
    for invoice in &listed {
        let status = invoice["status"].as_str().unwrap();
        assert!(["accepted", "rejected", "failed"].contains(&status), "{invoice}");
        let reference = provider_reference(&account.org_id, invoice["reference_code"].as_str().unwrap());
        let times = issued.get(&reference).copied().unwrap_or(0);
        assert_eq!(
            times,
            u64::from(status == "accepted"),
            "{reference} is {status}, issued {times}"
        );
        if status == "rejected" {
            assert_eq!(invoice["provider_cleared"], true, "{invoice}");
        }
    }
    assert_eq!(ended["accepted"], by_status.get("accepted").copied().unwrap_or(0));
    assert_eq!(
        stats["pending"],
        json!({}),
        "no bill left pending at the provider"
    );
    assert_eq!(
        stats["rate_limited"], 0,
        "the sandbox had to refuse none of our calls"
    );
    sandbox::assert_bodies_conform(&prefix).await;
    eprintln!(
        "chaos: {INVOICES} invoices ended in {:.1} s: {by_status:?}; the sandbox: {} bills deleted, \
         {} injected 429s, {} real 429s; sends received: {}",
        elapsed.as_secs_f64(),
        stats["deleted"].as_object().map_or(0, |deleted| deleted.len()),
        stats["injected_rate_limited"],
        stats["rate_limited"],
        sandbox::created_bodies(&prefix).await.len(),
    );
}
