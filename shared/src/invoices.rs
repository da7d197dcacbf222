//! An invoice through its life: the validated input, its totals, and its submission state
//! (`queued -> submitting -> accepted | rejected`, `failed` after the dead-letter queue,
//! `accepted -> annulled` when an annulment credit note is accepted), and how the API shows it
//! (docs/API.md, `Invoice`). A credit note is submitted exactly as an invoice is, so it is one
//! too, of [`Kind::CreditNote`], with what it credits ([`crate::credit_notes`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::credit_notes::{Credit, CreditNoteEntry};

use crate::domain::invoice::{Discount, InvoiceInput, Item};
use crate::domain::money::{money, plain};
use crate::domain::totals::{self, LineAmounts, Totals};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Queued,
    Submitting,
    Accepted,
    Rejected,
    Failed,
    /// An accepted invoice whose annulment credit note was accepted.
    Annulled,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Queued,
        Status::Submitting,
        Status::Accepted,
        Status::Rejected,
        Status::Failed,
        Status::Annulled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Submitting => "submitting",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
            Status::Failed => "failed",
            Status::Annulled => "annulled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Whether the invoice has reached the end of its submission.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Accepted | Status::Rejected | Status::Failed | Status::Annulled
        )
    }
}

/// What a document of the submission pipeline is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Kind {
    #[default]
    Invoice,
    CreditNote,
}

/// One message of the provider about a document: a DIAN rule (`FAK24`, `RUT01`) or a field of
/// the provider's own validation, and what it says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderMessage {
    pub rule: String,
    pub message: String,
}

impl ProviderMessage {
    pub fn new(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            rule: rule.into(),
            message: message.into(),
        }
    }
}

/// The state of an invoice that changes as it is submitted; what an idempotent replay restores.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionState {
    pub status: Status,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub number: Option<String>,
    pub cufe: Option<String>,
    pub qr_url: Option<String>,
    /// The provider's page of the issued invoice.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Why it was rejected: one entry per DIAN rule or provider field.
    pub provider_errors: Vec<ProviderMessage>,
    /// DIAN's notifications on an accepted invoice (`Notificación`): informative, it is valid.
    #[serde(default)]
    pub provider_notices: Vec<ProviderMessage>,
    /// For a rejected invoice: whether its rejected bill was deleted at the provider (a pending
    /// rejected bill blocks the account until it is).
    #[serde(default)]
    pub provider_cleared: Option<bool>,
    pub updated_at: String,
    pub accepted_at: Option<String>,
}

/// What never changes after creation: the input, its totals and its lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub input: InvoiceInput,
    pub totals: Totals,
    pub lines: Vec<LineAmounts>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invoice {
    pub id: String,
    pub organization_id: String,
    pub batch_id: Option<String>,
    pub created_at: String,
    pub state: SubmissionState,
    pub document: Document,
    /// A credit note's: what it credits of which invoice. `None` for an invoice.
    pub credit: Option<Credit>,
    /// An invoice's credit notes, by id, as they stand.
    pub credit_notes: BTreeMap<String, CreditNoteEntry>,
}

impl Invoice {
    /// A new invoice, `queued`, with its totals computed.
    pub fn new(
        id: String,
        organization_id: &str,
        batch_id: Option<&str>,
        input: InvoiceInput,
        created_at: &str,
    ) -> Self {
        let (totals, lines) = totals::compute(&input.items);
        Self {
            id,
            organization_id: organization_id.to_owned(),
            batch_id: batch_id.map(str::to_owned),
            created_at: created_at.to_owned(),
            state: SubmissionState {
                updated_at: created_at.to_owned(),
                ..SubmissionState::default()
            },
            document: Document { input, totals, lines },
            credit: None,
            credit_notes: BTreeMap::new(),
        }
    }

    pub fn kind(&self) -> Kind {
        if self.credit.is_some() {
            Kind::CreditNote
        } else {
            Kind::Invoice
        }
    }

    /// The invoice as the API shows it.
    pub fn view(&self) -> Value {
        let input = &self.document.input;
        let customer = &input.customer;
        let totals = &self.document.totals;
        let state = &self.state;
        let items: Vec<Value> = input.items.iter().map(item_view).collect();
        let lines: Vec<Value> = input
            .items
            .iter()
            .zip(&self.document.lines)
            .map(|(item, amounts)| line_view(item, amounts))
            .collect();
        json!({
            "id": self.id,
            "organization_id": self.organization_id,
            "batch_id": self.batch_id,
            "reference_code": input.reference_code.as_str(),
            "payment_form": input.payment_form,
            "payment_due_date": input.payment_due_date,
            "payment_method_code": input.payment_method_code,
            "numbering_range_id": input.numbering_range_id,
            "currency": input.currency,
            "observation": input.observation,
            "send_email": input.send_email,
            "customer": {
                "identification_type": customer.identification_type.as_str(),
                "identification": customer.identification,
                "dv": customer.dv,
                "legal_organization": customer.legal_organization,
                "name": customer.name,
                "email": customer.email,
                "address": customer.address,
                "phone": customer.phone,
                "municipality_code": customer.municipality_code,
            },
            "items": items,
            "status": state.status,
            "attempts": state.attempts,
            "last_error": state.last_error,
            "totals": {
                "subtotal": money(totals.subtotal),
                "discount_total": money(totals.discount_total),
                "taxes": totals.taxes.iter().map(|group| json!({
                    "code": group.code.as_str(),
                    "rate": plain(group.rate),
                    "taxable": money(group.taxable),
                    "amount": money(group.amount),
                })).collect::<Vec<_>>(),
                "tax_total": money(totals.tax_total),
                "withholding_total": money(totals.withholding_total),
                "total": money(totals.total),
                "payable": money(totals.payable),
            },
            "lines": lines,
            "number": state.number,
            "cufe": state.cufe,
            "qr_url": state.qr_url,
            "public_url": state.public_url,
            "provider_errors": state.provider_errors,
            "provider_notices": state.provider_notices,
            "provider_cleared": state.provider_cleared,
            "created_at": self.created_at,
            "updated_at": state.updated_at,
            "accepted_at": state.accepted_at,
            "credit_notes": self.credit_notes_view(),
            "credited_total": money(self.credited_total()),
        })
    }
}

fn item_fields(item: &Item) -> Map<String, Value> {
    let withholdings: Vec<Value> = item
        .withholding_taxes
        .iter()
        .map(|w| json!({"code": w.code.as_str(), "rate": plain(w.rate)}))
        .collect();
    let mut fields = Map::new();
    fields.insert("code_reference".into(), item.code_reference.clone().into());
    fields.insert("name".into(), item.name.clone().into());
    fields.insert("quantity".into(), plain(item.quantity).into());
    fields.insert("price".into(), money(item.price).into());
    let (discount_rate, discount_amount) = match item.discount {
        Discount::Rate(rate) => (Some(plain(rate)), None),
        Discount::Amount(amount) => (None, Some(money(amount))),
    };
    fields.insert("discount_rate".into(), discount_rate.into());
    fields.insert("discount_amount".into(), discount_amount.into());
    fields.insert("tax_rate".into(), item.iva_rate().map(plain).into());
    let taxes: Vec<Value> = item
        .taxes
        .iter()
        .map(|tax| json!({"code": tax.code.as_str(), "rate": plain(tax.rate)}))
        .collect();
    fields.insert("taxes".into(), taxes.into());
    fields.insert("unit_measure".into(), item.unit_measure.clone().into());
    fields.insert("is_excluded".into(), item.is_excluded.into());
    fields.insert("withholding_taxes".into(), withholdings.into());
    fields
}

fn item_view(item: &Item) -> Value {
    Value::Object(item_fields(item))
}

fn line_view(item: &Item, amounts: &LineAmounts) -> Value {
    let mut fields = item_fields(item);
    let withholdings: Vec<Value> = item
        .withholding_taxes
        .iter()
        .zip(&amounts.withholdings)
        .map(|(w, amount)| json!({"code": w.code.as_str(), "rate": plain(w.rate), "amount": money(*amount)}))
        .collect();
    fields.insert("withholding_taxes".into(), withholdings.into());
    let taxes: Vec<Value> = item
        .taxes
        .iter()
        .zip(&amounts.taxes)
        .map(|(tax, amount)| json!({"code": tax.code.as_str(), "rate": plain(tax.rate), "amount": money(*amount)}))
        .collect();
    fields.insert("taxes".into(), taxes.into());
    for (name, amount) in [
        ("gross", amounts.gross),
        ("discount", amounts.discount),
        ("taxable", amounts.taxable),
        ("tax", amounts.tax),
        ("total", amounts.total),
    ] {
        fields.insert(name.into(), money(amount).into());
    }
    Value::Object(fields)
}
