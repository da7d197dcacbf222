//! The security battery: what an attacker sends, on every route. Each case answers its
//! documented 4xx in the error shape of API.md, stores nothing, and gives nothing away: no
//! stack trace, no internal error text, no AWS resource name.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::accounts::{Account, member, nit, signup};
use crate::support::batches::{self, HEADER, all_pages, row};
use crate::support::invoices::{self, create, example};
use crate::support::tokens::{active_key, attacks, claims_of, sign};
use crate::support::{api, http, local_only, resource_names, unique};

/// A request to the API, and what it should be answered.
struct Call {
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

impl Call {
    fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            content_type: None,
            body: Vec::new(),
        }
    }

    fn body(mut self, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = Some(content_type);
        self.body = body.into();
        self
    }

    fn json(self, body: &Value) -> Self {
        self.body("application/json", body.to_string())
    }

    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    async fn send(&self, authorization: Option<&str>) -> reqwest::Response {
        let mut request = http().request(self.method.clone(), api(&self.path));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        if let Some(content_type) = self.content_type {
            request = request.header("content-type", content_type);
        }
        request.body(self.body.clone()).send().await.unwrap()
    }
}

/// Checks an answer is the documented refusal, in the error shape, giving nothing away.
async fn assert_refused(case: &str, response: reqwest::Response, status: u16, code: &str) {
    let answered = response.status().as_u16();
    assert!(
        response.headers().contains_key("x-request-id"),
        "{case}: no x-request-id"
    );
    let text = response.text().await.unwrap();
    assert_gives_nothing_away(case, &text);
    assert_eq!(answered, status, "{case}: {text}");
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{case}: the answer is not JSON: {text}"));
    assert_eq!(body["error"]["code"], code, "{case}: {text}");
    assert!(body["error"]["message"].is_string(), "{case}: {text}");
}

/// What only an internal error would show: a panic, a source location, an AWS service or one of
/// the stack's resources.
fn assert_gives_nothing_away(case: &str, text: &str) {
    let tells = [
        "panicked",
        "backtrace",
        ".rs:",
        "arn:aws",
        "amazonaws",
        "dynamodb",
        "sqs",
        "secretsmanager",
        "secrets manager",
        "dispatch failure",
        "service error",
    ];
    // The request id is random: it may spell anything.
    let shown = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut body)) => {
            body.remove("request_id");
            Value::Object(body).to_string()
        }
        _ => text.to_owned(),
    };
    let lower = shown.to_lowercase();
    for tell in tells {
        assert!(!lower.contains(tell), "{case}: the answer shows {tell:?}: {text}");
    }
    for name in resource_names() {
        assert!(!text.contains(&name), "{case}: the answer names {name}: {text}");
    }
}

/// What an organization holds: its invoices, batches and users.
async fn holdings(account: &Account) -> (usize, usize, usize) {
    (
        all_pages(account, "/v1/invoices?limit=100").await.len(),
        all_pages(account, "/v1/batches?limit=100").await.len(),
        all_pages(account, "/v1/users?limit=100").await.len(),
    )
}

/// An organization with an invoice and a batch (two invoices, two invalid rows).
struct Victim {
    account: Account,
    invoice_id: String,
    batch_id: String,
}

async fn victim() -> Victim {
    let account = signup().await;
    let invoice = create(&account).await;
    let prefix = unique("SEC");
    let csv = format!(
        "{HEADER}\n{}\n{}\n{}\n{}\n",
        row(&format!("{prefix}-1"), "SKU-1"),
        row(&format!("{prefix}-2"), "SKU-1"),
        row(&format!("{prefix}-3"), "SKU-1").replace(",2,10000.00,", ",0,10000.00,"),
        row(&format!("{prefix}-4"), "SKU-1").replace(",2,10000.00,", ",-1,10000.00,"),
    );
    let response = batches::post(&account, "text/csv", csv, None, "").await;
    assert_eq!(response.status(), 202);
    let batch: Value = response.json().await.unwrap();
    Victim {
        account,
        invoice_id: invoice["id"].as_str().unwrap().to_owned(),
        batch_id: batch["id"].as_str().unwrap().to_owned(),
    }
}

/// Every route that needs a token, each with a body it would accept, at `victim`'s resources.
fn protected_routes(victim: &Victim) -> Vec<Call> {
    let (invoice, batch) = (&victim.invoice_id, &victim.batch_id);
    let mut new_invoice = example();
    new_invoice["reference_code"] = json!(unique("SEC"));
    vec![
        Call::new(Method::GET, "/v1/users/me"),
        Call::new(Method::GET, "/v1/users"),
        Call::new(Method::POST, "/v1/users").json(&json!({
            "email": format!("{}@example.co", unique("intruder")), "full_name": "Intruder",
            "role": "admin", "password": "a password of some length"
        })),
        Call::new(Method::GET, "/v1/invoices"),
        Call::new(Method::POST, "/v1/invoices").json(&new_invoice),
        Call::new(Method::GET, format!("/v1/invoices/{invoice}")),
        Call::new(Method::POST, format!("/v1/invoices/{invoice}/retry")),
        Call::new(Method::GET, "/v1/batches"),
        Call::new(Method::POST, "/v1/batches").body(
            "text/csv",
            format!("{HEADER}\n{}\n", row(&unique("SEC"), "SKU-1")),
        ),
        Call::new(Method::GET, format!("/v1/batches/{batch}")),
        Call::new(Method::GET, format!("/v1/batches/{batch}/invoices")),
        Call::new(Method::GET, format!("/v1/batches/{batch}/errors")),
    ]
}

/// Every route that takes an id, at invoice `invoice` and batch `batch`.
fn routes_with_id(invoice: &str, batch: &str) -> [Call; 5] {
    [
        Call::new(Method::GET, format!("/v1/invoices/{invoice}")),
        Call::new(Method::POST, format!("/v1/invoices/{invoice}/retry")),
        Call::new(Method::GET, format!("/v1/batches/{batch}")),
        Call::new(Method::GET, format!("/v1/batches/{batch}/invoices")),
        Call::new(Method::GET, format!("/v1/batches/{batch}/errors")),
    ]
}

/// Every route that reads a JSON body, with a body it would accept and its limit.
async fn json_routes() -> Vec<(Call, usize)> {
    const AUTH_LIMIT: usize = 16 * 1024;
    let (other, another) = (signup().await, signup().await);
    let (nit, dv) = nit();
    let mut new_batch_invoice = example();
    new_batch_invoice["reference_code"] = json!(unique("SEC"));
    let mut new_invoice = example();
    new_invoice["reference_code"] = json!(unique("SEC"));
    vec![
        (
            Call::new(Method::POST, "/v1/auth/signup").json(&json!({
                "organization": {"name": "Intruder SAS", "nit": nit, "dv": dv},
                "email": format!("{}@example.co", unique("intruder")),
                "password": "a password of some length", "full_name": "Intruder"
            })),
            AUTH_LIMIT,
        ),
        (
            Call::new(Method::POST, "/v1/auth/login")
                .json(&json!({"email": other.email, "password": other.password})),
            AUTH_LIMIT,
        ),
        (
            Call::new(Method::POST, "/v1/auth/refresh").json(&json!({"refresh_token": other.refresh})),
            AUTH_LIMIT,
        ),
        (
            Call::new(Method::POST, "/v1/auth/logout").json(&json!({"refresh_token": another.refresh})),
            AUTH_LIMIT,
        ),
        (
            Call::new(Method::POST, "/v1/users").json(&json!({
                "email": format!("{}@example.co", unique("member")), "full_name": "Member",
                "role": "viewer", "password": "a password of some length"
            })),
            AUTH_LIMIT,
        ),
        (
            Call::new(Method::POST, "/v1/invoices").json(&new_invoice),
            1024 * 1024,
        ),
        (
            Call::new(Method::POST, "/v1/batches").json(&json!({"invoices": [new_batch_invoice]})),
            5 * 1024 * 1024,
        ),
    ]
}

#[tokio::test]
async fn every_token_attack_on_every_protected_route_is_a_401_and_changes_nothing() {
    let Some(_) = local_only("the key ring's secret, to sign tokens") else {
        return;
    };
    let victim = victim().await;
    let before = holdings(&victim.account).await;
    let routes = protected_routes(&victim);

    for (attack, authorization) in attacks(&victim.account).await {
        for route in &routes {
            let case = format!("{attack} on {}", route.name());
            assert_refused(
                &case,
                route.send(authorization.as_deref()).await,
                401,
                "UNAUTHENTICATED",
            )
            .await;
        }
    }

    assert_eq!(holdings(&victim.account).await, before, "nothing is stored");
    // The control: the genuine token, and one signed again with the real key, pass every route.
    let (kid, key) = active_key().await;
    let resigned = format!("Bearer {}", sign(&claims_of(&victim.account.access), &kid, &key));
    for (index, route) in routes.iter().enumerate() {
        let authorization = if index % 2 == 0 {
            victim.account.bearer()
        } else {
            resigned.clone()
        };
        let status = route.send(Some(&authorization)).await.status().as_u16();
        assert!(
            status < 400 || route.name().ends_with("/retry") && status == 409,
            "{}: {status}",
            route.name()
        );
    }
}

#[tokio::test]
async fn another_organizations_ids_are_not_found_and_its_cursors_invalid() {
    let owner = victim().await;
    let stranger = victim().await;
    create(&owner.account).await;
    victim_batch_again(&owner.account).await;
    member(&owner.account, "viewer").await;
    let (invoice, batch) = (&owner.invoice_id, &owner.batch_id);

    for call in routes_with_id(invoice, batch) {
        let response = call.send(Some(&stranger.account.bearer())).await;
        assert_refused(&call.name(), response, 404, "NOT_FOUND").await;
    }
    // Every list pages only its own organization: the owner's cursors are no use to a stranger.
    let lists = |batch: &str| {
        [
            "/v1/invoices?limit=1".to_owned(),
            "/v1/batches?limit=1".to_owned(),
            "/v1/users?limit=1".to_owned(),
            format!("/v1/batches/{batch}/invoices?limit=1"),
            format!("/v1/batches/{batch}/errors?limit=1"),
        ]
    };
    for (own, strangers) in lists(batch).into_iter().zip(lists(&stranger.batch_id)) {
        let (status, page) = invoices::get(&owner.account, &own).await;
        assert_eq!(status, 200, "{own}: {page}");
        let cursor = page["next_cursor"]
            .as_str()
            .unwrap_or_else(|| panic!("{own} has a second page: {page}"));
        let call = Call::new(Method::GET, format!("{strangers}&cursor={cursor}"));
        let response = call.send(Some(&stranger.account.bearer())).await;
        assert_refused(&call.name(), response, 400, "INVALID_CURSOR").await;
    }
    assert_eq!(
        holdings(&stranger.account).await,
        (3, 1, 1),
        "the stranger sees only its own"
    );
}

/// A second batch of `account`'s, so that its batch list has two pages of one.
async fn victim_batch_again(account: &Account) {
    let csv = format!("{HEADER}\n{}\n", row(&unique("SEC"), "SKU-1"));
    assert_eq!(
        batches::post(account, "text/csv", csv, None, "").await.status(),
        202
    );
}

#[tokio::test]
async fn bodies_at_their_limit_are_read_and_one_byte_over_is_a_413() {
    let victim = victim().await;
    for (call, limit) in json_routes().await {
        let before = holdings(&victim.account).await;
        let mut over = Call::new(call.method.clone(), call.path.clone());
        let mut padded = call.body.clone();
        padded.resize(limit + 1, b' ');
        over = over.body("application/json", padded);
        let response = over.send(Some(&victim.account.bearer())).await;
        assert_refused(
            &format!("{} over", call.name()),
            response,
            413,
            "PAYLOAD_TOO_LARGE",
        )
        .await;
        assert_eq!(
            holdings(&victim.account).await,
            before,
            "{}: nothing is stored",
            call.name()
        );

        let mut at = Call::new(call.method.clone(), call.path.clone());
        let mut padded = call.body.clone();
        padded.resize(limit, b' ');
        at = at.body("application/json", padded);
        let response = at.send(Some(&victim.account.bearer())).await;
        let status = response.status();
        assert!(
            status.is_success(),
            "{} at its limit: {status} {}",
            call.name(),
            response.text().await.unwrap()
        );
    }
}

#[tokio::test]
async fn ten_megabytes_of_whitespace_deep_nesting_and_bad_bytes_are_refused_on_every_body() {
    let victim = victim().await;
    let before = holdings(&victim.account).await;
    let whitespace = vec![b' '; 10 * 1024 * 1024];
    // Under the smallest body limit (16 KB), so that the nesting is what is refused.
    let nested = format!("{}{}", "[".repeat(8_000), "]".repeat(8_000));
    let bodies: [(&str, Vec<u8>, u16, &str); 5] = [
        ("10 MB of whitespace", whitespace, 413, "PAYLOAD_TOO_LARGE"),
        ("nesting 8,000 deep", nested.into_bytes(), 400, "INVALID_JSON"),
        (
            "invalid UTF-8",
            b"{\"email\": \"\xff\xfe\"}".to_vec(),
            400,
            "INVALID_JSON",
        ),
        (
            "a NUL byte",
            b"{\"email\": \"a\x00b\"}".to_vec(),
            400,
            "INVALID_JSON",
        ),
        (
            "an escaped NUL",
            br#"{"email": "a\u0000b"}"#.to_vec(),
            422,
            "VALIDATION_ERROR",
        ),
    ];
    for (call, _) in json_routes().await {
        for (case, body, status, code) in &bodies {
            let bad =
                Call::new(call.method.clone(), call.path.clone()).body("application/json", body.clone());
            let response = bad.send(Some(&victim.account.bearer())).await;
            assert_refused(&format!("{case} to {}", call.name()), response, *status, code).await;
        }
    }
    // A CSV batch: bytes that are not UTF-8, and a NUL in a cell.
    let not_utf8 = [
        format!("{HEADER}\n").as_bytes(),
        b"\xff\xfe",
        row(&unique("SEC"), "SKU-1").as_bytes(),
    ]
    .concat();
    let response = batches::post(&victim.account, "text/csv", not_utf8, None, "").await;
    assert_refused("a CSV that is not UTF-8", response, 400, "INVALID_CSV").await;
    let nul = format!("{HEADER}\n{}\n", row(&unique("SEC"), "SKU\u{0}1"));
    let response = batches::post(&victim.account, "text/csv", nul, None, "").await;
    assert_refused("a NUL in a CSV cell", response, 422, "VALIDATION_ERROR").await;
    // An escaped NUL where an invoice keeps text.
    let mut invoice = example();
    invoice["customer"]["name"] = json!("ACME\u{0} SAS");
    let response = invoices::post(&victim.account, &invoice, None).await;
    assert_refused("a NUL in a customer's name", response, 422, "VALIDATION_ERROR").await;

    assert_eq!(holdings(&victim.account).await, before, "nothing is stored");
}

#[tokio::test]
async fn long_headers_are_refused_by_name() {
    let victim = victim().await;
    let before = holdings(&victim.account).await;
    let response = invoices::post(&victim.account, &example(), Some(&"k".repeat(8 * 1024))).await;
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR", "{text}");
    assert_eq!(body["error"]["details"][0]["field"], "Idempotency-Key", "{text}");
    let response = Call::new(Method::GET, "/v1/users/me")
        .send(Some(&format!("Bearer {}", "A".repeat(8 * 1024))))
        .await;
    assert_refused("an 8 KB token", response, 401, "UNAUTHENTICATED").await;
    assert_eq!(holdings(&victim.account).await, before, "nothing is stored");
}

#[tokio::test]
async fn traversal_and_encoded_slashes_in_ids_are_not_found() {
    let victim = victim().await;
    let ids = [
        "..%2F..%2Fusers%2Fme".to_owned(),
        "%2e%2e%2f%2e%2e%2fbatches".to_owned(),
        "..%5C..%5Cetc%5Cpasswd".to_owned(),
        format!("{}%2F..", victim.invoice_id),
        format!("{}%00", victim.invoice_id),
        victim.invoice_id.to_lowercase(),
        "%252e%252e%252f".to_owned(),
        "A".repeat(2_000),
    ];
    for id in &ids {
        for call in routes_with_id(id, id) {
            let response = call.send(Some(&victim.account.bearer())).await;
            assert_refused(&call.name(), response, 404, "NOT_FOUND").await;
        }
    }
}

#[tokio::test]
async fn a_content_type_that_lies_is_refused() {
    let victim = victim().await;
    let before = holdings(&victim.account).await;
    let invoice = example().to_string();
    let csv = format!("{HEADER}\n{}\n", row(&unique("SEC"), "SKU-1"));
    let cases: Vec<(Call, u16, &str)> = vec![
        (
            Call::new(Method::POST, "/v1/invoices").body("text/plain", invoice.clone()),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            Call::new(Method::POST, "/v1/invoices").body("", invoice.clone()),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            Call::new(Method::POST, "/v1/invoices")
                .body("application/x-www-form-urlencoded", invoice.clone()),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            Call::new(Method::POST, "/v1/invoices").body("application/json", csv.clone()),
            400,
            "INVALID_JSON",
        ),
        (
            Call::new(Method::POST, "/v1/batches").body("application/json", csv.clone()),
            400,
            "INVALID_JSON",
        ),
        (
            Call::new(Method::POST, "/v1/batches").body("text/csv", format!("{{\"invoices\": [{invoice}]}}")),
            400,
            "INVALID_CSV",
        ),
        (
            Call::new(Method::POST, "/v1/batches").body("multipart/form-data; boundary=x", csv.clone()),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            Call::new(Method::POST, "/v1/users").body("text/csv", "email,role\na@b.co,owner\n"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
    ];
    for (call, status, code) in cases {
        let case = format!("{} as {:?}", call.name(), call.content_type);
        assert_refused(
            &case,
            call.send(Some(&victim.account.bearer())).await,
            status,
            code,
        )
        .await;
    }
    assert_eq!(holdings(&victim.account).await, before, "nothing is stored");
}

#[tokio::test]
async fn a_method_a_path_does_not_have_is_a_405_naming_those_it_has() {
    let victim = victim().await;
    let (invoice, batch) = (&victim.invoice_id, &victim.batch_id);
    let paths: [(String, &str); 11] = [
        ("/v1/health".to_owned(), "GET"),
        ("/v1/auth/signup".to_owned(), "POST"),
        ("/v1/auth/login".to_owned(), "POST"),
        ("/v1/auth/refresh".to_owned(), "POST"),
        ("/v1/auth/logout".to_owned(), "POST"),
        ("/v1/users/me".to_owned(), "GET"),
        (format!("/v1/invoices/{invoice}"), "GET"),
        (format!("/v1/invoices/{invoice}/retry"), "POST"),
        (format!("/v1/batches/{batch}"), "GET"),
        (format!("/v1/batches/{batch}/invoices"), "GET"),
        (format!("/v1/batches/{batch}/errors"), "GET"),
    ];
    let both = [
        ("/v1/users", "GET, POST"),
        ("/v1/invoices", "GET, POST"),
        ("/v1/batches", "GET, POST"),
    ];
    let all = paths
        .iter()
        .map(|(path, allowed)| (path.as_str(), *allowed))
        .chain(both);
    for (path, allowed) in all {
        for method in [Method::PUT, Method::PATCH, Method::DELETE] {
            if allowed.contains(method.as_str()) {
                continue;
            }
            let call = Call::new(method, path);
            let response = call.send(Some(&victim.account.bearer())).await;
            let allow = response
                .headers()
                .get("allow")
                .map(|value| value.to_str().unwrap().to_owned());
            assert_eq!(allow.as_deref(), Some(allowed), "{}", call.name());
            assert_refused(&call.name(), response, 405, "METHOD_NOT_ALLOWED").await;
        }
    }
}
