//! The provider sandbox against Factus v2's own contract, driven directly (not through invoicer)
//! with the documented example requests of `tests/fixtures/factus/`: the envelope, the number,
//! the CUFE, DIAN's verdict, totals that equal the payments, list rows and pagination, show,
//! downloads, credit notes, the pending-bill block and the rate-limit headers.
//!
//! The suite's tests share one sandbox account, so a pending bill blocks every other test's
//! creates: a test that leaves one pending deletes it at once, and creates wait out other tests'
//! pending bills (409) and the account's rate limit (429).

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use reqwest::header::HeaderMap;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::support::{http, local_only, sandbox, unique};

/// How long a test waits out what other tests cause.
const PATIENCE: Duration = Duration::from_secs(120);

/// A documented example request.
fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/factus/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A documented bill with a fresh reference and the sandbox's bill range.
fn bill(name: &str, prefix: &str) -> (String, Value) {
    let reference = unique(prefix);
    let mut body = fixture(name);
    body["reference_code"] = json!(reference);
    body["numbering_range_id"] = json!(8);
    (reference, body)
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

/// One API request, waiting out the account's rate limit (other tests share it).
async fn send(token: &str, method: Method, path: &str, body: Option<&Value>) -> Answer {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut request = http()
            .request(method.clone(), sandbox::url(path))
            .bearer_auth(token)
            .header("accept", "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if status == 429 && Instant::now() < deadline {
            let wait = headers
                .get("retry-after")
                .and_then(|value| value.to_str().ok()?.parse().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        let body = response.json().await.unwrap_or(Value::Null);
        return Answer {
            status,
            headers,
            body,
        };
    }
}

fn get(token: &str, path: &str) -> impl Future<Output = Answer> {
    send(token, Method::GET, path, None)
}

/// A create, waiting out another test's pending bill (409 naming a pending document).
async fn create(token: &str, path: &str, body: &Value) -> Answer {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let answer = send(token, Method::POST, path, Some(body)).await;
        let pending = answer.status == 409
            && answer.body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("pendiente");
        if !pending || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn decimal(value: &Value) -> Decimal {
    match value {
        Value::String(text) => text.parse().unwrap(),
        Value::Number(number) => number.to_string().parse().unwrap(),
        other => panic!("not an amount: {other}"),
    }
}

fn is_hex_sha384(value: &Value) -> bool {
    value.as_str().is_some_and(|code| {
        code.len() == 96
            && code
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// Checks a created or shown bill against its request: validated, numbered, with a CUFE the QR
/// link names, and totals that the payments pay (give or take the cash rounding).
fn assert_validated_bill(data: &Value, request: &Value) {
    assert_eq!(data["reference_code"], request["reference_code"], "{data}");
    assert!(data["number"].as_str().unwrap().starts_with("SETP"), "{data}");
    assert!(is_hex_sha384(&data["cufe"]), "{data}");
    assert_eq!(data["is_validated"], true, "{data}");
    assert!(data["validated_at"].is_string());
    let errors = data["errors"].to_string();
    assert!(!errors.to_lowercase().contains("rechazo"), "{errors}");
    assert!(
        data["links"]["qr"]
            .as_str()
            .unwrap()
            .contains(data["cufe"].as_str().unwrap())
    );
    assert!(data["links"]["public_url"].is_string());
    let paid: Decimal = request["payment_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|detail| decimal(&detail["amount"]))
        .sum();
    let rounding = request.get("cash_rounding_amount").map_or(Decimal::ZERO, decimal);
    assert_eq!(
        paid,
        decimal(&data["totals"]["total"]) + rounding,
        "{}",
        data["totals"]
    );
    let paid_back: Decimal = data["payment_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|detail| decimal(&detail["amount"]))
        .sum();
    assert_eq!(paid_back, paid);
    assert_eq!(
        data["customer"]["identification"],
        request["customer"]["identification"]
    );
    assert_eq!(
        data["items"].as_array().unwrap().len(),
        request["items"].as_array().unwrap().len()
    );
}

/// Creates the documented bill `name` and checks the answer; its reference and the answer's data.
async fn issue(token: &str, name: &str) -> (String, Value) {
    let (reference, body) = bill(name, "fx");
    let answer = create(token, "/v2/bills/validate", &body).await;
    assert_eq!(answer.status, 201, "{name}: {}", answer.body);
    assert_eq!(answer.body["status"], "Created");
    assert!(answer.body["message"].is_string());
    assert_validated_bill(&answer.body["data"], &body);
    (reference, answer.body["data"].clone())
}

#[tokio::test]
async fn the_documented_bills_are_validated_with_a_number_a_cufe_and_totals_their_payments_pay() {
    let Some(_) = local_only("the provider sandbox") else {
        return;
    };
    let token = sandbox::token().await;
    for name in [
        "crear-y-validar",
        "estandar-autorrentenciones",
        "estandar-impuesto-excluido",
        "redondeo-medios-pago",
    ] {
        issue(&token, name).await;
    }
}

#[tokio::test]
async fn autorretenciones_are_reported_and_the_customer_pays_the_whole_total() {
    let Some(_) = local_only("the provider sandbox") else {
        return;
    };
    let token = sandbox::token().await;
    let (_, data) = issue(&token, "estandar-autorrentenciones").await;
    assert_eq!(decimal(&data["totals"]["total"]), Decimal::from(1_190_000));
    let withholdings: Vec<&str> = data["items"][0]["withholding_taxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|withholding| withholding["tribute"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(withholdings, ["05", "06"]);
}

#[tokio::test]
async fn a_bill_is_shown_by_number_and_listed_by_reference_without_its_cufe() {
    let Some(_) = local_only("the provider sandbox") else {
        return;
    };
    let token = sandbox::token().await;
    let (reference, created) = issue(&token, "crear-y-validar").await;
    let number = created["number"].as_str().unwrap();

    let shown = get(&token, &format!("/v2/bills/{number}")).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.body["status"], "OK");
    assert_eq!(shown.body["data"]["number"], number);
    assert_eq!(shown.body["data"]["cufe"], created["cufe"]);
    assert_eq!(shown.body["data"]["totals"], created["totals"]);

    let listed = get(
        &token,
        &format!("/v2/bills?filter[reference_code]={reference}&per_page=5"),
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let page = &listed.body["data"];
    // The filter matches part of the reference: the row is found among the rows, not assumed.
    let rows = page["data"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|row| row["reference_code"] == reference.as_str())
        .unwrap();
    assert_eq!(row["number"], number);
    assert_eq!(row["is_validated"], true);
    assert_eq!(decimal(&row["total"]), decimal(&created["totals"]["total"]));
    assert!(row.get("cufe").is_none() && row.get("bill").is_none(), "{row}");
    let pagination = &page["pagination"];
    for field in [
        "total",
        "per_page",
        "current_page",
        "last_page",
        "from",
        "to",
        "links",
    ] {
        assert!(pagination.get(field).is_some(), "{field}: {pagination}");
    }
    assert_eq!(pagination["per_page"], 5);
    assert_eq!(pagination["current_page"], 1);

    let missing = get(&token, "/v2/bills/SETP1").await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn a_validated_bill_downloads_as_a_pdf_an_xml_and_an_attached_document() {
    let Some(_) = local_only("the provider sandbox") else {
        return;
    };
    let token = sandbox::token().await;
    let (_, created) = issue(&token, "crear-y-validar").await;
    let number = created["number"].as_str().unwrap();
    let cufe = created["cufe"].as_str().unwrap();

    let pdf = get(&token, &format!("/v2/bills/{number}/download-pdf")).await;
    assert_eq!(pdf.status, 200, "{}", pdf.body);
    assert!(pdf.body["data"]["file_name"].is_string());
    let bytes = STANDARD
        .decode(pdf.body["data"]["pdf_base_64_encoded"].as_str().unwrap())
        .unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(String::from_utf8_lossy(&bytes).contains(number));

    let xml = get(&token, &format!("/v2/bills/{number}/download-xml")).await;
    assert_eq!(xml.status, 200, "{}", xml.body);
    let text = String::from_utf8(
        STANDARD
            .decode(xml.body["data"]["xml_base_64_encoded"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(text.starts_with("<?xml"));
    assert!(text.contains("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"));
    assert!(text.contains(&format!("<cbc:ID>{number}</cbc:ID>")));
    assert!(text.contains(cufe));

    let attached = get(
        &token,
        &format!("/v2/bills/{number}/download-attached-document-xml"),
    )
    .await;
    assert_eq!(attached.status, 200, "{}", attached.body);
    let text = String::from_utf8(
        STANDARD
            .decode(attached.body["data"]["xml_base_64_encoded"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(text.contains("AttachedDocument") && text.contains(cufe));
}

#[tokio::test]
async fn a_credit_note_references_a_validated_bill_with_its_own_number_and_cude() {
    let Some(_) = local_only("the provider sandbox") else {
        return;
    };
    let token = sandbox::token().await;
    let (_, bill) = issue(&token, "crear-y-validar").await;
    let bill_number = bill["number"].as_str().unwrap();
    let mut note = fixture("nota-credito");
    let reference = unique("fx-nc");
    note["reference_code"] = json!(reference);
    note["numbering_range_id"] = json!(9);
    note["bill_number"] = json!(bill_number);

    let answer = create(&token, "/v2/credit-notes/validate", &note).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let data = &answer.body["data"];
    assert_eq!(data["reference_code"], reference.as_str());
    assert!(data["number"].as_str().unwrap().starts_with("NC"), "{data}");
    assert!(is_hex_sha384(&data["cude"]), "{data}");
    assert_eq!(data["is_validated"], true);
    assert_eq!(data["correction_concept"]["code"], "2");
    assert_eq!(data["related_bill"]["number"], bill_number);
    assert_eq!(decimal(&data["totals"]["total"]), Decimal::from(83_300));

    let shown = get(&token, &format!("/v2/bills/{bill_number}")).await;
    let notes = shown.body["data"]["related_notes"]["credit_notes"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        notes.iter().any(|related| related["number"] == data["number"]),
        "{notes:?}"
    );
    let listed = get(
        &token,
        &format!("/v2/credit-notes?filter[reference_code]={reference}"),
    )
    .await;
    let rows = listed.body["data"]["data"].as_array().unwrap();
    assert!(
        rows.iter().any(|row| row["number"] == data["number"]),
        "{}",
        listed.body
    );
}

/// A NIT customer whose check digit is wrong: Factus's input validation passes it, DIAN rejects
/// it (FAK24) and the bill stays, pending.
fn wrong_check_digit(prefix: &str) -> (String, Value) {
    let (reference, mut body) = bill("crear-y-validar", prefix);
    body["customer"]["dv"] = json!("3");
    (reference, body)
}

fn assert_fak24(answer: &Answer) {
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.body["status"], "Validation error");
    assert!(answer.body["message"].is_string() && answer.body["data"]["message"].is_string());
    let rule = answer.body["data"]["errors"]["FAK24"].as_str().unwrap();
    assert!(rule.starts_with("Regla: FAK24, Rechazo"), "{rule}");
}

#[tokio::test]
async fn a_bill_dian_rejects_is_persisted_and_deleted_by_its_reference() {
    let Some(_) = local_only("the provider sandbox") else {
        return;
    };
    let token = sandbox::token().await;
    let (reference, body) = wrong_check_digit("fx-fak24");
    let answer = create(&token, "/v2/bills/validate", &body).await;
    let delete = format!("/v2/bills/destroy/reference/{reference}");
    // Delete first (the pending bill blocks every other test), check afterwards.
    let deleted = send(&token, Method::DELETE, &delete, None).await;
    assert_fak24(&answer);
    assert_eq!(
        deleted.status, 200,
        "the rejected bill was persisted: {}",
        deleted.body
    );
    assert_eq!(deleted.body["status"], "OK");
    assert_eq!(send(&token, Method::DELETE, &delete, None).await.status, 404);
}

#[tokio::test]
async fn a_pending_bill_blocks_other_references_until_it_is_deleted() {
    let Some(_) = local_only("the provider sandbox") else {
        return;
    };
    let token = sandbox::token().await;
    let (rejected, body) = wrong_check_digit("fx-block");
    let (other, other_body) = bill("crear-y-validar", "fx-block");
    let first = create(&token, "/v2/bills/validate", &body).await;
    let blocked = send(&token, Method::POST, "/v2/bills/validate", Some(&other_body)).await;
    let resent = send(&token, Method::POST, "/v2/bills/validate", Some(&body)).await;
    let deleted = send(
        &token,
        Method::DELETE,
        &format!("/v2/bills/destroy/reference/{rejected}"),
        None,
    )
    .await;
    assert_fak24(&first);
    assert_eq!(blocked.status, 409, "{}", blocked.body);
    assert!(blocked.body["message"].is_string());
    assert_fak24(&resent);
    assert_eq!(deleted.status, 200, "{}", deleted.body);

    let unblocked = create(&token, "/v2/bills/validate", &other_body).await;
    assert_eq!(unblocked.status, 201, "{}", unblocked.body);
    assert_eq!(unblocked.body["data"]["reference_code"], other.as_str());
    let reused = send(&token, Method::POST, "/v2/bills/validate", Some(&other_body)).await;
    assert_eq!(
        reused.status, 409,
        "a validated reference cannot be used again: {}",
        reused.body
    );
}

#[tokio::test]
async fn a_bill_dian_is_slow_to_validate_is_validated_when_sent_again() {
    let Some(_) = local_only("the provider sandbox") else {
        return;
    };
    let token = sandbox::token().await;
    let prefix = unique("fx-slow");
    sandbox::set_faults(json!({"reference_prefix": prefix, "dian_slow_rate": 1.0, "seed": 3})).await;
    let mut body = fixture("crear-y-validar");
    body["reference_code"] = json!(format!("{prefix}-1"));
    body["numbering_range_id"] = json!(8);
    let slow = create(&token, "/v2/bills/validate", &body).await;
    let resent = send(&token, Method::POST, "/v2/bills/validate", Some(&body)).await;
    sandbox::clear_faults(&prefix).await;
    assert_eq!(slow.status, 201, "{}", slow.body);
    assert_eq!(slow.body["data"]["is_validated"], false);
    assert!(
        !slow.body["data"]["errors"]
            .to_string()
            .to_lowercase()
            .contains("rechazo")
    );
    assert_eq!(resent.status, 201, "{}", resent.body);
    assert_validated_bill(&resent.body["data"], &body);
    assert_eq!(resent.body["data"]["number"], slow.body["data"]["number"]);
}

#[tokio::test]
async fn answers_carry_the_rate_limit_and_tokens_are_required() {
    let Some(_) = local_only("the provider sandbox") else {
        return;
    };
    let token = sandbox::token().await;
    let ranges = get(&token, "/v2/numbering-ranges?filter[document]=21").await;
    assert_eq!(ranges.status, 200, "{}", ranges.body);
    let header = |name: &str| -> u32 { ranges.headers[name].to_str().unwrap().parse().unwrap() };
    assert!(header("x-ratelimit-remaining") < header("x-ratelimit-limit"));
    let rows = ranges.body["data"]["data"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|range| range["id"] == 8 && range["prefix"] == "SETP"),
        "{rows:?}"
    );

    let anonymous = http().get(sandbox::url("/v2/bills")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.json::<Value>().await.unwrap(),
        json!({"message": "Unauthenticated."})
    );
}
