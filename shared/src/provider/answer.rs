//! Factus's answers read: a bill (`data` of a create or a view, `ViewBillData`; a list row,
//! `BillListItem`), DIAN's messages split into *Rechazo* (the bill is rejected) and
//! *Notificación* (informative: the bill is valid), and every answer to a create classified
//! (`manejo-errores.md`, `respuestas-del-api.md`).

use std::time::Duration;

use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::invoices::ProviderMessage;

/// A bill as the provider holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bill {
    pub reference_code: String,
    pub number: String,
    /// DIAN validated it.
    pub is_validated: bool,
    /// Absent in list rows.
    pub cufe: Option<String>,
    pub qr_url: Option<String>,
    pub public_url: Option<String>,
    pub total: Option<Decimal>,
    pub customer_identification: Option<String>,
    /// DIAN's rejections (`Rechazo`): a bill with any is rejected.
    pub rejections: Vec<ProviderMessage>,
    /// DIAN's notifications (`Notificación`) and any other message.
    pub notices: Vec<ProviderMessage>,
}

impl Bill {
    /// Pending at the provider (persisted, not validated) because DIAN rejected it.
    pub fn is_rejected(&self) -> bool {
        !self.is_validated && !self.rejections.is_empty()
    }
}

pub(crate) fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn decimal(value: Option<&Value>) -> Option<Decimal> {
    let text = text(value?)?;
    Decimal::from_str_exact(text.trim()).ok()
}

/// The messages of an `errors` field: a map of DIAN rule (or field) to a message or a list of
/// them, or a plain list (`DocumentErrors = string[] | Record<string, string>`).
pub fn messages(errors: Option<&Value>) -> Vec<ProviderMessage> {
    let mut messages = Vec::new();
    match errors {
        Some(Value::Object(map)) => {
            for (rule, value) in map {
                match value {
                    Value::Array(list) => messages.extend(
                        list.iter()
                            .filter_map(text)
                            .map(|message| ProviderMessage::new(rule, message)),
                    ),
                    other => messages.extend(text(other).map(|message| ProviderMessage::new(rule, message))),
                }
            }
        }
        Some(Value::Array(list)) => messages.extend(list.iter().filter_map(text).map(|message| {
            let rule = message
                .strip_prefix("Regla: ")
                .and_then(|rest| rest.split([',', ' ']).next())
                .unwrap_or_default()
                .to_owned();
            ProviderMessage::new(rule, message)
        })),
        _ => {}
    }
    messages
}

/// Whether DIAN's message is a rejection ("Regla: FAK24, Rechazo: ..."), as opposed to a
/// notification ("Regla: RUT01, Notificación: ...") that merely mentions one.
fn is_rejection(message: &ProviderMessage) -> bool {
    let text = message.message.to_lowercase();
    text.starts_with("rechazo") || text.contains(", rechazo")
}

/// `(rejections, notices)` of an `errors` field.
pub fn split_messages(errors: Option<&Value>) -> (Vec<ProviderMessage>, Vec<ProviderMessage>) {
    messages(errors).into_iter().partition(is_rejection)
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::Number(number)) => number.as_i64() == Some(1),
        Some(Value::String(text)) => matches!(text.as_str(), "1" | "true"),
        _ => false,
    }
}

/// A bill from a create or view answer's `data`, or from a list row.
pub fn bill_of(data: &Value) -> Option<Bill> {
    let links = data.get("links");
    let customer = data.get("customer");
    let (rejections, notices) = split_messages(data.get("errors"));
    Some(Bill {
        reference_code: data.get("reference_code").and_then(text).unwrap_or_default(),
        number: text(data.get("number")?)?,
        is_validated: truthy(data.get("is_validated").or_else(|| data.get("status"))),
        // A credit note's is its CUDE.
        cufe: data
            .get("cufe")
            .and_then(text)
            .or_else(|| data.get("cude").and_then(text)),
        qr_url: links
            .and_then(|l| l.get("qr"))
            .and_then(text)
            .or_else(|| data.get("qr").and_then(text)),
        public_url: links.and_then(|l| l.get("public_url")).and_then(text),
        total: decimal(
            data.get("totals")
                .and_then(|t| t.get("total"))
                .or_else(|| data.get("total")),
        ),
        customer_identification: customer
            .and_then(|c| c.get("identification"))
            .or_else(|| data.get("identification"))
            .and_then(text),
        rejections,
        notices,
    })
}

/// What an answer to `POST /v2/bills/validate` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    /// DIAN validated it.
    Validated(Bill),
    /// DIAN rejected it: the bill stays pending at the provider until it is deleted.
    RejectedByDian(Vec<ProviderMessage>),
    /// Persisted, not validated, not rejected: DIAN is slow. Send the same body again later.
    Slow,
    /// The provider's own input validation refused it (422 without a DIAN rule): nothing
    /// persisted; our validation missed a rule.
    Invalid(Vec<ProviderMessage>),
    /// 409: a pending bill blocks the account, or the reference code is taken.
    Conflict(String),
    /// 401 after a fresh token, 402 (subscription exhausted), 403: the account, not the invoice.
    AccountProblem(String),
    /// 429: wait this long (or a window) before the next call.
    RateLimited(Option<Duration>),
    /// 5xx, 503 (maintenance), 408, an unreadable answer: try again later.
    Transient(String),
}

fn message_of(content: &Value) -> String {
    content
        .get("data")
        .and_then(|d| d.get("message"))
        .or_else(|| content.get("message"))
        .and_then(text)
        .unwrap_or_default()
}

/// Classifies the answer to a create.
pub fn classify_created(status: StatusCode, retry_after: Option<Duration>, content: &Value) -> Created {
    let data = content.get("data");
    let described = |what: &str| {
        let message = message_of(content);
        if message.is_empty() {
            format!("{what} ({status})")
        } else {
            format!("{what} ({status}: {message})")
        }
    };
    match status {
        s if s.is_success() => match data.and_then(bill_of) {
            Some(bill) if bill.is_validated => Created::Validated(bill),
            Some(bill) if !bill.rejections.is_empty() => Created::RejectedByDian(bill.rejections),
            Some(_) => Created::Slow,
            None => Created::Transient(described("the provider's answer holds no bill")),
        },
        StatusCode::UNPROCESSABLE_ENTITY => {
            let (rejections, others) = split_messages(data.and_then(|d| d.get("errors")));
            if !rejections.is_empty() {
                Created::RejectedByDian(rejections)
            } else if !others.is_empty() {
                Created::Invalid(others)
            } else {
                Created::Invalid(vec![ProviderMessage::new("", described("refused"))])
            }
        }
        StatusCode::CONFLICT => Created::Conflict(described("conflict")),
        StatusCode::TOO_MANY_REQUESTS => Created::RateLimited(retry_after),
        StatusCode::UNAUTHORIZED => {
            Created::AccountProblem(described("the provider refuses our credentials"))
        }
        StatusCode::PAYMENT_REQUIRED => {
            Created::AccountProblem(described("the provider account's subscription is exhausted"))
        }
        StatusCode::FORBIDDEN => Created::AccountProblem(described("the provider account may not do this")),
        // The route itself is wrong: the provider's URL is misconfigured, not the invoice.
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => {
            Created::AccountProblem(described("the provider has no such route (check its base URL)"))
        }
        s if s.is_client_error() && s != StatusCode::REQUEST_TIMEOUT => {
            Created::Invalid(vec![ProviderMessage::new("", described("refused"))])
        }
        _ => Created::Transient(described("the provider answered")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The fields of `crear-y-validar.md`'s answer that decide an outcome.
    fn validated() -> Value {
        json!({"status": "Created", "message": "Documento con el código de referencia FACT-2026-0124 registrado y validado con éxito",
               "data": {"reference_code": "FACT-2026-0124", "number": "SETP990000550", "is_validated": true,
                        "validated_at": "16-01-2026 10:53:10 AM",
                        "errors": {"RUT01": "Regla: RUT01, Notificación: La validación del estado del RUT próximamente estará disponible."},
                        "cufe": "8bb918b1", "customer": {"identification": "123456789"},
                        "totals": {"total": "83300.00"},
                        "links": {"qr": "https://catalogo-vpfe-hab.dian.gov.co/document/searchqr?documentkey=8bb918b1",
                                  "public_url": "https://factus.example/p/1"}}})
    }

    #[test]
    fn validated_with_notices() {
        let Created::Validated(bill) = classify_created(StatusCode::CREATED, None, &validated()) else {
            panic!("not validated");
        };
        assert_eq!(bill.number, "SETP990000550");
        assert_eq!(bill.cufe.as_deref(), Some("8bb918b1"));
        assert!(bill.qr_url.unwrap().contains("8bb918b1"));
        assert_eq!(bill.public_url.as_deref(), Some("https://factus.example/p/1"));
        assert_eq!(bill.total, Some(Decimal::from(83300)));
        assert_eq!(bill.notices[0].rule, "RUT01");
        assert!(bill.rejections.is_empty());
    }

    #[test]
    fn rejected_by_dian_in_either_documented_shape() {
        // manejo-errores.md, v2: is_validated false and a Rechazo among the errors.
        let mut answer = validated();
        answer["data"]["is_validated"] = json!(false);
        answer["data"]["errors"] = json!({"FAJ43b": "Regla: FAJ43b, Rechazo: Nombre o razón social no coincide", "RUT01": "Regla: RUT01, Notificación: ..."});
        assert_eq!(
            classify_created(StatusCode::OK, None, &answer),
            Created::RejectedByDian(vec![ProviderMessage::new(
                "FAJ43b",
                "Regla: FAJ43b, Rechazo: Nombre o razón social no coincide"
            )])
        );
        // The SDK's ValidationErrorResponse (a 422 carrying DIAN's rule).
        let refused = json!({"status": "Validation error", "message": "El documento contiene errores de validación",
                             "data": {"message": "El documento contiene errores de validación",
                                      "errors": {"FAK24": "Regla: FAK24, Rechazo: No está informado el DV del NIT"}}});
        assert!(matches!(
            classify_created(StatusCode::UNPROCESSABLE_ENTITY, None, &refused),
            Created::RejectedByDian(rules) if rules[0].rule == "FAK24"
        ));
    }

    #[test]
    fn a_notification_that_mentions_a_rejection_is_not_one() {
        let (rejections, notices) = split_messages(Some(&json!({
            "RUT01": "Regla: RUT01, Notificación: sin rechazo por ahora",
            "FAJ43b": "Regla: FAJ43b, Rechazo: Nombre no coincide"
        })));
        assert_eq!(rejections.len(), 1);
        assert_eq!(rejections[0].rule, "FAJ43b");
        assert_eq!(notices[0].rule, "RUT01");
    }

    #[test]
    fn dian_slow_is_neither_issued_nor_rejected() {
        let mut answer = validated();
        answer["data"]["is_validated"] = json!(false);
        answer["data"]["errors"] = json!({});
        assert_eq!(
            classify_created(StatusCode::CREATED, None, &answer),
            Created::Slow
        );
    }

    #[test]
    fn the_providers_own_validation_names_each_field() {
        let invalid = json!({"status": "Validation error", "message": "...",
                             "data": {"errors": {"customer.municipality_code": ["El municipio no existe."], "items.0.quantity": "máximo dos decimales"}}});
        assert_eq!(
            classify_created(StatusCode::UNPROCESSABLE_ENTITY, None, &invalid),
            Created::Invalid(vec![
                ProviderMessage::new("customer.municipality_code", "El municipio no existe."),
                ProviderMessage::new("items.0.quantity", "máximo dos decimales"),
            ])
        );
    }

    #[test]
    fn account_problems_limits_conflicts_and_transient_answers() {
        let nothing = Value::Null;
        assert!(matches!(
            classify_created(StatusCode::PAYMENT_REQUIRED, None, &json!({"message": "Plan agotado"})),
            Created::AccountProblem(reason) if reason.contains("subscription") && reason.contains("Plan agotado")
        ));
        assert!(matches!(
            classify_created(StatusCode::UNAUTHORIZED, None, &nothing),
            Created::AccountProblem(_)
        ));
        assert!(matches!(
            classify_created(StatusCode::NOT_FOUND, None, &json!({"message": "Ruta no encontrada"})),
            Created::AccountProblem(reason) if reason.contains("base URL")
        ));
        assert_eq!(
            classify_created(
                StatusCode::TOO_MANY_REQUESTS,
                Some(Duration::from_secs(7)),
                &nothing
            ),
            Created::RateLimited(Some(Duration::from_secs(7)))
        );
        assert!(matches!(
            classify_created(StatusCode::CONFLICT, None, &json!({"message": "pendiente"})),
            Created::Conflict(_)
        ));
        for status in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::REQUEST_TIMEOUT,
        ] {
            assert!(
                matches!(classify_created(status, None, &nothing), Created::Transient(_)),
                "{status}"
            );
        }
        assert!(matches!(
            classify_created(StatusCode::CREATED, None, &json!({"data": {}})),
            Created::Transient(_)
        ));
    }

    #[test]
    fn list_rows_carry_no_cufe_but_say_validated_or_pending() {
        let row = json!({"number": "SETP990000203", "reference_code": "o-1", "identification": "900123456",
                         "total": "23800.00", "errors": [], "is_validated": true, "created_at": "..."});
        let bill = bill_of(&row).unwrap();
        assert!(bill.is_validated && bill.cufe.is_none());
        assert_eq!(bill.customer_identification.as_deref(), Some("900123456"));
        let pending = json!({"number": "SETP990000204", "reference_code": "o-2", "total": "1.00", "is_validated": false,
                             "errors": ["Regla: FAK24, Rechazo: DV"]});
        let bill = bill_of(&pending).unwrap();
        assert!(bill.is_rejected());
        assert_eq!(bill.rejections[0].rule, "FAK24");
    }
}
