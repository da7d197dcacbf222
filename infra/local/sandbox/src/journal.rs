//! The log of the authenticated API requests the sandbox received (not Factus: tests read it
//! back with `GET /_sandbox/requests`), each with the reference code it concerns (from its
//! body, its path or `filter[reference_code]`), its JSON body and, once answered, its status.
//! It keeps the latest 200,000.

use std::collections::{HashMap, VecDeque};

use axum::extract::Query;
use axum::http::Uri;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::accounts::Account;
use crate::ledger::Kind;

const CAPACITY: usize = 200_000;

#[derive(Debug)]
struct Record {
    at: String,
    method: String,
    path: String,
    query: Option<String>,
    status: Option<u16>,
    reference_code: Option<String>,
    body: Option<Box<RawValue>>,
}

#[derive(Debug, Default)]
pub struct Journal {
    records: VecDeque<Record>,
    /// The sequence number of `records[0]`.
    first: u64,
}

impl Journal {
    /// Logs a request as it arrives; the number to give [`Journal::answered`].
    pub fn record(&mut self, method: &str, uri: &Uri, reference_code: Option<String>, body: &[u8]) -> u64 {
        if self.records.len() == CAPACITY {
            self.records.pop_front();
            self.first += 1;
        }
        let at = time::OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        self.records.push_back(Record {
            at,
            method: method.to_owned(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            status: None,
            reference_code,
            body: serde_json::from_slice(body).ok(),
        });
        self.first + self.records.len() as u64 - 1
    }

    /// Notes the status a logged request was answered.
    pub fn answered(&mut self, number: u64, status: u16) {
        let index = number
            .checked_sub(self.first)
            .and_then(|index| usize::try_from(index).ok());
        if let Some(record) = index.and_then(|index| self.records.get_mut(index)) {
            record.status = Some(status);
        }
    }

    /// The requests whose reference code starts with `prefix` (every request without one), oldest
    /// first.
    pub fn matching(&self, prefix: Option<&str>) -> Vec<Value> {
        self.records
            .iter()
            .filter(|record| match prefix {
                Some(prefix) => record
                    .reference_code
                    .as_deref()
                    .is_some_and(|code| code.starts_with(prefix)),
                None => true,
            })
            .map(|record| {
                json!({
                    "at": record.at, "method": record.method, "path": record.path, "query": record.query,
                    "status": record.status, "reference_code": record.reference_code, "body": record.body,
                })
            })
            .collect()
    }
}

/// `%XX`-decoded path segment.
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The reference code a request concerns: its body's `reference_code`, its path's (a delete),
/// the document its path names by number, or its `filter[reference_code]`.
pub fn reference(account: Option<&Account>, uri: &Uri, body: &[u8]) -> Option<String> {
    let from_body = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|body| body.get("reference_code")?.as_str().map(str::to_owned));
    if from_body.is_some() {
        return from_body;
    }
    let segments: Vec<String> = uri.path().split('/').skip(1).map(decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let by_number = |kind: Kind, number: &str| {
        account
            .and_then(|account| account.ledger(kind).by_number(number))
            .map(|document| document.reference_code.clone())
    };
    let from_path = match segments[..] {
        ["v2", "bills", "destroy", "reference", reference]
        | ["v2", "credit-notes", "reference", reference] => Some(reference.to_owned()),
        ["v2", "bills", number, ..] if number != "validate" => by_number(Kind::Bill, number),
        ["v2", "credit-notes", number, ..] if number != "validate" => by_number(Kind::CreditNote, number),
        _ => None,
    };
    from_path.or_else(|| {
        Query::<HashMap<String, String>>::try_from_uri(uri)
            .ok()
            .and_then(|Query(query)| query.get("filter[reference_code]").cloned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_come_from_the_body_the_path_or_the_filter_and_the_log_is_bounded() {
        let uri = |text: &str| text.parse::<Uri>().unwrap();
        let cases: [(&str, &[u8], Option<&str>); 6] = [
            ("/v2/bills/validate", br#"{"reference_code": "a-1"}"#, Some("a-1")),
            ("/v2/bills/destroy/reference/a%2F2", b"", Some("a/2")),
            ("/v2/credit-notes/reference/n-1", b"", Some("n-1")),
            ("/v2/bills?filter%5Breference_code%5D=a-3", b"", Some("a-3")),
            ("/v2/bills?filter[reference_code]=a-4&page=2", b"", Some("a-4")),
            ("/v2/numbering-ranges", b"", None),
        ];
        for (path, body, expected) in cases {
            assert_eq!(reference(None, &uri(path), body).as_deref(), expected, "{path}");
        }

        let mut journal = Journal::default();
        let first = journal.record(
            "POST",
            &uri("/v2/bills/validate"),
            Some("a-1".into()),
            br#"{"x": 1}"#,
        );
        journal.record("GET", &uri("/v2/bills"), None, b"");
        journal.answered(first, 201);
        let matching = journal.matching(Some("a-"));
        assert_eq!(matching.len(), 1);
        assert_eq!(
            (&matching[0]["status"], &matching[0]["body"]["x"]),
            (&json!(201), &json!(1))
        );
        assert_eq!(journal.matching(None).len(), 2);
        for _ in 0..CAPACITY {
            journal.record("GET", &uri("/v2/bills"), None, b"");
        }
        assert_eq!(journal.records.len(), CAPACITY);
        assert!(journal.matching(Some("a-")).is_empty());
        journal.answered(first, 500);
    }
}
