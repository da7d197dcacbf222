//! The provider account as a whole: a pending bill blocks it (one of ours is settled by the
//! next worker; one invoicer did not send makes invoices wait, not fail), an exhausted
//! subscription and the rate limit make invoices wait without spending their receives (so
//! none reaches the dead-letter queue), and every body sent keeps Factus's field rules.

use std::time::Duration;

use serde_json::{Value, json};
use shared::provider::provider_reference;

use crate::submission::{TERMINAL, body_of, create, example_as};
use crate::support::accounts::{Account, signup};
use crate::support::invoices::{get, wait_for};
use crate::support::sandbox;
use crate::support::{local_only, unique};

/// The states of an invoice that waits (between two attempts, or in one).
const WAITING: [&str; 2] = ["queued", "submitting"];

/// The example, for a customer whose NIT's check digit DIAN refuses (rule FAK24): a body that
/// passes Factus's input validation and is persisted, rejected, pending.
fn wrong_check_digit(body: &Value, reference: &str) -> Value {
    let mut body = body.clone();
    body["reference_code"] = json!(reference);
    body["customer"]["dv"] = json!("3");
    body
}

/// Leaves a bill DIAN rejected pending at the provider under `reference`, as a client that
/// never deleted it would (retrying while another pending bill blocks the account a moment).
async fn leave_rejected_bill(account: &Account, reference: &str) {
    let body = wrong_check_digit(&body_of(account, &example_as("X")), reference);
    for _ in 0..1_200 {
        let (status, answer) = sandbox::create_bill(&account.org_id, &body).await;
        if status == 422 && answer.to_string().contains("FAK24") {
            return;
        }
        assert!([409, 429].contains(&status), "{status}: {answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the sandbox stayed blocked");
}

/// Polls an invoice until `check` holds (`Ok`), or gives up after three minutes (`Err`, the
/// last seen): a bound, not a timing assertion.
async fn poll_until(account: &Account, id: &str, check: impl Fn(&Value) -> bool) -> Result<Value, Value> {
    let mut last = Value::Null;
    for _ in 0..1_800 {
        let (_, invoice) = get(account, &format!("/v1/invoices/{id}")).await;
        if check(&invoice) {
            return Ok(invoice);
        }
        last = invoice;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last)
}

async fn wait_until(account: &Account, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    poll_until(account, id, check)
        .await
        .unwrap_or_else(|last| panic!("the invoice never got there: {last}"))
}

#[tokio::test]
async fn a_rejected_bill_of_ours_left_pending_is_deleted_by_the_next_worker_that_meets_the_block() {
    let Some(_) = local_only("the provider sandbox") else {
        return;
    };
    let account = signup().await;
    let ghost = provider_reference(&account.org_id, &unique("GHOST"));
    leave_rejected_bill(&account, &ghost).await;
    assert_eq!(sandbox::pending(&ghost).await.len(), 1, "the account is blocked");

    let id = create(&account, &example_as("AFTER-GHOST")).await;
    let invoice = wait_for(&account, &id, &TERMINAL).await;

    assert_eq!(invoice["status"], "accepted", "{invoice}");
    assert!(
        sandbox::pending(&ghost).await.is_empty(),
        "the rejected bill was deleted"
    );
    assert_eq!(sandbox::stats(&ghost).await["deleted"][&ghost], 1);
}

#[tokio::test]
async fn a_pending_bill_invoicer_did_not_send_makes_invoices_wait_and_never_fail() {
    let Some(_) = local_only("the provider sandbox") else {
        return;
    };
    let account = signup().await;
    let foreign = unique("FOREIGN");
    leave_rejected_bill(&account, &foreign).await;

    let id = create(&account, &example_as("BLOCKED")).await;
    let waiting = poll_until(&account, &id, |invoice| {
        invoice["last_error"]
            .as_str()
            .is_some_and(|error| error.contains("did not send"))
    })
    .await;
    let left_alone = sandbox::pending(&foreign).await.len();
    // Unblocked whatever happened, before anything is asserted: it blocks every test's invoices.
    assert_eq!(sandbox::delete_bill(&account.org_id, &foreign).await, 200);
    let waiting = waiting.unwrap_or_else(|last| panic!("never told why it waits: {last}"));
    // Told why, not blamed: it waits in the queue.
    assert!(
        WAITING.contains(&waiting["status"].as_str().unwrap()),
        "{waiting}"
    );
    assert_eq!(left_alone, 1, "invoicer leaves a bill it did not send alone");
    let invoice = wait_for(&account, &id, &TERMINAL).await;
    assert_eq!(invoice["status"], "accepted", "{invoice}");
}

/// The example under a fresh reference code starting with `name`, submitted while the sandbox
/// applies `faults` to it, waits (told `why`) for more attempts than the queue allows receives
/// (4 locally), so waiting spent none of them; once the faults end, it is issued.
async fn waits_past_every_receive(name: &str, mut faults: Value, why: &str) {
    let account = signup().await;
    let prefix = provider_reference(&account.org_id, name);
    faults["reference_prefix"] = json!(prefix);
    sandbox::set_faults(faults).await;
    let id = create(&account, &example_as(name)).await;

    let waiting = wait_until(&account, &id, |invoice| invoice["attempts"].as_u64() >= Some(6)).await;
    assert!(
        WAITING.contains(&waiting["status"].as_str().unwrap()),
        "{waiting}"
    );
    assert!(waiting["last_error"].as_str().unwrap().contains(why), "{waiting}");

    sandbox::clear_faults(&prefix).await;
    let invoice = wait_for(&account, &id, &TERMINAL).await;
    assert_eq!(invoice["status"], "accepted", "{invoice}");
}

#[tokio::test]
async fn an_exhausted_subscription_makes_invoices_wait_past_every_receive_never_rejected() {
    let Some(_) = local_only("the provider sandbox's faults") else {
        return;
    };
    waits_past_every_receive("PAYMENT", json!({"payment_required": true}), "subscription").await;
}

#[tokio::test]
async fn the_providers_429_holds_the_accounts_calls_and_spends_no_receive() {
    let Some(_) = local_only("the provider sandbox's faults") else {
        return;
    };
    waits_past_every_receive(
        "LIMITED",
        json!({"rate_limit_rate": 1.0, "seed": 2}),
        "rate limit",
    )
    .await;
}

#[tokio::test]
async fn every_kind_of_invoice_goes_out_as_factus_documents_it_and_is_accepted() {
    let Some(_) = local_only("the provider sandbox's records") else {
        return;
    };
    let account = signup().await;
    let person = json!({"identification_type": "CC", "identification": "1020304050",
                        "legal_organization": "person", "name": "Ana María Pérez", "email": "ana@correo.co"});
    let variants = [
        json!({"items": [{"code_reference": "B", "name": "Libro", "quantity": "1.5", "price": "48000.50", "is_excluded": true,
                          "discount_amount": "1000.25"}]}),
        json!({"items": [{"code_reference": "M", "name": "Menú", "quantity": 3, "price": 25000,
                          "taxes": [{"code": "04", "rate": "8"}], "discount_rate": "12.5"}]}),
        json!({"customer": person, "payment_form": "cash", "payment_due_date": null, "send_email": false,
               "items": [{"code_reference": "S", "name": "Servicio", "quantity": 1, "price": "1000000",
                          "taxes": [{"code": "01", "rate": 19}, {"code": "04", "rate": 16}],
                          "withholding_taxes": [{"code": "05", "rate": "15"}, {"code": "06", "rate": "4"}, {"code": "07", "rate": "0.97"}]},
                         {"code_reference": "K", "name": "Harina", "quantity": "2.25", "price": "3100", "tax_rate": 5, "unit_measure": "KGM"}]}),
    ];
    let mut ids = Vec::new();
    for (index, variant) in variants.iter().enumerate() {
        let mut body = example_as(&format!("KIND{index}"));
        for (key, value) in variant.as_object().unwrap() {
            body[key] = value.clone();
        }
        ids.push(create(&account, &body).await);
    }
    for id in ids {
        let invoice = wait_for(&account, &id, &TERMINAL).await;
        assert_eq!(invoice["status"], "accepted", "{invoice}");
        assert_eq!(invoice["totals"]["payable"], invoice["totals"]["total"]);
    }
    sandbox::assert_bodies_conform(&provider_reference(&account.org_id, "KIND")).await;
}

#[tokio::test]
async fn reservations_of_the_shared_budget_never_overlap_and_stop_at_the_horizon() {
    let Some(stack) = local_only("the stack's table") else {
        return;
    };
    let store = shared::store::Store::new(
        &crate::support::emulator_sdk().await,
        stack.reference("Table").unwrap(),
    );
    let pacer = shared::provider::Pacer::new(store, 600);
    let account = unique("account");
    let lane = shared::provider::pacer::Lane::Submissions;
    let interval = pacer.interval_ms(lane);
    let now = shared::clock::epoch_ms(shared::clock::now());
    let far = now + 3_600_000;
    // Twenty reservers at once, as twenty function instances would.
    let reservations =
        futures_util::future::join_all((0..20).map(|_| pacer.reserve(&account, lane, 5, far))).await;
    let mut starts: Vec<i64> = reservations
        .into_iter()
        .map(|reservation| reservation.unwrap().unwrap().from_ms)
        .collect();
    starts.sort_unstable();
    for pair in starts.windows(2) {
        assert!(
            pair[1] - pair[0] >= 5 * interval,
            "overlapping reservations: {starts:?}"
        );
    }
    // The lane is promised for 100 intervals: nobody may reserve further ahead than asked...
    let busy = pacer.reserve(&account, lane, 1, now + interval).await.unwrap();
    let Err(shared::provider::Paced(wait)) = busy else {
        panic!("reserved past the horizon: {busy:?}");
    };
    assert!(
        wait.as_millis() >= u128::try_from(90 * interval).unwrap(),
        "{wait:?}"
    );
    // ... while the urgent lane, which submissions cannot take, is free.
    let urgent = pacer
        .reserve(&account, shared::provider::pacer::Lane::Urgent, 1, now + interval)
        .await
        .unwrap()
        .unwrap();
    assert!(urgent.from_ms <= shared::clock::epoch_ms(shared::clock::now()));
}
