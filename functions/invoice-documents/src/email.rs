//! `POST /v1/invoices/{id}/send-email` (and a credit note's; owners, admins, issuers)
//! `{"email"?}`: Factus sends the accepted document (its PDF and XML) again, to the customer's
//! address or to the one given.
//! 202 once Factus took it; its refusal (an address it will not take, too many emails today) is
//! a 422 with its message.

use lambda_http::http::StatusCode;
use serde_json::json;
use shared::auth::{Caller, Permission};
use shared::domain::email::Email;
use shared::http::{ApiError, HandlerResult, Request, read_json};
use shared::invoices::Kind;
use shared::json::{Json, Object};
use shared::provider::in_request::{calls_within, refusal};
use shared::validation::{FieldError, Problems};

use crate::Documents;

const MAX_BODY_BYTES: usize = 2 * 1024;

/// The address asked for, if any (an empty body asks for the customer's).
fn parse(body: Option<&Json>) -> Result<Option<String>, Vec<FieldError>> {
    let Some(body) = body else {
        return Ok(None);
    };
    let mut problems = Problems::new();
    let Some(mut root) = Object::read(body, "", &mut problems) else {
        return Err(problems.into_errors());
    };
    let email = root.optional("email").map(|_| ());
    let address = email.and_then(|()| root.parsed("email", &mut problems, Email::parse));
    root.finish(&mut problems);
    if problems.is_empty() {
        Ok(address.map(|email| email.to_string()))
    } else {
        Err(problems.into_errors())
    }
}

pub async fn send(state: &Documents, request: &Request) -> HandlerResult {
    let caller = Caller::authorize(request, &state.services.tokens, Permission::Issue).await?;
    let body = if shared::http::body_bytes(request).is_empty() {
        None
    } else {
        Some(read_json(request, MAX_BODY_BYTES)?)
    };
    let asked = parse(body.as_ref())?;
    let (document, number, reference) = crate::accepted_document(state, &caller, request).await?;
    let email = asked.unwrap_or_else(|| document.document.input.customer.email.clone());
    let provider = crate::provider_of(state, &caller.org_id).await?;
    let calls = calls_within(request, state.providers.call_timeout());
    let sent = provider
        .send_email(&calls, &number, &reference, &email)
        .await
        .map_err(refusal)?;
    match sent {
        Ok(()) => {}
        Err(refused) if refused.no_such_bill => return Err(crate::no_such_bill(&number, &refused)),
        Err(refused) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "email",
                format!("Factus did not send it: {}", refused.message),
            )]));
        }
    }
    tracing::info!(id = %document.id, "Factus sends the document by email");
    let id_field = match document.kind() {
        Kind::Invoice => "invoice_id",
        Kind::CreditNote => "credit_note_id",
    };
    Ok(shared::http::json(
        StatusCode::ACCEPTED,
        &json!({id_field: document.id, "number": number, "email": email}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_body_or_no_email_is_the_customers_and_a_bad_one_is_named() {
        assert_eq!(parse(None), Ok(None));
        let empty = shared::json::parse(b"{}").unwrap();
        assert_eq!(parse(Some(&empty)), Ok(None));
        let given = shared::json::parse(br#"{"email": "compras@cliente.example.co"}"#).unwrap();
        assert_eq!(
            parse(Some(&given)),
            Ok(Some("compras@cliente.example.co".to_owned()))
        );
        let bad = shared::json::parse(br#"{"email": "not an address", "cc": 1}"#).unwrap();
        let fields: Vec<String> = parse(Some(&bad))
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["email", "cc"]);
    }
}
