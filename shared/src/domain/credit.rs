//! A credit note as a client asks for it (docs/API.md, `CreditNoteInput`): its reference code,
//! DIAN's correction concept, the reason, and optionally which lines of the invoice it credits,
//! how many units of each and (but for a return) at what unit amount. Whether that fits in what
//! the invoice still has to credit is the invoice's to say ([`crate::invoices::Invoice::credit`]).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::invoice::ReferenceCode;
use super::money::parse_decimal;
use super::text::bounded;
use crate::json::{Json, Object, as_array, as_number_text};
use crate::validation::Problems;

/// Factus's `observation`, where the reason goes, takes at most this many characters.
const MAX_REASON: usize = 250;

/// DIAN's correction concepts of a credit note ("Códigos de corrección").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionConcept {
    /// 1: part of the goods returned, or of the service not accepted.
    PartialReturn,
    /// 2: the invoice annulled: the note credits all that is left of it.
    Annulment,
    /// 3: a rebate or discount, partial or total.
    Rebate,
    /// 4: a price adjustment.
    PriceAdjustment,
    /// 5: a discount for early payment.
    EarlyPaymentDiscount,
    /// 6: a discount for the volume of sales.
    VolumeDiscount,
}

impl CorrectionConcept {
    pub const ALL: [CorrectionConcept; 6] = [
        Self::PartialReturn,
        Self::Annulment,
        Self::Rebate,
        Self::PriceAdjustment,
        Self::EarlyPaymentDiscount,
        Self::VolumeDiscount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PartialReturn => "partial_return",
            Self::Annulment => "annulment",
            Self::Rebate => "rebate",
            Self::PriceAdjustment => "price_adjustment",
            Self::EarlyPaymentDiscount => "early_payment_discount",
            Self::VolumeDiscount => "volume_discount",
        }
    }

    /// Factus's `correction_concept_code`.
    pub fn dian_code(self) -> &'static str {
        match self {
            Self::PartialReturn => "1",
            Self::Annulment => "2",
            Self::Rebate => "3",
            Self::PriceAdjustment => "4",
            Self::EarlyPaymentDiscount => "5",
            Self::VolumeDiscount => "6",
        }
    }

    /// Whether a note of this concept may credit less than a line's unit price (`amount`): a
    /// return gives back whole units, at their price.
    pub fn takes_amounts(self) -> bool {
        !matches!(self, Self::PartialReturn | Self::Annulment)
    }

    fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|concept| concept.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|c| c.as_str()).collect();
                format!("must be one of {}", names.join(", "))
            })
    }
}

/// What to credit of one line of the invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditItem {
    /// The invoice's line, from 0 (the API counts from 1).
    pub line: usize,
    pub quantity: Decimal,
    /// The amount credited per unit; the line's price when absent.
    pub amount: Option<Decimal>,
}

/// A valid credit note request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditRequest {
    pub reference_code: ReferenceCode,
    pub concept: CorrectionConcept,
    pub reason: String,
    pub numbering_range_id: Option<u64>,
    /// `None`: all that is left of the invoice.
    pub items: Option<Vec<CreditItem>>,
}

impl CreditRequest {
    /// Parses a request body; `None` when anything is wrong, every problem in `problems`. The
    /// lines it names are checked against the invoice later.
    pub fn parse(value: &Json, problems: &mut Problems) -> Option<Self> {
        let before = problems.len();
        let mut root = Object::read(value, "", problems)?;
        let reference_code = root.parsed("reference_code", problems, ReferenceCode::parse);
        let concept = root.parsed("correction_concept", problems, CorrectionConcept::parse);
        let reason = root.parsed("reason", problems, |text| bounded(text, MAX_REASON));
        let numbering_range_id = super::invoice::numbering_range_id(&mut root, problems);
        let items_path = root.path_of("items");
        let items = root.optional("items").map(|value| {
            let elements = as_array(value, &items_path, problems).unwrap_or_default();
            if elements.is_empty() {
                problems.add(&items_path, "must name at least one line (or be left out)");
            }
            elements
                .into_iter()
                .filter_map(|(path, element)| parse_item(element, &path, concept, problems))
                .collect::<Vec<_>>()
        });
        if concept == Some(CorrectionConcept::Annulment) && items.is_some() {
            problems.add(
                &items_path,
                "an annulment credits all that is left of the invoice: leave items out",
            );
        }
        root.finish(problems);
        if problems.len() > before {
            return None;
        }
        Some(Self {
            reference_code: reference_code?,
            concept: concept?,
            reason: reason?,
            numbering_range_id,
            items,
        })
    }
}

fn parse_item(
    value: &Json,
    path: &str,
    concept: Option<CorrectionConcept>,
    problems: &mut Problems,
) -> Option<CreditItem> {
    let before = problems.len();
    let mut item = Object::read(value, path, problems)?;
    let line_path = item.path_of("line");
    let line = match item.required("line", problems) {
        Some(value) => {
            let text = as_number_text(value, &line_path, problems).unwrap_or_default();
            match text.parse::<usize>() {
                Ok(line) if line >= 1 => Some(line - 1),
                _ => {
                    problems.add(&line_path, "must be the number of a line of the invoice, from 1");
                    None
                }
            }
        }
        None => None,
    };
    let quantity_path = item.path_of("quantity");
    let quantity = item
        .required("quantity", problems)
        .and_then(|value| positive(value, &quantity_path, 9, problems));
    let amount_path = item.path_of("amount");
    let amount = item
        .optional("amount")
        .and_then(|value| positive(value, &amount_path, 13, problems));
    if amount.is_some() && concept.is_some_and(|concept| !concept.takes_amounts()) {
        problems.add(
            &amount_path,
            "a return or an annulment credits whole units at their price: leave amount out",
        );
    }
    item.finish(problems);
    (problems.len() == before).then_some(CreditItem {
        line: line?,
        quantity: quantity?,
        amount,
    })
}

/// A number above zero with at most two decimals and `digits` digits before the point.
fn positive(value: &Json, path: &str, digits: u32, problems: &mut Problems) -> Option<Decimal> {
    let text = as_number_text(value, path, problems)?;
    match parse_decimal(text, 2, digits) {
        Ok(number) if number > Decimal::ZERO => Some(number),
        Ok(_) => {
            problems.add(path, "must be greater than zero");
            None
        }
        Err(message) => {
            problems.add(path, message);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<CreditRequest, Vec<String>> {
        let json = crate::json::parse(body.as_bytes()).unwrap();
        let mut problems = Problems::new();
        let request = CreditRequest::parse(&json, &mut problems);
        problems
            .finish(request)
            .map(Option::unwrap)
            .map_err(|errors| errors.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn a_whole_credit_names_no_items_and_a_partial_one_names_lines_from_one() {
        let whole =
            parse(r#"{"reference_code":"NC-1","correction_concept":"annulment","reason":"wrong customer"}"#)
                .unwrap();
        assert_eq!((whole.concept, whole.items), (CorrectionConcept::Annulment, None));
        let partial = parse(
            r#"{"reference_code":"NC-2","correction_concept":"price_adjustment","reason":"r",
                "items":[{"line":2,"quantity":"1.5","amount":"1000.25"}]}"#,
        )
        .unwrap();
        let item = &partial.items.unwrap()[0];
        assert_eq!(item.line, 1);
        assert_eq!(item.quantity, Decimal::new(15, 1));
        assert_eq!(item.amount, Some(Decimal::new(100_025, 2)));
        assert_eq!(partial.concept.dian_code(), "4");
    }

    #[test]
    fn every_problem_is_named_at_its_field() {
        let errors = parse(
            r#"{"reference_code":"bad code","correction_concept":"other","reason":" ",
                "items":[{"line":0,"quantity":"0"},{"line":1,"quantity":"1.234","x":1}]}"#,
        )
        .unwrap_err();
        for field in [
            "reference_code",
            "correction_concept",
            "reason",
            "items[0].line",
            "items[0].quantity",
            "items[1].quantity",
            "items[1].x",
        ] {
            assert!(errors.iter().any(|e| e == field), "{field} in {errors:?}");
        }
        let errors = parse(
            r#"{"reference_code":"A","correction_concept":"annulment","reason":"r","items":[{"line":1,"quantity":1}]}"#,
        )
        .unwrap_err();
        assert_eq!(errors, ["items"]);
        let errors = parse(
            r#"{"reference_code":"A","correction_concept":"partial_return","reason":"r","items":[{"line":1,"quantity":1,"amount":5}]}"#,
        )
        .unwrap_err();
        assert_eq!(errors, ["items[0].amount"]);
        assert_eq!(
            parse(r#"{"reference_code":"A","correction_concept":"rebate","reason":"r","items":[]}"#)
                .unwrap_err(),
            ["items"]
        );
    }
}
