//! Batches (lotes): uploads of many invoices as CSV or JSON, stored and queued in bulk, tracked to
//! the end by their counters.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use shared::provider::provider_reference;

use crate::support::accounts::signup;
use crate::support::batches::{ENDED, HEADER, all_pages, csv, post, row, submit_csv_until_ended, wait_for};
use crate::support::invoices::{create, example, get};
use crate::support::runtime::{LoneFunction, environment_of};
use crate::support::sandbox;
use crate::support::{api, http, local_only, unique};

#[tokio::test]
async fn a_1000_invoice_csv_completes_with_exact_counters_and_each_invoice_issued_once() {
    let Some(_) = local_only("the provider sandbox: a thousand bills, and its count of what it issued")
    else {
        return;
    };
    let account = signup().await;

    let response = post(&account, "text/csv", csv("LOTE", 1000), None, "").await;

    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["total"], 1000);
    assert_eq!(answer["invalid_count"], 0);
    let id = answer["id"].as_str().unwrap();
    // A thousand invoices take the provider account's pace: the batch says when they should end.
    let (_, processing) = get(&account, &format!("/v1/batches/{id}")).await;
    if processing["status"] == "processing" {
        let estimate = processing["estimated_completion_at"].as_str().unwrap();
        assert!(
            estimate > processing["created_at"].as_str().unwrap(),
            "{processing}"
        );
    }
    let batch = wait_for(&account, id, &ENDED).await;
    assert_eq!(batch["status"], "completed");
    assert_eq!(batch["estimated_completion_at"], Value::Null);
    assert_eq!(
        (
            batch["total"].clone(),
            batch["accepted"].clone(),
            batch["pending"].clone()
        ),
        (json!(1000), json!(1000), json!(0))
    );
    assert_eq!(
        (batch["rejected"].clone(), batch["failed"].clone()),
        (json!(0), json!(0))
    );
    assert!(batch["completed_at"].is_string());
    let invoices = all_pages(&account, &format!("/v1/batches/{id}/invoices?limit=100")).await;
    assert_eq!(invoices.len(), 1000);
    assert!(
        invoices
            .iter()
            .all(|invoice| invoice["status"] == "accepted" && invoice["batch_id"] == id)
    );
    let issued = sandbox::issued(&provider_reference(&account.org_id, "LOTE-")).await;
    assert_eq!(issued.len(), 1000);
    assert!(issued.values().all(|count| *count == 1));
}

fn mixed_csv() -> String {
    [
        HEADER.to_owned(),
        row("OK-1", "A"),
        row("BAD-1", "A").replace(",2,10000.00,", ",0,10000.00,"),
        row("OK-2", "A"),
        row("BAD-2", "A").replace(",8,company,", ",5,company,"),
        row("OK-1", "B"),
        "BAD-3,cash".to_owned(),
    ]
    .join("\n")
}

#[tokio::test]
async fn a_mixed_csv_stores_the_valid_invoices_and_names_the_bad_lines_and_columns() {
    let account = signup().await;

    let response = post(&account, "text/csv", mixed_csv(), None, "").await;

    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["total"], 2, "OK-1 (two rows) and OK-2");
    assert_eq!(answer["invalid_count"], 3);
    let problems: Vec<(Value, Value, Value)> = answer["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["line"].clone(),
                entry["errors"][0]["field"].clone(),
                entry["errors"][0]["line"].clone(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        [
            (json!(3), json!("quantity"), json!(3)),
            (json!(5), json!("customer_dv"), json!(5)),
            (json!(7), json!("record"), json!(7))
        ]
    );
    let id = answer["id"].as_str().unwrap();
    let errors = all_pages(&account, &format!("/v1/batches/{id}/errors?limit=2")).await;
    assert_eq!(
        errors,
        answer["invalid"].as_array().unwrap().clone(),
        "the errors endpoint lists them all, in order"
    );
    let batch = wait_for(&account, id, &ENDED).await;
    assert_eq!(batch["invalid_count"], 3);
}

#[tokio::test]
async fn all_or_nothing_refuses_a_batch_with_any_invalid_invoice_and_stores_nothing() {
    let account = signup().await;

    let response = post(&account, "text/csv", mixed_csv(), None, "?all_or_nothing=true").await;

    assert_eq!(response.status(), 422);
    let answer: Value = response.json().await.unwrap();
    let fields: Vec<&str> = answer["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["line 3: quantity", "line 5: customer_dv", "line 7: record"]
    );
    let (_, batches) = get(&account, "/v1/batches").await;
    assert_eq!(batches["data"], json!([]));
    let (_, invoices) = get(&account, "/v1/invoices").await;
    assert_eq!(invoices["data"], json!([]));
    // And with everything valid, all_or_nothing stores it all.
    let valid = format!("{HEADER}\n{}\n{}\n", row("ALL-1", "A"), row("ALL-2", "A"));
    let response = post(&account, "text/csv", valid, None, "?all_or_nothing=true").await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.json::<Value>().await.unwrap()["total"], 2);
}

#[tokio::test]
async fn spreadsheet_exports_are_read_as_they_come() {
    let account = signup().await;
    let semicolons = format!(
        "{}\r\n{}\r\n",
        HEADER.replace(',', ";"),
        "SEMI-1;cash;NIT;900123456;8;company;Ferretería Ñandú SAS;ap@acme.co;A;Tornillo;2,5;1.234,56;19;06:2,5|07:0,97"
    );
    let latin: Vec<u8> = semicolons
        .replace("SEMI-1", "LATIN-1")
        .chars()
        .map(|c| match c {
            'í' => 0xED,
            'Ñ' => 0xD1,
            'ú' => 0xFA,
            other => u8::try_from(u32::from(other)).unwrap(),
        })
        .collect();

    let utf8 = post(
        &account,
        "text/csv; charset=utf-8",
        format!("\u{feff}{semicolons}"),
        None,
        "",
    )
    .await;
    let windows = post(
        &account,
        "text/csv; charset=windows-1252",
        latin.clone(),
        None,
        "",
    )
    .await;
    let undeclared = post(&account, "text/csv", latin, None, "").await;

    assert_eq!(utf8.status(), 202);
    assert_eq!(windows.status(), 202);
    assert_eq!(undeclared.status(), 400);
    assert_eq!(
        undeclared.json::<Value>().await.unwrap()["error"]["code"],
        "INVALID_CSV"
    );
    let (_, page) = get(&account, "/v1/invoices?limit=10").await;
    let invoices = page["data"].as_array().unwrap();
    assert_eq!(invoices.len(), 2);
    for invoice in invoices {
        assert_eq!(invoice["customer"]["name"], "Ferretería Ñandú SAS");
        assert_eq!(invoice["items"][0]["quantity"], "2.5");
        assert_eq!(invoice["items"][0]["price"], "1234.56");
        assert_eq!(
            invoice["items"][0]["withholding_taxes"][1],
            json!({"code": "07", "rate": "0.97"})
        );
    }
}

#[tokio::test]
async fn uploads_that_are_not_batches_are_refused_with_the_documented_errors() {
    let account = signup().await;
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("empty", "text/csv", Vec::new(), 400, "INVALID_CSV"),
        (
            "header only",
            "text/csv",
            format!("{HEADER}\n").into_bytes(),
            422,
            "VALIDATION_ERROR",
        ),
        (
            "missing column",
            "text/csv",
            format!("{}\n{}\n", HEADER.replace(",price", ""), row("X", "A")).into_bytes(),
            400,
            "INVALID_CSV",
        ),
        (
            "not a batch",
            "application/json",
            b"[1, 2]".to_vec(),
            422,
            "VALIDATION_ERROR",
        ),
        (
            "unreadable JSON",
            "application/json",
            b"{\"invoices\": [".to_vec(),
            400,
            "INVALID_JSON",
        ),
        (
            "a spreadsheet file",
            "application/vnd.ms-excel",
            b"PK\x03\x04".to_vec(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "nothing valid",
            "text/csv",
            format!("{HEADER}\n{}\n", row("X", "A").replace(",cash,", ",barter,")).into_bytes(),
            422,
            "VALIDATION_ERROR",
        ),
    ];
    for (case, content_type, body, status, code) in cases {
        let response = post(&account, content_type, body, None, "").await;
        assert_eq!(response.status().as_u16(), status, "{case}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], code, "{case}");
    }
    let missing: Value = post(
        &account,
        "text/csv",
        format!("{}\n", HEADER.replace(",price", "")),
        None,
        "",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(missing["error"]["details"][0]["field"], "price");
    let (_, batches) = get(&account, "/v1/batches").await;
    assert_eq!(batches["data"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn a_json_batch_refuses_repeated_and_existing_reference_codes_and_replays_with_its_key() {
    let account = signup().await;
    let existing = create(&account).await;
    let invoice = |reference: &str| {
        let mut invoice = example();
        invoice["reference_code"] = json!(reference);
        invoice
    };
    let body = json!({"invoices": [
        invoice("TWICE"), invoice("ONCE"), invoice("TWICE"), invoice(existing["reference_code"].as_str().unwrap()), invoice("ALSO-ONCE")
    ]})
    .to_string();
    let key = unique("batch-key");

    let response = post(&account, "application/json", body.clone(), Some(&key), "").await;

    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["total"], 2);
    let invalid: Vec<(Value, String)> = answer["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].clone(),
                e["errors"][0]["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        invalid.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>(),
        [json!(0), json!(2), json!(3)]
    );
    assert!(invalid[0].1.contains("used by 2 invoices of this batch"));
    assert!(
        invalid[2].1.contains(existing["id"].as_str().unwrap()),
        "{}",
        invalid[2].1
    );

    let again = post(&account, "application/json", body.clone(), Some(&key), "").await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), answer);
    let other = post(
        &account,
        "application/json",
        body.replace("ONCE", "TWICE-MORE"),
        Some(&key),
        "",
    )
    .await;
    assert_eq!(other.status(), 422);
    assert_eq!(
        other.json::<Value>().await.unwrap()["error"]["code"],
        "IDEMPOTENCY_KEY_REUSED"
    );
    let (_, batches) = get(&account, "/v1/batches").await;
    assert_eq!(batches["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_twin_of_a_batch_in_progress_waits_and_only_one_batch_is_stored() {
    let account = signup().await;
    let body = csv("TWIN", 2000);
    let key = unique("twin-key");

    let (first, second) = tokio::join!(
        post(&account, "text/csv", body.clone(), Some(&key), ""),
        post(&account, "text/csv", body.clone(), Some(&key), "")
    );

    let mut outcomes = Vec::new();
    for response in [first, second] {
        let status = response.status().as_u16();
        let replayed = response.headers().contains_key("idempotent-replayed");
        let answer: Value = response.json().await.unwrap();
        outcomes.push((
            status,
            replayed,
            answer["error"]["code"].as_str().map(str::to_owned),
        ));
    }
    outcomes.sort();
    assert!(
        outcomes == [(202, false, None), (202, true, None)]
            || outcomes
                == [
                    (202, false, None),
                    (409, false, Some("IDEMPOTENCY_IN_PROGRESS".to_owned()))
                ],
        "{outcomes:?}"
    );
    let (_, batches) = get(&account, "/v1/batches").await;
    assert_eq!(batches["data"].as_array().unwrap().len(), 1, "one batch stored");
}

#[tokio::test]
async fn batches_over_the_limits_are_a_413_naming_the_limit() {
    let account = signup().await;

    let too_many = post(&account, "text/csv", csv("MANY", 10_001), None, "").await;
    let too_large = post(
        &account,
        "text/csv",
        format!("{HEADER}\n{}", "x".repeat(5 * 1024 * 1024 + 1)),
        None,
        "",
    )
    .await;

    assert_eq!(too_many.status(), 413);
    let answer: Value = too_many.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "PAYLOAD_TOO_LARGE");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("10000 invoices")
    );
    assert_eq!(too_large.status(), 413);
    assert!(
        too_large.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("5 MB")
    );
}

#[tokio::test]
async fn another_organizations_batch_is_a_404_everywhere() {
    let owner = signup().await;
    let stranger = signup().await;
    let answer: Value = post(&owner, "text/csv", mixed_csv(), None, "")
        .await
        .json()
        .await
        .unwrap();
    let id = answer["id"].as_str().unwrap();

    for path in [
        format!("/v1/batches/{id}"),
        format!("/v1/batches/{id}/invoices"),
        format!("/v1/batches/{id}/errors"),
    ] {
        assert_eq!(get(&stranger, &path).await.0, 404, "{path}");
        assert_eq!(get(&owner, &path).await.0, 200, "{path}");
    }
    let (_, listed) = get(&stranger, "/v1/batches").await;
    assert_eq!(listed["data"], json!([]));
    for path in [
        "/v1/batches/not-an-id",
        "/v1/batches/01ARZ3NDEKTSV4RRFFQ69G5FAV/errors",
    ] {
        assert_eq!(get(&owner, path).await.0, 404, "{path}");
    }
}

/// A batch's invoices lie in 16 shards of the batch index: its pages, filtered or not, still
/// give each invoice once, newest first.
#[tokio::test]
async fn a_batchs_invoices_page_once_each_newest_first_with_and_without_a_status_filter() {
    let Some(_) = local_only("the provider sandbox's fault control") else {
        return;
    };
    let account = signup().await;
    let refused = provider_reference(&account.org_id, "NO");
    sandbox::set_faults(json!({"reference_prefix": refused, "dian_rejection_rate": 1.0, "seed": 5})).await;
    let rows: Vec<String> = (0..60)
        .map(|n| match n % 4 {
            0 => row(&format!("NO-{n}"), "A"),
            _ => row(&format!("YES-{n}"), "A"),
        })
        .collect();
    let ended = submit_csv_until_ended(&account, &rows).await;
    let id = ended["id"].as_str().unwrap();
    assert_eq!(
        (&ended["accepted"], &ended["rejected"]),
        (&json!(45), &json!(15)),
        "{ended}"
    );

    let ids = |invoices: &[Value]| -> Vec<String> {
        invoices
            .iter()
            .map(|invoice| invoice["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let newest_first = |mut ids: Vec<String>| {
        ids.sort();
        ids.dedup();
        ids.reverse();
        ids
    };
    let every = ids(&all_pages(&account, &format!("/v1/batches/{id}/invoices?limit=7")).await);
    assert_eq!(every.len(), 60);
    assert_eq!(every, newest_first(every.clone()), "each once, newest first");
    for (status, limit, count) in [("accepted", 4, 45), ("rejected", 3, 15)] {
        let listed = all_pages(
            &account,
            &format!("/v1/batches/{id}/invoices?status={status}&limit={limit}"),
        )
        .await;
        assert!(listed.iter().all(|invoice| invoice["status"] == status));
        let listed = ids(&listed);
        assert_eq!(listed.len(), count, "{status}");
        assert_eq!(
            listed,
            newest_first(listed.clone()),
            "{status}: each once, newest first"
        );
        let expected: Vec<String> = every.iter().filter(|id| listed.contains(id)).cloned().collect();
        assert_eq!(listed, expected);
    }
    sandbox::clear_faults(&refused).await;
}

#[tokio::test]
async fn counters_follow_rejections_failures_and_retries_and_the_batch_completes_each_time() {
    let Some(_) = local_only("the provider sandbox's fault control") else {
        return;
    };
    let account = signup().await;
    let prefix = provider_reference(&account.org_id, "DOOMED");
    sandbox::set_faults(json!({"reference_prefix": prefix, "error_rate": 1.0, "seed": 3})).await;
    let refused = provider_reference(&account.org_id, "REFUSED");
    sandbox::set_faults(json!({"reference_prefix": refused, "dian_rejection_rate": 1.0, "seed": 3})).await;
    let rows = [row("FINE-1", "A"), row("REFUSED-1", "A"), row("DOOMED-1", "A")];
    let first = submit_csv_until_ended(&account, &rows).await;
    let id = first["id"].as_str().unwrap();

    assert_eq!(first["status"], "completed_with_errors");
    let counts = |b: &Value| {
        [
            b["accepted"].clone(),
            b["rejected"].clone(),
            b["failed"].clone(),
            b["pending"].clone(),
        ]
    };
    assert_eq!(counts(&first), [json!(1), json!(1), json!(1), json!(0)]);
    sandbox::clear_faults(&prefix).await;
    sandbox::clear_faults(&refused).await;
    let failed = all_pages(
        &account,
        &format!("/v1/batches/{id}/invoices?status=failed&limit=10"),
    )
    .await;
    let failed_id = failed[0]["id"].as_str().unwrap();
    let retry = http()
        .post(api(&format!("/v1/invoices/{failed_id}/retry")))
        .header("authorization", account.bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 202);
    let (_, reopened) = get(&account, &format!("/v1/batches/{id}")).await;
    assert!(
        reopened["status"] == "processing" || reopened["accepted"] == 2,
        "the retry reopens the batch: {reopened}"
    );

    let second = wait_for(&account, id, &["completed_with_errors"]).await;
    assert_eq!(counts(&second), [json!(2), json!(1), json!(0), json!(0)]);
    assert_ne!(
        second["completed_at"], first["completed_at"],
        "it completed again"
    );
    let statuses: BTreeSet<String> = all_pages(&account, &format!("/v1/batches/{id}/invoices?limit=10"))
        .await
        .iter()
        .map(|i| i["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        statuses,
        BTreeSet::from(["accepted".to_owned(), "rejected".to_owned()])
    );

    // The rejected invoice, corrected (its rejected bill deleted at Factus first), goes again
    // and is accepted: the batch's rejected count moves back and it completes clean.
    let rejected = all_pages(
        &account,
        &format!("/v1/batches/{id}/invoices?status=rejected&limit=10"),
    )
    .await;
    let rejected_id = rejected[0]["id"].as_str().unwrap();
    let path = format!("/v1/invoices/{rejected_id}");
    let cleared = crate::support::invoices::wait_for_cleared(&account, &path).await;
    let mut correction = local_stack::examples::invoice(cleared["reference_code"].as_str().unwrap());
    correction["items"][0]["quantity"] = json!("3");
    let retry = |body: Value| {
        http()
            .post(api(&format!("{path}/retry")))
            .header("authorization", account.bearer())
            .json(&body)
            .send()
    };
    let mut other = correction.clone();
    other["reference_code"] = json!("ANOTHER-1");
    let refused = retry(other).await.unwrap();
    assert_eq!(refused.status(), 422);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(
        refused["error"]["details"][0]["field"], "reference_code",
        "{refused}"
    );
    let without_body = http()
        .post(api(&format!("{path}/retry")))
        .header("authorization", account.bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(
        without_body.status(),
        409,
        "a rejected invoice goes again only corrected"
    );
    let response = retry(correction).await.unwrap();
    assert_eq!(response.status(), 202);
    let queued: Value = response.json().await.unwrap();
    assert_eq!(
        (&queued["status"], &queued["provider_errors"]),
        (&json!("queued"), &json!([]))
    );
    let third = wait_for(&account, id, &["completed"]).await;
    assert_eq!(counts(&third), [json!(3), json!(0), json!(0), json!(0)]);
    let (_, corrected) = get(&account, &path).await;
    assert_eq!(
        (
            &corrected["status"],
            &corrected["items"][0]["quantity"],
            &corrected["created_at"]
        ),
        (&json!("accepted"), &json!("3"), &cleared["created_at"])
    );
}

#[tokio::test]
async fn a_450_kb_reference_code_is_one_invalid_input_recorded_within_bounds() {
    let account = signup().await;
    let huge = "R".repeat(450_000);
    let mut bad = example();
    bad["reference_code"] = json!(huge);
    let good = example();
    let key = unique("huge");
    let body = json!({"invoices": [good, bad]}).to_string();

    let response = post(&account, "application/json", body.clone(), Some(&key), "").await;

    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        (answer["total"].clone(), answer["invalid_count"].clone()),
        (json!(1), json!(1))
    );
    let id = answer["id"].as_str().unwrap();
    let errors = all_pages(&account, &format!("/v1/batches/{id}/errors?limit=10")).await;
    let recorded = errors[0]["reference_code"].as_str().unwrap();
    assert!(
        recorded.chars().count() <= 201 && recorded.ends_with('…'),
        "{} chars",
        recorded.len()
    );
    assert_eq!(errors[0]["errors"][0]["field"], "reference_code");
    // The same key replays; the single invoice endpoint refuses the code as a 422.
    let again = post(&account, "application/json", body, Some(&key), "").await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let mut alone = example();
    alone["reference_code"] = json!("R".repeat(450_000));
    let single = crate::support::invoices::post(&account, &alone, None).await;
    assert_eq!(single.status(), 422);
}

#[tokio::test]
async fn a_batch_with_thousands_of_bad_lines_records_a_thousand_and_counts_them_all() {
    let account = signup().await;
    let mut body = csv("BAD", 1);
    for line in 0..3000 {
        body.push_str(&format!("bad-{line},only,three\n"));
    }

    let response = post(&account, "text/csv", body, None, "").await;

    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        (answer["total"].clone(), answer["invalid_count"].clone()),
        (json!(1), json!(3000))
    );
    assert_eq!(answer["invalid"].as_array().unwrap().len(), 100);
    let id = answer["id"].as_str().unwrap();
    let errors = all_pages(&account, &format!("/v1/batches/{id}/errors?limit=100")).await;
    assert_eq!(errors.len(), 1000, "the first thousand are recorded");
    let (_, batch) = get(&account, &format!("/v1/batches/{id}")).await;
    assert_eq!(batch["invalid_count"], 3000);
}

#[tokio::test]
async fn a_batch_whose_ingest_dies_half_way_is_never_submitted_fails_and_frees_its_key() {
    let Some(state) = local_only("to run a batches-create process of its own and kill it") else {
        return;
    };
    let account = signup().await;
    let prefix = unique("DIES");
    let invoices: Vec<Value> = (0..4000)
        .map(|i| {
            let mut invoice = example();
            invoice["reference_code"] = json!(format!("{prefix}-{i}"));
            invoice
        })
        .collect();
    let body = json!({"invoices": invoices}).to_string();
    let mut event: Value =
        serde_json::from_str(include_str!("../../events/batches-create/json.json")).unwrap();
    event["headers"]["authorization"] = json!(account.bearer());
    event["headers"]["idempotency-key"] = json!(prefix.clone());
    event["body"] = json!(body.clone());
    event["isBase64Encoded"] = json!(false);
    let environment = environment_of("batches-create", &state.emulator_url);
    let function = LoneFunction::start("batches-create", &environment).await;
    let ingest = tokio::spawn(async move { function.invoke(event).await });
    // Once the batch is recorded as ingesting, the function dies (as at its timeout) while it
    // stores the invoices.
    let mut batches = Vec::new();
    for _ in 0..200 {
        batches = all_pages(&account, "/v1/batches?limit=10").await;
        if !batches.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    ingest.abort();
    assert!(
        ingest.await.is_err_and(|e| e.is_cancelled()),
        "the ingest ended before it was cut short"
    );
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(batches[0]["status"], "ingesting");
    let id = batches[0]["id"].as_str().unwrap();
    let failed = wait_for(&account, id, &["failed", "completed", "completed_with_errors"]).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["failure_reason"].is_string());
    // What it stored is taken back, and nothing of it ever reaches the provider.
    let left = wait_until_empty(&account, &format!("/v1/batches/{id}/invoices?limit=100")).await;
    assert!(left, "the failed batch's invoices are taken back");
    let reference_prefix = provider_reference(&account.org_id, &prefix);
    assert!(sandbox::issued(&reference_prefix).await.is_empty());
    // Its key (once the reconciler has had its turn) and its reference codes serve again.
    let mut again = post(&account, "application/json", body.clone(), Some(&prefix), "").await;
    for _ in 0..60 {
        if again.status() != 409 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        again = post(&account, "application/json", body.clone(), Some(&prefix), "").await;
    }
    assert_eq!(again.status(), 202);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["total"], 4000);
}

/// Polls a list until it is empty (within the suite's patience).
async fn wait_until_empty(account: &crate::support::accounts::Account, path: &str) -> bool {
    for _ in 0..120 {
        if all_pages(account, path).await.is_empty() {
            return true;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    false
}

#[tokio::test]
async fn a_batch_whose_chunk_messages_are_lost_is_queued_again_and_completes() {
    let Some(_) = local_only("the local queue poller's faults") else {
        return;
    };
    let account = signup().await;
    sandbox::set_delivery_faults(&account.org_id, json!({"lose_rate": 1.0})).await;

    let response = post(&account, "text/csv", csv("LOST", 60), None, "").await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    let id = answer["id"].as_str().unwrap();
    // The poller loses both chunk messages; then deliveries work again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (_, batch) = get(&account, &format!("/v1/batches/{id}")).await;
    assert_eq!(batch["pending"], 60, "nothing was delivered: {batch}");
    sandbox::clear_delivery_faults(&account.org_id).await;

    let batch = wait_for(&account, id, &ENDED).await;
    assert_eq!(
        (batch["status"].clone(), batch["accepted"].clone()),
        (json!("completed"), json!(60))
    );
}
