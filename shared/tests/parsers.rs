//! Property tests of everything that reads what a client sends: the invoice JSON parser, the CSV
//! batch parser, the cursor decoder and the token parser. Arbitrary bytes and arbitrary
//! near-valid inputs never panic, always come back as a value or a typed error, and never
//! allocate more than a fixed multiple of their size.
//!
//! Allocations are counted by an instrumented global allocator, so the tests of this binary take
//! turns (one lock) and each counts only its own parser call.

use std::alloc::System;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use shared::auth::Role;
use shared::auth::keyring::Keys;
use shared::auth::tokens::{self, Claims, TokenType};
use shared::domain::batch::{self, Refused};
use shared::domain::batch_csv::parse_csv;
use shared::domain::invoice::InvoiceInput;
use shared::http::ApiError;
use shared::json;
use shared::pagination::{self, Scope, Sealed};
use shared::validation::Problems;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// A parser may allocate (in all, freed or not) this many bytes per input byte, plus
/// [`ALLOCATION_SLACK`]. A valid CSV batch takes the most, about 90 (each row becomes a JSON
/// invoice, then a validated one); a parser that allocates per pair of rows, or without looking
/// at the input's size, does not stay inside it.
const ALLOCATION_PER_INPUT_BYTE: usize = 256;
const ALLOCATION_SLACK: usize = 256 * 1024;

static TURN: Mutex<()> = Mutex::new(());

fn take_turn() -> MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `parse` on an input of `size` bytes, failing the case when it allocates beyond the bound.
fn within_allocation_bound<T>(size: usize, parse: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    let region = Region::new(ALLOCATOR);
    let value = parse();
    let allocated = region.change().bytes_allocated;
    let bound = size * ALLOCATION_PER_INPUT_BYTE + ALLOCATION_SLACK;
    prop_assert!(
        allocated <= bound,
        "{allocated} bytes allocated for an input of {size} bytes (bound {bound})"
    );
    Ok(value)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------------ near-valid inputs

/// The invoice of the API's documentation.
fn valid_invoice() -> Value {
    json!({
        "reference_code": "FV-2026-0001",
        "payment_form": "credit", "payment_due_date": "2026-12-31", "payment_method_code": "10",
        "numbering_range_id": 8, "currency": "COP", "observation": "optional",
        "customer": {"identification_type": "NIT", "identification": "900123456", "dv": "8",
                     "legal_organization": "company", "name": "ACME SAS", "email": "ap@acme.co",
                     "address": "Cra 7 # 71-21", "phone": "3001234567", "municipality_code": "11001"},
        "items": [{"code_reference": "SKU-1", "name": "Widget", "quantity": "2", "price": "10000.00",
                   "discount_rate": "0", "tax_rate": "19", "unit_measure": "94", "is_excluded": false,
                   "withholding_taxes": [{"code": "06", "rate": "2.5"}]}]
    })
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[0-9]{1,40}(\\.[0-9]{1,40})?".prop_map(Value::String),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// One change to a JSON document.
#[derive(Clone, Debug)]
enum Mutation {
    Remove,
    Replace(Value),
    AddField(String, Value),
}

fn any_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Remove),
        any_json().prop_map(Mutation::Replace),
        ("[a-z_]{1,12}", any_json()).prop_map(|(key, value)| Mutation::AddField(key, value)),
    ]
}

/// Applies `mutation` at the `pick`-th node (in document order) of `document`.
fn mutate(document: &mut Value, pick: usize, mutation: &Mutation) {
    fn nodes(value: &Value) -> usize {
        1 + match value {
            Value::Array(items) => items.iter().map(nodes).sum(),
            Value::Object(members) => members.values().map(nodes).sum(),
            _ => 0,
        }
    }
    fn walk(value: &mut Value, mut pick: usize, mutation: &Mutation) {
        let children: Vec<&mut Value> = match value {
            Value::Array(items) => items.iter_mut().collect(),
            Value::Object(members) => members.values_mut().collect(),
            _ => Vec::new(),
        };
        for child in children {
            let size = nodes(child);
            if pick < size {
                if pick == 0 {
                    apply(child, mutation);
                } else {
                    walk(child, pick - 1, mutation);
                }
                return;
            }
            pick -= size;
        }
    }
    fn apply(value: &mut Value, mutation: &Mutation) {
        match (mutation, value) {
            (Mutation::AddField(key, new), Value::Object(members)) => {
                members.insert(key.clone(), new.clone());
            }
            (Mutation::Remove, value) => *value = Value::Null,
            (Mutation::Replace(new), value) => *value = new.clone(),
            (Mutation::AddField(..), _) => {}
        }
    }
    let total = nodes(document);
    if pick.is_multiple_of(total) {
        apply(document, mutation);
    } else {
        walk(document, pick % total - 1, mutation);
    }
}

/// Parses a body as `POST /v1/invoices` does: `None` with problems, or an invoice without.
fn parse_invoice(body: &[u8]) -> Result<Option<InvoiceInput>, TestCaseError> {
    let Ok(document) = json::parse(body) else {
        return Ok(None);
    };
    let mut problems = Problems::new();
    let invoice = InvoiceInput::parse(&document, "", &mut problems);
    prop_assert_eq!(
        invoice.is_some(),
        problems.is_empty(),
        "an invoice comes back exactly when there is no problem: {:?}",
        problems.into_errors()
    );
    Ok(invoice)
}

const CSV_HEADER: &str = "reference_code,payment_form,customer_identification_type,customer_identification,customer_dv,customer_legal_organization,customer_name,customer_email,item_code,item_name,quantity,price,tax_rate,withholding_taxes";

fn csv_row(reference: usize, item: usize) -> String {
    format!(
        "FV-{reference},cash,NIT,900123456,8,company,ACME SAS,ap@acme.co,SKU-{item},Widget,{item},1000.00,19,06:2.5"
    )
}

/// A valid CSV of a few invoices, as rows of cells.
fn valid_csv_cells() -> Vec<Vec<String>> {
    let mut rows = vec![CSV_HEADER.split(',').map(str::to_owned).collect::<Vec<_>>()];
    for (reference, item) in [(1, 1), (2, 2), (1, 3), (3, 4)] {
        rows.push(csv_row(reference, item).split(',').map(str::to_owned).collect());
    }
    rows
}

/// Any cell a spreadsheet might export, quotes, delimiters and line breaks included.
fn any_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,20}",
        "[0-9.,;-]{0,12}",
        "[\"\r\n,;|:=]{0,6}",
        Just(String::new()),
    ]
}

/// A CSV from cells, quoting cells that need it (or not, when `raw`).
fn join_csv(rows: &[Vec<String>], delimiter: char, raw: bool) -> Vec<u8> {
    let quote = |cell: &String| {
        if !raw && cell.contains(['"', '\n', '\r', delimiter]) {
            format!("\"{}\"", cell.replace('"', "\"\""))
        } else {
            cell.clone()
        }
    };
    rows.iter()
        .map(|row| {
            row.iter()
                .map(quote)
                .collect::<Vec<_>>()
                .join(&delimiter.to_string())
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        .into_bytes()
}

/// Checks what `parse_csv` answered: a typed refusal, or invoices and invalid inputs that point
/// at real records.
fn check_csv_outcome(outcome: Result<batch::Parsed, Refused>, records: usize) -> Result<(), TestCaseError> {
    match outcome {
        Ok(parsed) => {
            prop_assert!(parsed.valid.len() + parsed.invalid.count() <= records);
            for input in parsed.invalid.recorded() {
                prop_assert!(!input.errors.is_empty(), "an invalid input says why: {input:?}");
                prop_assert!(input.line.is_some_and(|line| line >= 2), "{input:?}");
            }
        }
        Err(Refused::TooMany(count)) => prop_assert!(count > batch::MAX_INVOICES),
        Err(Refused::Unreadable { message, .. }) => prop_assert!(!message.is_empty()),
        Err(Refused::NotABatch(details)) => prop_assert!(!details.is_empty()),
    }
    Ok(())
}

fn keys() -> Keys {
    let key = "0123456789abcdef0123456789abcdef-test";
    Keys::parse(&format!(r#"{{"active":"k1","k1":"{key}"}}"#)).unwrap_or_else(|e| panic!("{e}"))
}

fn scope(org_id: &str) -> Scope {
    Scope {
        org_id: org_id.to_owned(),
        route: "GET /v1/invoices",
        filters: vec![("status", "queued".to_owned())],
    }
}

fn read_cursor(keys: &Keys, scope: &Scope, cursor: &str) -> Result<BTreeMap<String, String>, ApiError> {
    Sealed::open(cursor).and_then(|sealed| sealed.verify(keys, scope))
}

fn claims(user: &str, org: &str, typ: TokenType) -> Claims {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Claims {
        iss: tokens::ISSUER.to_owned(),
        aud: tokens::AUDIENCE.to_owned(),
        sub: user.to_owned(),
        org: org.to_owned(),
        role: Role::Issuer,
        typ,
        iat: now,
        exp: now + 600,
        jti: "j1".to_owned(),
        fam: (typ == TokenType::Refresh).then(|| "f1".to_owned()),
    }
}

/// `text` with the character at `at` (modulo its length) replaced by `by`.
fn replace_char(text: &str, at: usize, by: char) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let at = at % chars.len();
    chars[at] = by;
    chars.into_iter().collect()
}

// ------------------------------------------------------------------ the invoice JSON parser

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_bytes_are_an_invoice_or_problems(body in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _turn = take_turn();
        within_allocation_bound(body.len(), || parse_invoice(&body))??;
    }

    #[test]
    fn arbitrary_json_is_an_invoice_or_problems(document in any_json()) {
        let _turn = take_turn();
        let body = serde_json::to_vec(&document).map_err(fail)?;
        within_allocation_bound(body.len(), || parse_invoice(&body))??;
    }

    #[test]
    fn a_changed_valid_invoice_is_an_invoice_or_problems(pick in any::<usize>(), mutation in any_mutation()) {
        let _turn = take_turn();
        let mut document = valid_invoice();
        mutate(&mut document, pick, &mutation);
        let body = serde_json::to_vec(&document).map_err(fail)?;
        let invoice = within_allocation_bound(body.len(), || parse_invoice(&body))??;
        if document == valid_invoice() {
            prop_assert!(invoice.is_some(), "the documented invoice is valid");
        }
    }

    #[test]
    fn nesting_of_any_depth_is_refused_as_syntax(depth in prop_oneof![0usize..64, 64usize..100_000], open in prop::sample::select(vec!["[", "{\"a\":"])) {
        let _turn = take_turn();
        let close = if open == "[" { "]" } else { "}" };
        let body = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        let parsed = within_allocation_bound(body.len(), || json::parse(body.as_bytes()))?;
        prop_assert_eq!(parsed.is_ok(), depth <= json::MAX_DEPTH);
    }
}

// ------------------------------------------------------------------ the CSV batch parser

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_are_a_batch_or_a_refusal(
        body in prop::collection::vec(any::<u8>(), 0..4096),
        charset in prop::option::of(prop_oneof![Just("utf-8".to_owned()), Just("windows-1252".to_owned()), ".{0,12}"]),
    ) {
        let _turn = take_turn();
        let outcome = within_allocation_bound(body.len(), || parse_csv(&body, charset.as_deref()))?;
        check_csv_outcome(outcome, body.len())?;
    }

    #[test]
    fn a_changed_valid_csv_is_a_batch_or_a_refusal(
        changes in prop::collection::vec((any::<usize>(), any::<usize>(), any_cell()), 1..6),
        dropped_column in prop::option::of(any::<usize>()),
        delimiter in prop::sample::select(vec![',', ';']),
        raw in any::<bool>(),
    ) {
        let _turn = take_turn();
        let mut rows = valid_csv_cells();
        for (row, column, cell) in changes {
            let row = row % rows.len();
            let column = column % rows[row].len();
            rows[row][column] = cell;
        }
        if let Some(column) = dropped_column {
            let column = column % rows[0].len();
            for row in &mut rows {
                row.remove(column);
            }
        }
        let body = join_csv(&rows, delimiter, raw);
        let outcome = within_allocation_bound(body.len(), || parse_csv(&body, None))?;
        check_csv_outcome(outcome, body.len())?;
    }

    #[test]
    fn a_valid_csv_of_any_size_is_read_whole(invoices in 1usize..300) {
        let _turn = take_turn();
        let rows: Vec<String> = (0..invoices).map(|n| csv_row(n, n + 1)).collect();
        let body = format!("{CSV_HEADER}\n{}\n", rows.join("\n")).into_bytes();
        let parsed = within_allocation_bound(body.len(), || parse_csv(&body, None))?;
        let parsed = parsed.map_err(|refused| fail(format!("{refused:?}")))?;
        prop_assert_eq!(parsed.valid.len(), invoices);
        prop_assert!(parsed.invalid.is_empty());
    }
}

// ------------------------------------------------------------------ the cursor decoder

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn an_arbitrary_cursor_is_refused(cursor in prop_oneof![".{0,300}", "[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,60}"]) {
        let _turn = take_turn();
        let outcome = within_allocation_bound(cursor.len(), || read_cursor(&keys(), &scope("o1"), &cursor))?;
        prop_assert!(matches!(outcome, Err(ApiError::InvalidCursor)), "{outcome:?}");
    }

    #[test]
    fn a_cursor_reads_back_only_unchanged_and_in_its_scope(
        page in prop::collection::btree_map("[A-Za-z0-9]{1,8}", ".{0,40}", 1..4),
        at in any::<usize>(),
        by in prop::char::range('-', 'z'),
    ) {
        let _turn = take_turn();
        let keys = keys();
        let cursor = pagination::seal(&keys, &scope("o1"), page.clone()).map_err(fail)?;
        prop_assert_eq!(read_cursor(&keys, &scope("o1"), &cursor).ok(), Some(page));
        prop_assert!(read_cursor(&keys, &scope("o2"), &cursor).is_err(), "another organization's cursor is refused");
        let changed = replace_char(&cursor, at, by);
        if changed != cursor {
            let outcome = within_allocation_bound(changed.len(), || read_cursor(&keys, &scope("o1"), &changed))?;
            prop_assert!(matches!(outcome, Err(ApiError::InvalidCursor)), "{outcome:?}");
        }
    }
}

// ------------------------------------------------------------------ the token parser

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn an_arbitrary_token_is_unauthenticated(token in prop_oneof![".{0,300}", "[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,120}\\.[A-Za-z0-9_-]{0,60}"]) {
        let _turn = take_turn();
        let outcome = within_allocation_bound(token.len(), || tokens::verify_with(&keys(), &token, TokenType::Access))?;
        prop_assert!(matches!(outcome, Err(ApiError::Unauthenticated)), "{outcome:?}");
    }

    #[test]
    fn a_token_verifies_only_unchanged_and_as_its_type(
        user in "[A-Z0-9]{1,26}",
        org in "[A-Z0-9]{1,26}",
        at in any::<usize>(),
        by in prop::char::range('-', 'z'),
    ) {
        let _turn = take_turn();
        let keys = keys();
        let issued = claims(&user, &org, TokenType::Access);
        let token = tokens::sign_with(&keys, &issued).map_err(fail)?;
        prop_assert_eq!(tokens::verify_with(&keys, &token, TokenType::Access).ok(), Some(issued));
        prop_assert!(tokens::verify_with(&keys, &token, TokenType::Refresh).is_err(), "an access token does not refresh");
        let changed = replace_char(&token, at, by);
        if changed != token {
            let outcome = within_allocation_bound(changed.len(), || tokens::verify_with(&keys, &changed, TokenType::Access))?;
            // Base64 may decode a changed last character to the same bytes: then it is the same token.
            match outcome {
                Ok(claims) => prop_assert_eq!(claims, claims_of(&keys, &token)?),
                Err(error) => prop_assert!(matches!(error, ApiError::Unauthenticated), "{error:?}"),
            }
        }
    }
}

fn claims_of(keys: &Keys, token: &str) -> Result<Claims, TestCaseError> {
    tokens::verify_with(keys, token, TokenType::Access).map_err(|e| fail(format!("{e:?}")))
}

fn fail(error: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(error.to_string())
}
