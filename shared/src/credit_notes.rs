//! Credit notes: how a request credits an invoice's lines, within what its live notes (those not
//! rejected or failed) left uncredited, what the invoice records of each note, and how the API
//! shows a note (docs/API.md, `CreditNote`). What is credited of a line is measured by its gross
//! amount (quantity × unit price), so returns and price adjustments add up on one scale.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::credit::{CorrectionConcept, CreditItem, CreditRequest};
use crate::domain::invoice::{Discount, InvoiceInput, Item};
use crate::domain::money::{money, round_cents};
use crate::domain::totals;
use crate::invoices::{Document, Invoice, Status, SubmissionState};
use crate::validation::FieldError;

/// How much of one invoice line a note credits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditedLine {
    /// The invoice's line, from 0.
    pub line: usize,
    /// Its gross amount credited (quantity × unit amount).
    pub gross: Decimal,
}

/// What a credit note credits, of which invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub invoice_id: String,
    /// The invoice's number at the provider (`bill_number`).
    pub invoice_number: String,
    pub concept: CorrectionConcept,
    pub reason: String,
    /// One per item of the note, in its order.
    pub lines: Vec<CreditedLine>,
}

/// An invoice's record of one of its credit notes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNoteEntry {
    pub reference_code: String,
    pub concept: CorrectionConcept,
    pub status: Status,
    pub number: Option<String>,
    pub total: Decimal,
    pub lines: Vec<CreditedLine>,
}

impl CreditNoteEntry {
    pub fn of(note: &Invoice) -> Option<Self> {
        let credit = note.credit.as_ref()?;
        Some(Self {
            reference_code: note.document.input.reference_code.as_str().to_owned(),
            concept: credit.concept,
            status: note.state.status,
            number: note.state.number.clone(),
            total: note.document.totals.payable,
            lines: credit.lines.clone(),
        })
    }

    /// Whether it credits anything: a rejected or failed note never will.
    fn is_live(&self) -> bool {
        !matches!(self.status, Status::Rejected | Status::Failed)
    }
}

/// The lines all the notes of one invoice may credit, counted once per note: what keeps the
/// invoice's item (which records them) far below DynamoDB's 400 KB.
pub const MAX_CREDITED_LINES: usize = 1_000;

/// Why a credit note cannot be made of an invoice.
#[derive(Debug, PartialEq, Eq)]
pub enum CreditRefused {
    /// Only an accepted invoice can be credited.
    NotAccepted(Status),
    /// Not now: why (another note still being submitted, too many notes).
    NotNow(String),
    /// It credits more than is left (or names lines the invoice does not have).
    Invalid(Vec<FieldError>),
}

impl Invoice {
    /// Each line's gross amount not yet credited by a live note.
    pub fn uncredited(&self) -> Vec<Decimal> {
        let mut left: Vec<Decimal> = self.document.lines.iter().map(|line| line.gross).collect();
        for entry in self.credit_notes.values().filter(|entry| entry.is_live()) {
            for credited in &entry.lines {
                if let Some(line) = left.get_mut(credited.line) {
                    *line -= credited.gross;
                }
            }
        }
        left
    }

    /// What its accepted credit notes credit.
    pub fn credited_total(&self) -> Decimal {
        self.credit_notes
            .values()
            .filter(|entry| entry.status == Status::Accepted)
            .map(|entry| entry.total)
            .sum()
    }

    /// Its credit notes as the invoice shows them, oldest first.
    pub fn credit_notes_view(&self) -> Vec<Value> {
        self.credit_notes
            .iter()
            .map(|(id, entry)| {
                json!({
                    "id": id,
                    "reference_code": entry.reference_code,
                    "correction_concept": entry.concept,
                    "status": entry.status,
                    "number": entry.number,
                    "total": money(entry.total),
                })
            })
            .collect()
    }

    /// The credit note `request` asks for of this invoice, `queued`, with the numbering range
    /// `numbering_range_id` (of credit notes): the lines it names, or all that is left of each.
    pub fn credit(
        &self,
        id: String,
        request: CreditRequest,
        numbering_range_id: Option<u64>,
        created_at: &str,
    ) -> Result<Invoice, CreditRefused> {
        let number = match (self.state.status, &self.state.number) {
            (Status::Accepted, Some(number)) => number.clone(),
            (status, _) => return Err(CreditRefused::NotAccepted(status)),
        };
        let pending = self
            .credit_notes
            .values()
            .any(|entry| !entry.status.is_terminal());
        if request.concept == CorrectionConcept::Annulment && pending {
            // Should that one be rejected, its part would be left uncredited on an annulled invoice.
            return Err(CreditRefused::NotNow(
                "another credit note of this invoice is still being submitted: annul it once that one ends"
                    .to_owned(),
            ));
        }
        let (items, lines) = match &request.items {
            Some(items) => self.credit_lines(items)?,
            None => self.credit_all_left()?,
        };
        let recorded: usize = self.credit_notes.values().map(|entry| entry.lines.len()).sum();
        if recorded + lines.len() > MAX_CREDITED_LINES {
            return Err(CreditRefused::NotNow(format!(
                "the notes of an invoice credit at most {MAX_CREDITED_LINES} lines in all; this one would make {}",
                recorded + lines.len()
            )));
        }
        let input = &self.document.input;
        let note_input = InvoiceInput {
            reference_code: request.reference_code,
            payment_form: input.payment_form,
            payment_due_date: input.payment_due_date.clone(),
            payment_method_code: input.payment_method_code.clone(),
            numbering_range_id,
            currency: input.currency.clone(),
            observation: Some(request.reason.clone()),
            send_email: false,
            customer: input.customer.clone(),
            items,
        };
        let (totals, amounts) = totals::compute(&note_input.items);
        Ok(Invoice {
            id,
            organization_id: self.organization_id.clone(),
            batch_id: None,
            created_at: created_at.to_owned(),
            state: SubmissionState {
                updated_at: created_at.to_owned(),
                ..SubmissionState::default()
            },
            document: Document {
                input: note_input,
                totals,
                lines: amounts,
            },
            credit: Some(Credit {
                invoice_id: self.id.clone(),
                invoice_number: number,
                concept: request.concept,
                reason: request.reason,
                lines,
            }),
            credit_notes: BTreeMap::new(),
        })
    }

    /// The note's items for the lines a request names, each within what is left of its line.
    fn credit_lines(&self, items: &[CreditItem]) -> Result<(Vec<Item>, Vec<CreditedLine>), CreditRefused> {
        let mut left = self.uncredited();
        let mut errors = Vec::new();
        let mut credited = (Vec::new(), Vec::new());
        for (index, wanted) in items.iter().enumerate() {
            let path = |field: &str| format!("items[{index}].{field}");
            let Some(item) = self.document.input.items.get(wanted.line) else {
                errors.push(FieldError::new(
                    path("line"),
                    format!("the invoice has {} lines", self.document.input.items.len()),
                ));
                continue;
            };
            if wanted.quantity > item.quantity {
                errors.push(FieldError::new(
                    path("quantity"),
                    format!("line {} has {} units", wanted.line + 1, item.quantity.normalize()),
                ));
                continue;
            }
            let amount = wanted.amount.unwrap_or(item.price);
            if amount > item.price {
                errors.push(FieldError::new(
                    path("amount"),
                    format!("line {}'s unit price is {}", wanted.line + 1, money(item.price)),
                ));
                continue;
            }
            let gross = round_cents(wanted.quantity * amount);
            let room = &mut left[wanted.line];
            if gross > *room {
                errors.push(FieldError::new(
                    path("quantity"),
                    format!(
                        "credits {} of line {}, of which {} is left uncredited",
                        money(gross),
                        wanted.line + 1,
                        money(*room)
                    ),
                ));
                continue;
            }
            *room -= gross;
            credited.0.push(part_of(
                item,
                wanted.quantity,
                amount,
                self.document.lines[wanted.line].gross,
            ));
            credited.1.push(CreditedLine {
                line: wanted.line,
                gross,
            });
        }
        if errors.is_empty() {
            Ok(credited)
        } else {
            Err(CreditRefused::Invalid(errors))
        }
    }

    /// The note's items for all that is left of each line.
    fn credit_all_left(&self) -> Result<(Vec<Item>, Vec<CreditedLine>), CreditRefused> {
        let mut credited = (Vec::new(), Vec::new());
        for (line, left) in self.uncredited().into_iter().enumerate() {
            if left <= Decimal::ZERO {
                continue;
            }
            let item = &self.document.input.items[line];
            let gross = self.document.lines[line].gross;
            let part = if left == gross {
                item.clone()
            } else {
                // Whole units at the line's price when they make it up, else one unit of what is left.
                let units = left / item.price;
                if item.price > Decimal::ZERO && units.normalize().scale() <= 2 {
                    part_of(item, units, item.price, gross)
                } else {
                    part_of(item, Decimal::ONE, left, gross)
                }
            };
            credited.0.push(part);
            credited.1.push(CreditedLine { line, gross: left });
        }
        if credited.0.is_empty() {
            return Err(CreditRefused::Invalid(vec![FieldError::new(
                "items",
                "nothing of the invoice is left to credit",
            )]));
        }
        Ok(credited)
    }

    /// The note as the API shows it.
    pub fn credit_note_view(&self) -> Value {
        let mut view = self.view();
        if let (Some(fields), Some(credit)) = (view.as_object_mut(), &self.credit) {
            for invoice_only in [
                "batch_id",
                "payment_form",
                "payment_due_date",
                "payment_method_code",
                "currency",
                "observation",
                "send_email",
                "credit_notes",
                "credited_total",
            ] {
                fields.remove(invoice_only);
            }
            let cude = fields.remove("cufe").unwrap_or(Value::Null);
            fields.insert("cude".into(), cude);
            fields.insert("invoice_id".into(), json!(credit.invoice_id));
            fields.insert("invoice_number".into(), json!(credit.invoice_number));
            fields.insert("correction_concept".into(), json!(credit.concept));
            fields.insert("reason".into(), json!(credit.reason));
            for list in ["items", "lines"] {
                if let Some(Value::Array(entries)) = fields.get_mut(list) {
                    for (entry, credited) in entries.iter_mut().zip(&credit.lines) {
                        entry["line"] = json!(credited.line + 1);
                    }
                }
            }
        }
        view
    }
}

/// `quantity` units of an invoice's line `item` at `amount` each, with the share of a fixed
/// discount that part carries (a discount rate stays as it is).
fn part_of(item: &Item, quantity: Decimal, amount: Decimal, line_gross: Decimal) -> Item {
    let mut part = item.clone();
    part.quantity = quantity;
    part.price = amount;
    if let Discount::Amount(discount) = item.discount
        && line_gross > Decimal::ZERO
    {
        part.discount = Discount::Amount(round_cents(
            discount * round_cents(quantity * amount) / line_gross,
        ));
    }
    part
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use serde_json::json;

    use super::*;
    use crate::validation::Problems;

    /// An accepted invoice of two lines: 2 × 10,000.00 with IVA 19 %, and 3 × 5,000.00 with
    /// 1,500.00 off and INC 8 %.
    fn accepted() -> Invoice {
        let body = json!({"reference_code": "FV-1", "payment_form": "cash",
            "customer": {"identification_type": "NIT", "identification": "900123456", "dv": "8",
                         "legal_organization": "company", "name": "ACME SAS", "email": "ap@acme.co"},
            "items": [{"code_reference": "A", "name": "Widget", "quantity": "2", "price": "10000", "tax_rate": "19"},
                      {"code_reference": "B", "name": "Lunch", "quantity": "3", "price": "5000",
                       "discount_amount": "1500", "taxes": [{"code": "04", "rate": "8"}]}]});
        let json = crate::json::parse(body.to_string().as_bytes()).unwrap();
        let input = InvoiceInput::parse(&json, "", &mut Problems::new()).unwrap();
        let mut invoice = Invoice::new("INV".into(), "ORG", None, input, "2026-12-01T00:00:00Z");
        invoice.state.status = Status::Accepted;
        invoice.state.number = Some("SETP990000001".into());
        invoice
    }

    fn request(concept: CorrectionConcept, items: Option<Vec<CreditItem>>) -> CreditRequest {
        CreditRequest {
            reference_code: crate::domain::invoice::ReferenceCode::parse("NC-1").unwrap(),
            concept,
            reason: "r".into(),
            numbering_range_id: None,
            items,
        }
    }

    fn item(line: usize, quantity: i64, amount: Option<i64>) -> CreditItem {
        CreditItem {
            line,
            quantity: Decimal::from(quantity),
            amount: amount.map(Decimal::from),
        }
    }

    /// `invoice` with `note` recorded on it as `status`.
    fn with(mut invoice: Invoice, note: &Invoice, status: Status) -> Invoice {
        let mut entry = CreditNoteEntry::of(note).unwrap();
        entry.status = status;
        invoice.credit_notes.insert(note.id.clone(), entry);
        invoice
    }

    #[test]
    fn an_annulment_of_an_untouched_invoice_is_the_invoice_again() {
        let invoice = accepted();
        let note = invoice
            .credit(
                "N1".into(),
                request(CorrectionConcept::Annulment, None),
                Some(9),
                "t",
            )
            .unwrap();
        assert_eq!(note.document.totals, invoice.document.totals);
        assert_eq!(note.document.input.items, invoice.document.input.items);
        let credit = note.credit.as_ref().unwrap();
        assert_eq!(
            (credit.invoice_id.as_str(), credit.invoice_number.as_str()),
            ("INV", "SETP990000001")
        );
        assert_eq!(note.document.input.numbering_range_id, Some(9));
        assert_eq!(note.kind(), crate::invoices::Kind::CreditNote);
    }

    #[test]
    fn a_part_then_the_rest_add_up_to_the_invoice_and_nothing_more_fits() {
        let invoice = accepted();
        // One lunch back: its share of the fixed discount (1,500 of 15,000) comes with it.
        let part = invoice
            .credit(
                "N1".into(),
                request(CorrectionConcept::PartialReturn, Some(vec![item(1, 1, None)])),
                None,
                "t",
            )
            .unwrap();
        assert_eq!(
            part.document.input.items[0].discount,
            Discount::Amount(Decimal::from(500))
        );
        assert_eq!(part.document.totals.payable, Decimal::new(486_000, 2));
        let credited = with(invoice, &part, Status::Accepted);
        assert_eq!(credited.credited_total(), Decimal::new(486_000, 2));
        let rest = credited
            .credit(
                "N2".into(),
                request(CorrectionConcept::Annulment, None),
                None,
                "t",
            )
            .unwrap();
        assert_eq!(rest.document.input.items[1].quantity, Decimal::from(2));
        assert_eq!(
            part.document.totals.payable + rest.document.totals.payable,
            credited.document.totals.payable
        );
        let all = with(credited, &rest, Status::Accepted);
        let nothing = all.credit(
            "N3".into(),
            request(CorrectionConcept::Annulment, None),
            None,
            "t",
        );
        assert!(matches!(nothing, Err(CreditRefused::Invalid(ref errors)) if errors[0].field == "items"));
        let over = all.credit(
            "N3".into(),
            request(CorrectionConcept::Rebate, Some(vec![item(0, 1, Some(1))])),
            None,
            "t",
        );
        assert!(
            matches!(over, Err(CreditRefused::Invalid(ref errors)) if errors[0].field == "items[0].quantity")
        );
    }

    #[test]
    fn a_rejected_note_credits_nothing_and_amounts_are_bounded_by_the_line() {
        let invoice = accepted();
        let all = invoice
            .credit(
                "N1".into(),
                request(CorrectionConcept::Annulment, None),
                None,
                "t",
            )
            .unwrap();
        let after_rejection = with(invoice, &all, Status::Rejected);
        assert_eq!(
            after_rejection.uncredited(),
            [Decimal::from(20_000), Decimal::from(15_000)]
        );
        // A price adjustment of 2,500.00 on each widget, then 7,500.00 of the 10,000.00 left.
        let adjusted = after_rejection
            .credit(
                "N2".into(),
                request(
                    CorrectionConcept::PriceAdjustment,
                    Some(vec![item(0, 2, Some(2_500))]),
                ),
                None,
                "t",
            )
            .unwrap();
        let adjusted_invoice = with(after_rejection, &adjusted, Status::Accepted);
        assert_eq!(adjusted_invoice.uncredited()[0], Decimal::from(15_000));
        let rest = adjusted_invoice
            .credit(
                "N3".into(),
                request(CorrectionConcept::Annulment, None),
                None,
                "t",
            )
            .unwrap();
        assert_eq!(
            (
                rest.document.input.items[0].quantity,
                rest.document.input.items[0].price
            ),
            (Decimal::new(15, 1), Decimal::from(10_000))
        );
        let too_much = adjusted_invoice.credit(
            "N4".into(),
            request(
                CorrectionConcept::Rebate,
                Some(vec![item(0, 1, Some(10_001)), item(5, 1, None)]),
            ),
            None,
            "t",
        );
        let Err(CreditRefused::Invalid(errors)) = too_much else {
            panic!("{too_much:?}")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["items[0].amount", "items[1].line"]);
    }

    #[test]
    fn no_annulment_while_another_note_is_still_being_submitted() {
        let invoice = accepted();
        let part = invoice
            .credit(
                "N1".into(),
                request(CorrectionConcept::PartialReturn, Some(vec![item(0, 1, None)])),
                None,
                "t",
            )
            .unwrap();
        let pending = with(invoice, &part, Status::Submitting);
        assert!(matches!(
            pending.credit(
                "N2".into(),
                request(CorrectionConcept::Annulment, None),
                None,
                "t"
            ),
            Err(CreditRefused::NotNow(_))
        ));
        let ended = with(pending, &part, Status::Accepted);
        assert!(
            ended
                .credit(
                    "N2".into(),
                    request(CorrectionConcept::Annulment, None),
                    None,
                    "t"
                )
                .is_ok()
        );
    }

    #[test]
    fn only_an_accepted_invoice_is_credited() {
        let mut invoice = accepted();
        invoice.state.status = Status::Annulled;
        assert_eq!(
            invoice
                .credit("N".into(), request(CorrectionConcept::Annulment, None), None, "t")
                .unwrap_err(),
            CreditRefused::NotAccepted(Status::Annulled)
        );
    }
}
