//! Credit notes (`notas-credito/`, the SDK's `credit-notes.ts`): the shared document routes under
//! `/v2/credit-notes`, deleted at `/v2/credit-notes/reference/{reference_code}`, numbered from
//! their own range (document 22), with a CUDE. A note of type 20 references a bill of the
//! account that DIAN validated (`bill_number`) and, without a `customer`, takes the bill's.

use axum::Router;
use serde_json::Value;

use crate::accounts::Account;
use crate::dian::text;
use crate::handlers;
use crate::ledger::Kind;
use crate::rules::Problem;
use crate::state::Shared;

pub fn routes() -> Router<Shared> {
    handlers::routes(
        Kind::CreditNote,
        "/v2/credit-notes",
        "/v2/credit-notes/reference/{reference_code}",
    )
}

/// The customer a credit note names and the bill it references; a referenced bill that the
/// account does not have validated is a problem.
pub fn resolve(account: &Account, body: &Value, problems: &mut Vec<Problem>) -> (Value, Option<String>) {
    let given = body.get("customer").cloned().unwrap_or(Value::Null);
    let customization = text(body, "customization_id").unwrap_or_else(|| "20".to_owned());
    let Some(number) = text(body, "bill_number").filter(|_| customization == "20") else {
        return (given, None);
    };
    match account.bills.by_number(&number) {
        Some(bill) if bill.is_validated() => {
            let customer = if given.is_object() {
                given
            } else {
                bill.customer.clone()
            };
            (customer, Some(number))
        }
        _ => {
            problems.push((
                "bill_number".to_owned(),
                format!("La factura {number} no existe o no ha sido validada por la DIAN."),
            ));
            (given, None)
        }
    }
}
