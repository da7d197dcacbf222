//! The life of a document, bills and credit notes alike. What passes Factus's input validation
//! is persisted with the next number of its range and its CUFE (a credit note's CUDE); DIAN then
//! validates it (with a RUT01 notification), rejects it (FAK24 for a NIT with a wrong check
//! digit) or is slow. A document persisted but not validated blocks every create of another
//! reference of its kind in its account (409) until it is deleted, or, when DIAN was slow, sent
//! again with the same reference (which validates it: `manejo-errores.md`, "demora en la
//! respuesta de la DIAN"). A reference that belongs to a validated document cannot be used
//! again (409); a validated document cannot be deleted.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use time::{Date, OffsetDateTime};

use crate::accounts::Account;
use crate::clock;
use crate::cufe::{CufeFields, cufe};
use crate::dian;
use crate::ranges::Snapshot;
use crate::rules::{self, Problem};
use crate::totals::Totals;

/// The kinds of document the sandbox serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bill,
    CreditNote,
}

impl Kind {
    /// The document code of the kind's numbering ranges.
    pub fn range_document(self) -> &'static str {
        match self {
            Self::Bill => "21",
            Self::CreditNote => "22",
        }
    }

    /// How Factus's messages name a document of the kind.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Bill => "factura",
            Self::CreditNote => "nota crédito",
        }
    }

    /// The input rules of the kind's create body.
    pub fn check(self, body: &Value) -> Vec<Problem> {
        match self {
            Self::Bill => rules::check_bill(body),
            Self::CreditNote => rules::check_credit_note(body),
        }
    }

    /// What the document's unique code is called.
    pub fn code_name(self) -> &'static str {
        match self {
            Self::Bill => "CUFE",
            Self::CreditNote => "CUDE",
        }
    }

    /// The key of the document's unique code: the range's technical key for a bill's CUFE, the
    /// software PIN for a credit note's CUDE.
    fn key(self, range: &Snapshot) -> String {
        match self {
            Self::Bill => range.technical_key.clone().unwrap_or_default(),
            Self::CreditNote => dian::SOFTWARE_PIN.to_owned(),
        }
    }
}

/// Where a document stands with DIAN.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Validated {
        at: OffsetDateTime,
    },
    /// Rejected by `rule` (code, message); `told` is how the create answered the rejection.
    Rejected {
        rule: (String, String),
        told: Told,
    },
    /// DIAN has not answered yet.
    Slow,
}

/// How a create answered a DIAN rejection: both shapes exist at Factus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Told {
    /// 422 `{"status": "Validation error", ..., "data": {"errors": {rule: message}}}` (the SDK's
    /// tested FAK24).
    ValidationError,
    /// 201 with the document, `is_validated: false` and the rejection in `errors`
    /// (`manejo-errores.md`, v2).
    CreateShape,
}

/// A RADIAN event of a bill.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub number: String,
    pub cude: String,
    pub code: String,
    pub at: OffsetDateTime,
}

/// A persisted document.
#[derive(Clone, Debug)]
pub struct Document {
    pub kind: Kind,
    pub reference_code: String,
    pub number: String,
    /// The create request's body, as sent.
    pub body: Value,
    /// The customer it names (a credit note without one names its bill's).
    pub customer: Value,
    /// The bill a credit note references.
    pub bill_number: Option<String>,
    pub range: Snapshot,
    pub totals: Totals,
    /// The CUFE of a bill, the CUDE of a credit note.
    pub cufe: String,
    /// When it was persisted: also its issue date and time.
    pub created_at: OffsetDateTime,
    pub status: Status,
    pub events: Vec<Event>,
    /// The days it was emailed on (`send-email`).
    pub emails: Vec<Date>,
}

impl Document {
    pub fn is_validated(&self) -> bool {
        matches!(self.status, Status::Validated { .. })
    }

    pub fn validated_at(&self) -> Option<OffsetDateTime> {
        match self.status {
            Status::Validated { at } => Some(at),
            _ => None,
        }
    }

    /// `errors`: rule code → message, DIAN's notification of a validated document, its rejection
    /// of a rejected one. Empty, Laravel writes it as a list: `[]`.
    pub fn errors(&self) -> Value {
        let (code, message) = match &self.status {
            Status::Validated { .. } => dian::notification(),
            Status::Rejected { rule, .. } => rule.clone(),
            Status::Slow => return Value::Array(Vec::new()),
        };
        Value::Object([(code, Value::String(message))].into_iter().collect())
    }

    /// Why it blocks its account, if it does: `rejected` or `slow`.
    pub fn pending(&self) -> Option<&'static str> {
        match self.status {
            Status::Validated { .. } => None,
            Status::Rejected { .. } => Some("rejected"),
            Status::Slow => Some("slow"),
        }
    }

    /// The DIAN issue date (`YYYY-MM-DD`) and time (`HH:MM:SS-05:00`).
    pub fn issued(&self) -> (String, String) {
        (
            clock::iso_date(self.created_at.date()),
            clock::issue_time(self.created_at),
        )
    }
}

/// An account's documents of one kind.
#[derive(Debug, Default)]
pub struct Ledger {
    /// By creation order.
    documents: BTreeMap<u64, Document>,
    by_reference: HashMap<String, u64>,
    by_number: HashMap<String, u64>,
    /// The document that blocks the account, if any: there is at most one.
    pending: Option<u64>,
    next: u64,
}

/// What a delete found.
#[derive(Debug, PartialEq, Eq)]
pub enum Deletion {
    Deleted,
    Validated,
    NotFound,
}

impl Ledger {
    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Document> {
        self.documents.values()
    }

    pub fn by_reference(&self, reference: &str) -> Option<&Document> {
        self.documents.get(self.by_reference.get(reference)?)
    }

    pub fn by_number(&self, number: &str) -> Option<&Document> {
        self.documents.get(self.by_number.get(number)?)
    }

    pub fn by_number_mut(&mut self, number: &str) -> Option<&mut Document> {
        self.documents.get_mut(self.by_number.get(number)?)
    }

    pub fn pending(&self) -> Option<&Document> {
        self.documents.get(&self.pending?)
    }

    fn insert(&mut self, document: Document) {
        let id = self.next;
        self.next += 1;
        self.by_reference.insert(document.reference_code.clone(), id);
        self.by_number.insert(document.number.clone(), id);
        if document.pending().is_some() {
            self.pending = Some(id);
        }
        self.documents.insert(id, document);
    }

    /// Deletes the document of `reference`, unless DIAN validated it.
    pub fn delete(&mut self, reference: &str) -> Deletion {
        let Some(&id) = self.by_reference.get(reference) else {
            return Deletion::NotFound;
        };
        if self.documents.get(&id).is_none_or(Document::is_validated) {
            return Deletion::Validated;
        }
        if let Some(document) = self.documents.remove(&id) {
            self.by_reference.remove(&document.reference_code);
            self.by_number.remove(&document.number);
        }
        if self.pending == Some(id) {
            self.pending = None;
        }
        Deletion::Deleted
    }
}

/// A create that passed input validation.
#[derive(Clone, Debug)]
pub struct Draft {
    pub reference_code: String,
    pub body: Value,
    pub customer: Value,
    pub bill_number: Option<String>,
    pub range_id: u64,
}

/// What DIAN does with a new document, as faults inject it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DianFault {
    None,
    Slow,
    Rejection,
}

/// What became of a create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submission {
    /// Answered with the document (201); `validated`: DIAN validated it in this call.
    Answered { validated: bool },
    /// Persisted, rejected by DIAN, answered 422 with its rule.
    Rejected,
    /// Another document of the kind, `pending`, blocks the account: 409.
    Blocked { pending: String },
    /// The reference belongs to a validated document: 409.
    Used,
    /// The range has no number left: 422.
    Exhausted,
}

/// Submits `draft` to Factus and DIAN.
pub fn submit(
    account: &mut Account,
    kind: Kind,
    draft: Draft,
    fault: DianFault,
    now: OffsetDateTime,
) -> Submission {
    let ledger = account.ledger_mut(kind);
    if let Some(&id) = ledger.by_reference.get(&draft.reference_code) {
        return resend(ledger, id, now);
    }
    if let Some(pending) = ledger.pending() {
        return Submission::Blocked {
            pending: pending.reference_code.clone(),
        };
    }
    let Some((number, range)) = account.ranges.take(draft.range_id, now) else {
        return Submission::Exhausted;
    };
    let totals = Totals::of(&draft.body);
    let (issue_date, issue_time) = (clock::iso_date(now.date()), clock::issue_time(now));
    let buyer = dian::text(&draft.customer, "identification").unwrap_or_default();
    let code = cufe(&CufeFields {
        number: &number,
        issue_date: &issue_date,
        issue_time: &issue_time,
        value_before_taxes: totals.line_extension,
        iva: totals.iva(),
        inc: totals.inc(),
        ica: totals.ica(),
        payable: totals.total,
        issuer_nit: &account.company.nit,
        buyer_identification: &buyer,
        technical_key: &kind.key(&range),
        environment: dian::ENVIRONMENT,
    });
    let status = match (dian::rejection(&draft.customer), fault) {
        (Some(rule), _) => Status::Rejected {
            rule,
            told: Told::ValidationError,
        },
        (None, DianFault::Slow) => Status::Slow,
        (None, DianFault::Rejection) => Status::Rejected {
            rule: dian::injected_rejection(),
            told: Told::CreateShape,
        },
        (None, DianFault::None) => Status::Validated { at: now },
    };
    let submission = match status {
        Status::Validated { .. } => Submission::Answered { validated: true },
        Status::Rejected {
            told: Told::ValidationError,
            ..
        } => Submission::Rejected,
        _ => Submission::Answered { validated: false },
    };
    account.ledger_mut(kind).insert(Document {
        kind,
        reference_code: draft.reference_code,
        number,
        body: draft.body,
        customer: draft.customer,
        bill_number: draft.bill_number,
        range,
        totals,
        cufe: code,
        created_at: now,
        status,
        events: Vec::new(),
        emails: Vec::new(),
    });
    submission
}

/// A create of a reference the ledger holds: a retry.
fn resend(ledger: &mut Ledger, id: u64, now: OffsetDateTime) -> Submission {
    let Some(document) = ledger.documents.get_mut(&id) else {
        return Submission::Used;
    };
    match &document.status {
        Status::Validated { .. } => Submission::Used,
        Status::Slow => {
            document.status = Status::Validated { at: now };
            ledger.pending = None;
            Submission::Answered { validated: true }
        }
        Status::Rejected {
            told: Told::ValidationError,
            ..
        } => Submission::Rejected,
        Status::Rejected {
            told: Told::CreateShape,
            ..
        } => Submission::Answered { validated: false },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::accounts::testing::account;

    fn draft(reference: &str, dv: &str) -> Draft {
        let customer = json!({"identification_document_code": "31", "identification": "123456789", "dv": dv,
            "legal_organization_code": "1", "company": "Alan company name"});
        Draft {
            reference_code: reference.to_owned(),
            body: json!({"reference_code": reference, "customer": customer,
                "items": [{"quantity": "1", "price": "10000.00", "taxes": [{"code": "01", "rate": "19.00"}]}]}),
            customer,
            bill_number: None,
            range_id: 8,
        }
    }

    #[test]
    fn a_slow_bill_blocks_the_account_until_it_is_sent_again() {
        let mut account = account();
        let now = clock::now();
        let bill = |account: &mut Account, reference: &str, fault| {
            submit(account, Kind::Bill, draft(reference, "6"), fault, now)
        };
        assert_eq!(
            bill(&mut account, "slow", DianFault::Slow),
            Submission::Answered { validated: false }
        );
        let slow = account.bills.by_reference("slow").unwrap();
        assert_eq!(
            (slow.number.as_str(), slow.pending(), slow.errors()),
            ("SETP990000001", Some("slow"), json!([]))
        );
        assert_eq!(slow.cufe.len(), 96);
        assert_eq!(
            bill(&mut account, "other", DianFault::None),
            Submission::Blocked {
                pending: "slow".into()
            }
        );
        // Credit notes have their own block.
        assert_eq!(
            submit(
                &mut account,
                Kind::CreditNote,
                Draft {
                    range_id: 9,
                    ..draft("note", "6")
                },
                DianFault::None,
                now
            ),
            Submission::Answered { validated: true }
        );
        assert_eq!(
            bill(&mut account, "slow", DianFault::Slow),
            Submission::Answered { validated: true }
        );
        assert!(account.bills.by_reference("slow").unwrap().is_validated());
        assert_eq!(
            bill(&mut account, "other", DianFault::None),
            Submission::Answered { validated: true }
        );
        let other = account.bills.by_reference("other").unwrap();
        assert_eq!(other.number, "SETP990000002");
        assert_eq!(
            other.errors()["RUT01"],
            "Regla: RUT01, Notificación: La validación del estado del RUT próximamente estará disponible."
        );
        assert_eq!(bill(&mut account, "other", DianFault::None), Submission::Used);
        assert_eq!(account.bills.delete("other"), Deletion::Validated);
        assert_eq!(account.bills.delete("nobody"), Deletion::NotFound);
    }

    #[test]
    fn a_rejected_bill_answers_its_rejection_again_until_it_is_deleted() {
        let mut account = account();
        let now = clock::now();
        let wrong_dv = draft("wrong", "3");
        assert_eq!(
            submit(&mut account, Kind::Bill, wrong_dv.clone(), DianFault::None, now),
            Submission::Rejected
        );
        let rejected = account.bills.by_reference("wrong").unwrap();
        assert!(rejected.errors()["FAK24"].as_str().unwrap().contains("Rechazo"));
        assert_eq!(
            submit(&mut account, Kind::Bill, wrong_dv, DianFault::None, now),
            Submission::Rejected
        );
        assert_eq!(
            submit(&mut account, Kind::Bill, draft("next", "6"), DianFault::None, now),
            Submission::Blocked {
                pending: "wrong".into()
            }
        );
        assert_eq!(account.bills.delete("wrong"), Deletion::Deleted);
        assert!(account.bills.by_reference("wrong").is_none());
        assert_eq!(
            submit(
                &mut account,
                Kind::Bill,
                draft("injected", "6"),
                DianFault::Rejection,
                now
            ),
            Submission::Answered { validated: false }
        );
        assert!(account.bills.by_reference("injected").unwrap().errors()["FAJ43b"].is_string());
        assert_eq!(
            submit(
                &mut account,
                Kind::Bill,
                draft("injected", "6"),
                DianFault::None,
                now
            ),
            Submission::Answered { validated: false }
        );
        assert_eq!(account.bills.delete("injected"), Deletion::Deleted);
        assert_eq!(
            submit(&mut account, Kind::Bill, draft("next", "6"), DianFault::None, now),
            Submission::Answered { validated: true }
        );
    }
}
