//! Credit notes: an accepted invoice credited in part, then annulled (the invoice shows each
//! note and what they credit, and becomes `annulled`); the notes' own numbers, CUDEs, PDFs and
//! XMLs; never more credited than the invoice, even by notes sent at the same moment; a rejected
//! note credits nothing; another organization sees none of it.

use reqwest::Response;
use serde_json::{Value, json};
use shared::provider::provider_reference;

use crate::support::accounts::{Account, member, signup};
use crate::support::invoices::{create, get, wait_for, wait_for_status};
use crate::support::{api, http, is_local, local_only, sandbox, unique};

/// `POST /v1/invoices/{id}/credit-notes` as `account`.
async fn credit(account: &Account, invoice_id: &str, body: &Value, key: Option<&str>) -> Response {
    let mut request = http()
        .post(api(&format!("/v1/invoices/{invoice_id}/credit-notes")))
        .header("authorization", account.bearer())
        .json(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.unwrap()
}

/// A note of `concept` for `reason`, of `items` when given.
fn note(code: &str, concept: &str, items: Option<Value>) -> Value {
    let mut body = json!({"reference_code": code, "correction_concept": concept, "reason": "as agreed with the customer"});
    if let Some(items) = items {
        body["items"] = items;
    }
    body
}

/// A rebate of `amount` on `quantity` units of the invoice's first line.
fn rebate(quantity: &str, amount: &str) -> Value {
    note(
        &unique("NC"),
        "rebate",
        Some(json!([{"line": 1, "quantity": quantity, "amount": amount}])),
    )
}

/// Credits `body` of the invoice and waits until the note ends; answers the note.
async fn credited(account: &Account, invoice_id: &str, body: &Value) -> Value {
    let response = credit(account, invoice_id, body, None).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let queued: Value = response.json().await.unwrap();
    assert_eq!(queued["status"], "queued");
    let path = format!("/v1/credit-notes/{}", queued["id"].as_str().unwrap());
    wait_for_status(account, &path, &["accepted", "rejected", "failed"]).await
}

/// An accepted invoice of the example (2 units at 10,000.00, IVA 19 %: 23,800.00).
async fn accepted_invoice(account: &Account) -> Value {
    let invoice = create(account).await;
    let accepted = wait_for(
        account,
        invoice["id"].as_str().unwrap(),
        &["accepted", "rejected", "failed"],
    )
    .await;
    assert_eq!(accepted["status"], "accepted", "{accepted}");
    accepted
}

#[tokio::test]
async fn an_invoice_credited_in_part_then_annulled_shows_each_note_and_ends_annulled() {
    let owner = signup().await;
    let invoice = accepted_invoice(&owner).await;
    let id = invoice["id"].as_str().unwrap();
    assert_eq!(
        (
            invoice["credited_total"].as_str(),
            invoice["credit_notes"].as_array().map(Vec::len)
        ),
        (Some("0.00"), Some(0))
    );

    // One of the two widgets comes back: half of the invoice.
    let return_code = unique("NC");
    let partial = credited(
        &owner,
        id,
        &note(
            &return_code,
            "partial_return",
            Some(json!([{"line": 1, "quantity": "1"}])),
        ),
    )
    .await;
    assert_eq!(partial["status"], "accepted", "{partial}");
    assert_eq!(partial["invoice_id"], id);
    assert_eq!(partial["invoice_number"], invoice["number"]);
    assert_eq!(partial["correction_concept"], "partial_return");
    assert_eq!(partial["totals"]["total"], "11900.00");
    assert_eq!(partial["items"][0]["line"], 1);
    assert_eq!(partial["items"][0]["quantity"], "1");
    assert!(
        partial["number"].as_str().is_some_and(|n| n.starts_with("NC")),
        "{partial}"
    );
    assert_ne!(partial["number"], invoice["number"]);
    assert!(
        partial["cude"].as_str().is_some_and(|cude| cude.len() == 96),
        "{partial}"
    );
    assert!(
        partial["qr_url"]
            .as_str()
            .is_some_and(|qr| qr.contains(partial["cude"].as_str().unwrap()))
    );

    let (_, after_return) = get(&owner, &format!("/v1/invoices/{id}")).await;
    assert_eq!(after_return["status"], "accepted");
    assert_eq!(after_return["credited_total"], "11900.00");
    assert_eq!(
        after_return["credit_notes"],
        json!([{"id": partial["id"], "reference_code": return_code, "correction_concept": "partial_return",
                "status": "accepted", "number": partial["number"], "total": "11900.00"}])
    );

    // More than is left is refused, and names what is left.
    let response = credit(
        &owner,
        id,
        &note(
            &unique("NC"),
            "partial_return",
            Some(json!([{"line": 1, "quantity": "2"}])),
        ),
        None,
    )
    .await;
    assert_eq!(response.status(), 422);
    let refused: Value = response.json().await.unwrap();
    assert_eq!(
        refused["error"]["details"][0]["field"], "items[0].quantity",
        "{refused}"
    );
    assert!(
        refused["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("10000.00 is left"),
        "{refused}"
    );

    // The annulment credits what is left, and annuls the invoice.
    let annulment = credited(&owner, id, &note(&unique("NC"), "annulment", None)).await;
    assert_eq!(annulment["status"], "accepted", "{annulment}");
    assert_eq!(annulment["totals"]["total"], "11900.00");
    assert_eq!(annulment["items"][0]["quantity"], "1");
    let (_, annulled) = get(&owner, &format!("/v1/invoices/{id}")).await;
    assert_eq!(annulled["status"], "annulled", "{annulled}");
    assert_eq!(annulled["credited_total"], annulled["totals"]["total"]);
    assert_eq!(annulled["credit_notes"].as_array().unwrap().len(), 2);
    let (_, listed) = get(&owner, "/v1/invoices?status=annulled").await;
    assert_eq!(listed["data"][0]["id"], id, "{listed}");
    let (_, accepted_list) = get(&owner, "/v1/invoices?status=accepted").await;
    assert!(
        accepted_list["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != id)
    );

    // An annulled invoice takes no more notes.
    let response = credit(&owner, id, &rebate("1", "1"), None).await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "INVALID_STATE"
    );

    // Its notes, newest first, and by status.
    let (_, notes) = get(&owner, &format!("/v1/credit-notes?invoice_id={id}")).await;
    let ids: Vec<&Value> = notes["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(ids, [&annulment["id"], &partial["id"]], "{notes}");
    let (_, rejected) = get(
        &owner,
        &format!("/v1/credit-notes?invoice_id={id}&status=rejected"),
    )
    .await;
    assert_eq!(rejected["data"], json!([]));

    // What Factus got: notes of type 20 on the invoice's number, with DIAN's concept codes.
    if !is_local() {
        return;
    }
    let prefix = provider_reference(&owner.org_id, "NC");
    let bodies: Vec<Value> = sandbox::requests(&prefix)
        .await
        .into_iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/v2/credit-notes/validate")
        .map(|r| r["body"].clone())
        .collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    for (body, code) in bodies.iter().zip(["1", "2"]) {
        assert_eq!(body["correction_concept_code"], code);
        assert_eq!(body["customization_id"], "20");
        assert_eq!(body["bill_number"], invoice["number"]);
        assert_eq!(body["payment_details"][0]["amount"], "11900.00");
    }
}

#[tokio::test]
async fn a_credit_notes_pdf_and_xml_are_its_own_and_it_can_be_emailed() {
    let Some(_) = local_only("the emulator's S3") else {
        return;
    };
    let owner = signup().await;
    let invoice = accepted_invoice(&owner).await;
    let id = invoice["id"].as_str().unwrap();
    let pending = credit(&owner, id, &rebate("2", "500"), None).await;
    assert_eq!(pending.status(), 202);
    let pending: Value = pending.json().await.unwrap();
    let note_id = pending["id"].as_str().unwrap();
    let pdf_path = api(&format!("/v1/credit-notes/{note_id}/pdf"));
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let accepted = wait_for_status(
        &owner,
        &format!("/v1/credit-notes/{note_id}"),
        &["accepted", "rejected", "failed"],
    )
    .await;
    assert_eq!(accepted["status"], "accepted", "{accepted}");
    assert_eq!(
        accepted["totals"]["total"], "1190.00",
        "two units, 500.00 off each, IVA on top"
    );

    let link = |path: String| {
        let client = no_redirects.clone();
        let bearer = owner.bearer();
        async move {
            let response = client
                .get(path)
                .header("authorization", bearer)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 302);
            response.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    let pdf = reqwest::get(link(pdf_path).await).await.unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    let xml = reqwest::get(link(api(&format!("/v1/credit-notes/{note_id}/xml"))).await)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (number, cude) = (
        accepted["number"].as_str().unwrap(),
        accepted["cude"].as_str().unwrap(),
    );
    assert!(
        xml.contains(number) && xml.contains(cude),
        "the XML is the note's: {xml}"
    );
    assert!(
        xml.contains(invoice["number"].as_str().unwrap()),
        "and names its invoice"
    );

    let sent = http()
        .post(api(&format!("/v1/credit-notes/{note_id}/send-email")))
        .header("authorization", owner.bearer())
        .json(&json!({"email": "devoluciones@cliente.example.co"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    assert_eq!(
        sent.json::<Value>().await.unwrap(),
        json!({"credit_note_id": note_id, "number": number, "email": "devoluciones@cliente.example.co"})
    );

    // Another organization sees neither the note nor its files.
    let stranger = signup().await;
    assert_eq!(
        get(&stranger, &format!("/v1/credit-notes/{note_id}")).await.0,
        404
    );
    let (_, theirs) = get(&stranger, &format!("/v1/credit-notes?invoice_id={id}")).await;
    assert_eq!(theirs["data"], json!([]));
    let response = no_redirects
        .get(api(&format!("/v1/credit-notes/{note_id}/pdf")))
        .header("authorization", stranger.bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        credit(&stranger, id, &note(&unique("NC"), "annulment", None), None)
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn notes_sent_at_the_same_moment_never_credit_more_than_the_invoice() {
    let owner = signup().await;
    let invoice = accepted_invoice(&owner).await;
    let id = invoice["id"].as_str().unwrap().to_owned();
    // Six notes of one widget each, at once, of an invoice of two.
    let attempts = (0..6).map(|_| {
        let (owner, id) = (&owner, id.clone());
        async move {
            credit(
                owner,
                &id,
                &note(
                    &unique("NC"),
                    "partial_return",
                    Some(json!([{"line": 1, "quantity": "1"}])),
                ),
                None,
            )
            .await
            .status()
            .as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(attempts).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [202, 202, 422, 422, 422, 422]);
    let (_, after) = get(&owner, &format!("/v1/invoices/{id}")).await;
    let entries = after["credit_notes"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{after}");
    assert!(entries.iter().all(|e| e["total"] == "11900.00"));
}

#[tokio::test]
async fn a_rejected_note_credits_nothing_and_its_part_can_be_credited_again() {
    let Some(_) = local_only("the provider sandbox's faults") else {
        return;
    };
    let owner = signup().await;
    let invoice = accepted_invoice(&owner).await;
    let id = invoice["id"].as_str().unwrap();
    let code = unique("NCR");
    let prefix = provider_reference(&owner.org_id, &code);
    sandbox::set_faults(json!({"reference_prefix": prefix, "dian_rejection_rate": 1.0, "seed": 1})).await;
    let rejected = credited(&owner, id, &note(&code, "annulment", None)).await;
    sandbox::clear_faults(&prefix).await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    assert_eq!(rejected["provider_errors"][0]["rule"], "FAJ43b");
    let path = format!("/v1/credit-notes/{}", rejected["id"].as_str().unwrap());
    let cleared = crate::support::invoices::wait_for_cleared(&owner, &path).await;
    assert_eq!(
        cleared["provider_cleared"], true,
        "its rejected note was deleted at Factus"
    );

    let (_, after) = get(&owner, &format!("/v1/invoices/{id}")).await;
    assert_eq!(after["status"], "accepted");
    assert_eq!(after["credited_total"], "0.00");
    assert_eq!(after["credit_notes"][0]["status"], "rejected");
    // Nothing was credited: the whole invoice can be, by another note.
    let annulment = credited(&owner, id, &note(&unique("NC"), "annulment", None)).await;
    assert_eq!(annulment["status"], "accepted", "{annulment}");
    assert_eq!(annulment["totals"]["total"], invoice["totals"]["total"]);
    let (_, annulled) = get(&owner, &format!("/v1/invoices/{id}")).await;
    assert_eq!(annulled["status"], "annulled");
}

#[tokio::test]
async fn a_note_is_refused_clearly_and_a_repeated_one_is_answered_as_the_first() {
    let owner = signup().await;
    let viewer = member(&owner, "viewer").await;
    let invoice = accepted_invoice(&owner).await;
    let id = invoice["id"].as_str().unwrap();
    let code = unique("NC");
    let body = note(
        &code,
        "price_adjustment",
        Some(json!([{"line": 1, "quantity": "2", "amount": "100"}])),
    );

    assert_eq!(credit(&viewer, id, &body, None).await.status(), 403);
    let response = credit(
        &owner,
        id,
        &note("bad code", "other", Some(json!([{"line": 2, "quantity": "1"}]))),
        None,
    )
    .await;
    assert_eq!(response.status(), 422);
    let fields: Vec<String> = response.json::<Value>().await.unwrap()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["reference_code", "correction_concept"]);
    let response = credit(
        &owner,
        id,
        &note(
            &unique("NC"),
            "rebate",
            Some(json!([{"line": 2, "quantity": "1"}])),
        ),
        None,
    )
    .await;
    assert_eq!(response.status(), 422, "the invoice has one line");
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["details"][0]["field"],
        "items[0].line"
    );
    assert_eq!(
        credit(&owner, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &body, None)
            .await
            .status(),
        404
    );

    let key = unique("key");
    let first = credit(&owner, id, &body, Some(&key)).await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let again = credit(&owner, id, &body, Some(&key)).await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    let twin = credit(&owner, id, &body, None).await;
    assert_eq!(twin.status(), 409, "the reference code is the first note's");
    let twin: Value = twin.json().await.unwrap();
    assert_eq!(twin["error"]["code"], "DUPLICATE_REFERENCE");
    assert!(
        twin["error"]["message"].as_str().unwrap().contains("credit note"),
        "{twin}"
    );
    let (_, after) = get(&owner, &format!("/v1/invoices/{id}")).await;
    assert_eq!(after["credit_notes"].as_array().unwrap().len(), 1, "{after}");
}
