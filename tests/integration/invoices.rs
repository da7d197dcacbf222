//! Invoices: exact validation and totals, idempotent creation, tenant-isolated reads and lists,
//! retries only from `failed`, and the recovery of an invoice whose message was never sent.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use shared::provider::provider_reference;

use crate::support::accounts::{member, signup};
use crate::support::events::event;
use crate::support::invoices::{create, example, get, post, wait_for};
use crate::support::runtime::{LoneFunction, environment_of, own_queue};
use crate::support::{api, http, local_only, sandbox, stack, unique};

#[tokio::test]
async fn a_created_invoice_is_queued_with_its_totals_to_the_cent() {
    let account = signup().await;
    let mut body = example();
    body["items"] = json!([
        {"code_reference": "A", "name": "Discounted", "quantity": 3, "price": 33.33, "discount_rate": 10, "tax_rate": 19},
        {"code_reference": "B", "name": "Reduced", "quantity": "1.5", "price": "19.99", "tax_rate": 5,
         "withholding_taxes": [{"code": "06", "rate": "2.5"}, {"code": "05", "rate": 15}]},
        {"code_reference": "C", "name": "Excluded", "quantity": 2, "price": "0.1", "is_excluded": true}
    ]);

    let response = post(&account, &body, None).await;

    assert_eq!(response.status(), 202);
    let invoice: Value = response.json().await.unwrap();
    assert_eq!(invoice["status"], "queued");
    assert_eq!(invoice["attempts"], 0);
    assert_eq!(invoice["organization_id"], account.org_id.as_str());
    assert_eq!(invoice["batch_id"], Value::Null);
    // Amounts are strings with two decimals; quantities and rates exact.
    assert_eq!(invoice["items"][0]["price"], "33.33");
    assert_eq!(invoice["items"][1]["quantity"], "1.5");
    assert_eq!(invoice["items"][2]["price"], "0.10");
    assert_eq!(invoice["items"][2]["tax_rate"], Value::Null, "excluded: no IVA");
    assert_eq!(invoice["items"][2]["taxes"], json!([]));
    assert_eq!(
        invoice["items"][0]["taxes"],
        json!([{"code": "01", "rate": "19"}])
    );
    assert_eq!(invoice["lines"][0]["taxable"], "89.99");
    assert_eq!(invoice["lines"][0]["tax"], "17.10");
    assert_eq!(invoice["lines"][1]["withholding_taxes"][0]["amount"], "0.75");
    assert_eq!(invoice["lines"][1]["withholding_taxes"][1]["amount"], "0.23");
    assert_eq!(
        invoice["totals"],
        json!({
            "subtotal": "120.18", "discount_total": "10.00",
            "taxes": [{"code": "01", "rate": "5", "taxable": "29.99", "amount": "1.50"},
                      {"code": "01", "rate": "19", "taxable": "89.99", "amount": "17.10"}],
            "tax_total": "18.60", "withholding_total": "0.98", "total": "138.78", "payable": "138.78"
        })
    );
    let (status, stored) = get(
        &account,
        &format!("/v1/invoices/{}", invoice["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 200);
    // The worker may have submitted it meanwhile: all but the submission's state is as answered.
    let document = |mut invoice: Value| {
        for state in [
            "status",
            "attempts",
            "last_error",
            "number",
            "cufe",
            "qr_url",
            "public_url",
            "provider_errors",
            "provider_notices",
            "provider_cleared",
            "updated_at",
            "accepted_at",
        ] {
            invoice.as_object_mut().unwrap().remove(state);
        }
        invoice
    };
    assert_eq!(
        document(stored),
        document(invoice),
        "what GET answers is what POST answered"
    );
}

#[tokio::test]
async fn invalid_invoices_are_refused_naming_every_field_and_nothing_is_stored() {
    let account = signup().await;
    let mut cases: Vec<(&str, Value, u16, Vec<&str>)> = Vec::new();
    let mut wrong = example();
    wrong["customer"]["dv"] = json!("1");
    wrong["items"][0]["quantity"] = json!(-2);
    wrong["items"][0]["tax_rate"] = json!(16);
    wrong["items"][0]["surprise"] = json!(1);
    cases.push((
        "several fields",
        wrong,
        422,
        vec![
            "customer.dv",
            "items[0].quantity",
            "items[0].tax_rate",
            "items[0].surprise",
        ],
    ));
    let mut credit = example();
    credit.as_object_mut().unwrap().remove("payment_due_date");
    cases.push(("credit without a due date", credit, 422, vec!["payment_due_date"]));
    let mut typed = example();
    typed["items"] = json!("many");
    typed["customer"]["name"] = json!(["ACME"]);
    cases.push(("wrong types", typed, 422, vec!["customer.name", "items"]));
    cases.push(("not an object", json!([example()]), 422, vec!["body"]));

    for (case, body, status, fields) in cases {
        let response = post(&account, &body, None).await;
        assert_eq!(response.status().as_u16(), status, "{case}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], "VALIDATION_ERROR", "{case}");
        let reported: Vec<&str> = answer["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert_eq!(reported, fields, "{case}");
    }
    for (case, text) in [
        (
            "exponent too large",
            example()
                .to_string()
                .replace(r#""quantity":"2""#, r#""quantity":1e400"#),
        ),
        (
            "30 digits",
            example().to_string().replace(
                r#""price":"10000.00""#,
                r#""price":123456789012345678901234567890"#,
            ),
        ),
    ] {
        let response = http()
            .post(api("/v1/invoices"))
            .header("authorization", account.bearer())
            .header("content-type", "application/json")
            .body(text)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{case}");
    }
    let unreadable = http()
        .post(api("/v1/invoices"))
        .header("authorization", account.bearer())
        .header("content-type", "application/json")
        .body("{\"reference_code\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(unreadable.status(), 400);
    assert_eq!(
        unreadable.json::<Value>().await.unwrap()["error"]["code"],
        "INVALID_JSON"
    );

    let (_, page) = get(&account, "/v1/invoices").await;
    assert_eq!(page["data"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn a_second_invoice_with_a_reference_code_is_a_409_naming_the_first() {
    let account = signup().await;
    let body = example();
    let first: Value = post(&account, &body, None).await.json().await.unwrap();

    let mut again = body.clone();
    again["observation"] = json!("another invoice, same reference");
    let response = post(&account, &again, None).await;

    assert_eq!(response.status(), 409);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "DUPLICATE_REFERENCE");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains(first["id"].as_str().unwrap())
    );
    // Another organization may use the same reference code.
    let other = signup().await;
    assert_eq!(post(&other, &body, None).await.status(), 202);
}

#[tokio::test]
async fn creating_an_invoice_twice_with_one_key_replays_the_first_answer() {
    let account = signup().await;
    let body = example();
    let key = unique("key");

    let first = post(&account, &body, Some(&key)).await;
    assert_eq!(first.status(), 202);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = post(&account, &body, Some(&key)).await;

    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);

    let mut other = body.clone();
    other["observation"] = json!("not the same request");
    let reused = post(&account, &other, Some(&key)).await;
    assert_eq!(reused.status(), 422);
    assert_eq!(
        reused.json::<Value>().await.unwrap()["error"]["code"],
        "IDEMPOTENCY_KEY_REUSED"
    );
    // The same key on another organization is another key.
    let stranger = signup().await;
    assert_eq!(post(&stranger, &body, Some(&key)).await.status(), 202);
}

#[tokio::test]
async fn twenty_concurrent_first_requests_with_one_key_make_one_invoice_and_nineteen_replays() {
    let account = signup().await;
    let body = example();
    let key = unique("key");

    let attempts = (0..20).map(|_| post(&account, &body, Some(&key)));
    let responses = futures_util::future::join_all(attempts).await;

    let mut ids = BTreeSet::new();
    let mut replays = 0;
    for response in responses {
        assert_eq!(response.status(), 202);
        replays += usize::from(response.headers().get("idempotent-replayed").is_some());
        ids.insert(
            response.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(ids.len(), 1, "every twin answers the winner's invoice");
    assert_eq!(replays, 19, "one created it, the others replayed it");
    let (_, page) = get(&account, "/v1/invoices").await;
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        1,
        "exactly one invoice is stored"
    );
}

/// Other organizations' ids and cursors: see the security battery.
#[tokio::test]
async fn a_cursor_pages_only_the_query_it_was_made_for() {
    let owner = signup().await;
    create(&owner).await;
    create(&owner).await;
    let (_, first) = get(&owner, "/v1/invoices?limit=1").await;
    let cursor = first["next_cursor"].as_str().unwrap();

    let (status, answer) = get(
        &owner,
        &format!("/v1/invoices?status=queued&limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("INVALID_CURSOR"))
    );
    assert_eq!(
        get(&owner, &format!("/v1/invoices?limit=1&cursor={cursor}"))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn sixty_invoices_page_by_25_each_exactly_once_newest_first() {
    let account = signup().await;
    let mut created = Vec::new();
    for _ in 0..60 {
        created.push(create(&account).await["id"].as_str().unwrap().to_owned());
    }

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut path = "/v1/invoices?limit=25".to_owned();
    loop {
        let (status, page) = get(&account, &path).await;
        assert_eq!(status, 200);
        let data = page["data"].as_array().unwrap();
        sizes.push(data.len());
        seen.extend(
            data.iter()
                .map(|invoice| invoice["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/invoices?limit=25&cursor={cursor}"),
            None => break,
        }
    }

    created.reverse();
    assert_eq!(seen, created, "every invoice once, newest first");
    assert_eq!(&sizes[..3], [25, 25, 10]);
}

#[tokio::test]
async fn lists_filter_by_status_and_refuse_unknown_filters() {
    let account = signup().await;
    let invoice = create(&account).await;
    let id = invoice["id"].as_str().unwrap();
    let invoice = wait_for(&account, id, &["accepted", "rejected", "failed"]).await;
    let status = invoice["status"].as_str().unwrap();

    let (code, listed) = get(&account, &format!("/v1/invoices?status={status}")).await;
    assert_eq!(code, 200);
    assert!(listed["data"].as_array().unwrap().iter().any(|i| i["id"] == id));
    for other in ["queued", "submitting"] {
        let (_, page) = get(&account, &format!("/v1/invoices?status={other}")).await;
        assert_eq!(page["data"], json!([]), "nothing {other}");
    }
    for (query, field) in [
        ("status=lost", "status"),
        ("batch_id=../etc", "batch_id"),
        ("limit=101", "limit"),
        ("sort=asc", "sort"),
    ] {
        let (status, answer) = get(&account, &format!("/v1/invoices?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(answer["error"]["code"], "INVALID_QUERY", "{query}");
        assert_eq!(answer["error"]["details"][0]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn viewers_read_but_cannot_create_or_retry() {
    let owner = signup().await;
    let viewer = member(&owner, "viewer").await;
    let invoice = create(&owner).await;
    let id = invoice["id"].as_str().unwrap();

    assert_eq!(post(&viewer, &example(), None).await.status(), 403);
    let retry = http()
        .post(api(&format!("/v1/invoices/{id}/retry")))
        .header("authorization", viewer.bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 403);
    assert_eq!(get(&viewer, &format!("/v1/invoices/{id}")).await.0, 200);
    assert_eq!(get(&viewer, "/v1/invoices").await.0, 200);
}

#[tokio::test]
async fn only_a_failed_invoice_can_be_retried() {
    let account = signup().await;
    let invoice = create(&account).await;
    let id = invoice["id"].as_str().unwrap();
    let retry = |path: String| {
        http()
            .post(api(&path))
            .header("authorization", account.bearer())
            .send()
    };

    let response = retry(format!("/v1/invoices/{id}/retry")).await.unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "INVALID_STATE"
    );
    assert_eq!(
        retry("/v1/invoices/01ARZ3NDEKTSV4RRFFQ69G5FAV/retry".to_owned())
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        retry("/v1/invoices/not-an-id/retry".to_owned())
            .await
            .unwrap()
            .status(),
        404
    );
}

/// An invoice Factus's own validation refused (Factus kept no bill: `provider_cleared` null) is
/// corrected through `retry`, keeps its id and reference code, and is accepted; an accepted one
/// cannot be retried at all.
#[tokio::test]
async fn a_rejected_invoice_is_corrected_through_retry_and_accepted() {
    let Some(_) = local_only("the provider sandbox's faults") else {
        return;
    };
    let account = signup().await;
    let code = unique("FIX");
    let prefix = provider_reference(&account.org_id, &code);
    sandbox::set_faults(json!({"reference_prefix": prefix, "validation_error_rate": 1.0, "seed": 1})).await;
    let mut body = example();
    body["reference_code"] = json!(code);
    let response = post(&account, &body, None).await;
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rejected = wait_for(&account, &id, &["accepted", "rejected", "failed"]).await;
    assert_eq!(
        (&rejected["status"], &rejected["provider_cleared"]),
        (&json!("rejected"), &Value::Null),
        "{rejected}"
    );
    sandbox::clear_faults(&prefix).await;

    body["items"][0]["price"] = json!("12500.00");
    let retry = |body: Option<Value>| {
        let request = http()
            .post(api(&format!("/v1/invoices/{id}/retry")))
            .header("authorization", account.bearer())
            .header("idempotency-key", format!("fix-{id}"));
        match body {
            Some(body) => request.json(&body).send(),
            None => request.send(),
        }
    };
    let response = retry(Some(body.clone())).await.unwrap();
    assert_eq!(response.status(), 202);
    let queued: Value = response.json().await.unwrap();
    assert_eq!((&queued["id"], &queued["status"]), (&json!(id), &json!("queued")));
    assert_eq!(queued["totals"]["subtotal"], "25000.00", "the corrected totals");
    let accepted = wait_for(&account, &id, &["accepted", "rejected", "failed"]).await;
    assert_eq!(accepted["status"], "accepted", "{accepted}");
    assert_eq!(accepted["items"][0]["price"], "12500.00");
    // The same retry again replays its answer; without its key, an accepted invoice is 409.
    assert_eq!(retry(Some(body.clone())).await.unwrap().status(), 202);
    let again = http()
        .post(api(&format!("/v1/invoices/{id}/retry")))
        .header("authorization", account.bearer())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
}

/// A queue of the test's own, so that no consumer of the stack takes its messages.
/// Receives from `url` until a message names `invoice_id`; answers its body.
async fn message_for(sqs: &aws_sdk_sqs::Client, url: &str, invoice_id: &str) -> Option<Value> {
    for _ in 0..20 {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in received.messages() {
            let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            if body["invoice_id"] == invoice_id {
                return Some(body);
            }
        }
    }
    None
}

#[tokio::test]
async fn a_created_invoice_is_sent_to_the_submissions_queue() {
    let Some(_) = local_only("to start a function on a queue of its own") else {
        return;
    };
    let (sqs, url) = own_queue().await;
    let mut environment = environment_of("invoices-create", &stack().emulator_url);
    environment.insert("SUBMISSIONS_QUEUE_URL".to_owned(), url.clone());
    let create = LoneFunction::start("invoices-create", &environment).await;

    let answer = create
        .invoke(serde_json::from_str(&event("invoices-create", "create.json").await).unwrap())
        .await
        .unwrap();

    assert_eq!(answer["statusCode"], 202);
    let invoice: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    let message = message_for(&sqs, &url, invoice["id"].as_str().unwrap())
        .await
        .expect("the invoice's message");
    assert_eq!(
        message,
        json!({"org_id": invoice["organization_id"], "invoice_id": invoice["id"]})
    );
}

#[tokio::test]
async fn an_invoice_whose_message_was_never_sent_is_queued_by_the_reconciler() {
    let Some(_) = local_only("to start functions on a broken queue") else {
        return;
    };
    // The create function's queue does not exist: the invoice is stored, its message is lost.
    let mut broken = environment_of("invoices-create", &stack().emulator_url);
    broken.insert(
        "SUBMISSIONS_QUEUE_URL".to_owned(),
        format!("{}/000000000000/{}", stack().emulator_url, unique("gone")),
    );
    broken.insert("RECOVER_AFTER_SECONDS".to_owned(), "1".to_owned());
    let create = LoneFunction::start("invoices-create", &broken).await;
    let answer = create
        .invoke(serde_json::from_str(&event("invoices-create", "create.json").await).unwrap())
        .await
        .unwrap();
    assert_eq!(
        answer["statusCode"], 202,
        "the client's invoice is accepted all the same"
    );
    let invoice: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    let invoice_id = invoice["id"].as_str().unwrap();

    // The reconciler runs on its schedule; here, on a queue of the test's own, right away.
    let (sqs, url) = own_queue().await;
    let mut environment = environment_of("reconciler", &stack().emulator_url);
    environment.insert("SUBMISSIONS_QUEUE_URL".to_owned(), url.clone());
    let reconciler = LoneFunction::start("reconciler", &environment).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let scheduled: Value = serde_json::from_str(&event("reconciler", "scheduled.json").await).unwrap();
    let run = reconciler.invoke(scheduled).await.unwrap();

    assert!(run["requeued"].as_u64().unwrap() >= 1, "{run}");
    let message = message_for(&sqs, &url, invoice_id)
        .await
        .expect("the reconciler queued the invoice");
    assert_eq!(message["org_id"], invoice["organization_id"]);
}
