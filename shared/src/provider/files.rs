//! What is done with a bill (or a credit note) once DIAN accepted it: its files
//! (`facturas/descargar-pdf.md`, `facturas/descargar-xml.md`, and the same under
//! `notas-credito/`: `data` holds the file base64-encoded, with its name) and its sending by
//! email to an address (`facturas/enviar-correo.md`), both by its number. Each first makes sure
//! the account's document of that number is ours (`facturas/ver.md`): after the organization
//! connected another account, the same number may be another document.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Answer, CallError, Calls, Provider, ProviderRef, unexpected};
use crate::invoices::Kind;

/// A file of an accepted bill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BillFile {
    /// Its graphic representation.
    Pdf,
    /// The UBL 2.1 XML that is the invoice in law.
    Xml,
}

impl BillFile {
    fn route(self) -> &'static str {
        match self {
            Self::Pdf => "download-pdf",
            Self::Xml => "download-xml",
        }
    }

    fn field(self) -> &'static str {
        match self {
            Self::Pdf => "pdf_base_64_encoded",
            Self::Xml => "xml_base_64_encoded",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Xml => "xml",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Xml => "application/xml",
        }
    }
}

/// Factus would not do it, and said why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The account has no bill of the invoice's (not under that number, or not that invoice).
    pub no_such_bill: bool,
    pub message: String,
}

/// A bill number as Factus gives them (a prefix and digits): anything else is not put in a path.
fn bill_path(kind: Kind, number: &str, route: &str) -> Result<String, CallError> {
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(CallError::Transient(format!("{number:?} is not a bill number")));
    }
    Ok(format!("{}/{number}/{route}", super::collection(kind))
        .trim_end_matches('/')
        .to_owned())
}

/// Factus's message of a refusal, with each field's.
fn refusal(answer: &Answer) -> Refused {
    let content = &answer.content;
    let mut message = content
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("Factus refused it")
        .to_owned();
    if let Some(errors) = content
        .get("data")
        .and_then(|data| data.get("errors"))
        .and_then(Value::as_object)
    {
        for (field, problems) in errors {
            let text = match problems {
                Value::Array(list) => list
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.as_str().unwrap_or_default().to_owned(),
            };
            message.push_str(&format!(" {field}: {text}"));
        }
    }
    Refused {
        no_such_bill: answer.status == StatusCode::NOT_FOUND,
        message,
    }
}

/// Whether an answer is Factus refusing the request itself (not the account, not its pace).
fn refuses(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::NOT_FOUND
            | StatusCode::CONFLICT
            | StatusCode::UNPROCESSABLE_ENTITY
            | StatusCode::BAD_REQUEST
    )
}

impl Provider {
    /// `GET /v2/bills/{number}` (or a credit note's): whether the account's document of that
    /// number is the one of `reference` (our provider reference).
    async fn bill_is(
        &self,
        calls: &Calls,
        number: &str,
        reference: &ProviderRef,
    ) -> Result<Result<(), Refused>, CallError> {
        let url = self.url(&bill_path(reference.kind, number, "")?);
        let answer = self
            .send(calls, |token| self.http.get(&url).bearer_auth(token))
            .await?;
        if refuses(answer.status) {
            return Ok(Err(refusal(&answer)));
        }
        if !answer.status.is_success() {
            return Err(unexpected("viewing a bill", &answer));
        }
        let found = answer.content.get("data").and_then(super::answer::bill_of);
        match found {
            Some(bill) if bill.reference_code == reference.code => Ok(Ok(())),
            _ => Ok(Err(Refused {
                no_such_bill: true,
                message: format!("the account's document {number} is not this one"),
            })),
        }
    }

    /// A request about the account's bill `number` (its path's last segment `route`), once the
    /// bill is known to be the one of `reference`: Factus's successful answer, or its refusal.
    async fn on_bill(
        &self,
        calls: &Calls,
        number: &str,
        reference: &ProviderRef,
        what: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Result<Answer, Refused>, CallError> {
        self.check_issuer(calls).await?;
        if let Err(refused) = self.bill_is(calls, number, reference).await? {
            return Ok(Err(refused));
        }
        let answer = self.send(calls, build).await?;
        if refuses(answer.status) {
            return Ok(Err(refusal(&answer)));
        }
        if !answer.status.is_success() {
            return Err(unexpected(what, &answer));
        }
        Ok(Ok(answer))
    }

    /// `GET /v2/bills/{number}/download-pdf` or `download-xml` (or a credit note's): the file's
    /// bytes, when the account's document `number` is the one of `reference`.
    pub async fn download(
        &self,
        calls: &Calls,
        number: &str,
        reference: &ProviderRef,
        file: BillFile,
    ) -> Result<Result<Vec<u8>, Refused>, CallError> {
        let url = self.url(&bill_path(reference.kind, number, file.route())?);
        let answer = match self
            .on_bill(calls, number, reference, "downloading a bill's file", |token| {
                self.http.get(&url).bearer_auth(token)
            })
            .await?
        {
            Ok(answer) => answer,
            Err(refused) => return Ok(Err(refused)),
        };
        let encoded = answer
            .content
            .get("data")
            .and_then(|data| data.get(file.field()))
            .and_then(Value::as_str)
            .ok_or_else(|| CallError::Transient(format!("the provider's answer has no {}", file.field())))?;
        STANDARD
            .decode(encoded.trim())
            .map(Ok)
            .map_err(|_| CallError::Transient(format!("the provider's {} is not base64", file.field())))
    }

    /// `POST /v2/bills/{number}/send-email` (or a credit note's): Factus sends the document (its
    /// PDF and XML) to `email`, when the account's document `number` is the one of `reference`.
    pub async fn send_email(
        &self,
        calls: &Calls,
        number: &str,
        reference: &ProviderRef,
        email: &str,
    ) -> Result<Result<(), Refused>, CallError> {
        let url = self.url(&bill_path(reference.kind, number, "send-email")?);
        let body = json!({ "email": email });
        let sent = self
            .on_bill(calls, number, reference, "sending a bill by email", |token| {
                self.http.post(&url).bearer_auth(token).json(&body)
            })
            .await?;
        Ok(sent.map(|_| ()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bill_number_goes_in_a_path() {
        assert_eq!(
            bill_path(Kind::Invoice, "SETP990000203", "download-pdf").unwrap(),
            "/v2/bills/SETP990000203/download-pdf"
        );
        assert_eq!(
            bill_path(Kind::Invoice, "SETP990000203", "").unwrap(),
            "/v2/bills/SETP990000203"
        );
        assert_eq!(
            bill_path(Kind::CreditNote, "NC1", "send-email").unwrap(),
            "/v2/credit-notes/NC1/send-email"
        );
        for bad in ["", "../companies", "SETP 1", "a?b"] {
            assert!(bill_path(Kind::Invoice, bad, "download-pdf").is_err(), "{bad}");
        }
    }

    #[test]
    fn a_refusal_says_factus_message_and_each_fields() {
        let answer = Answer {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            headers: reqwest::header::HeaderMap::new(),
            content: json!({"message": "Los datos proporcionados no son válidos.",
                            "data": {"errors": {"email": ["El campo email debe ser un correo válido."]}}}),
        };
        assert_eq!(
            refusal(&answer),
            Refused {
                no_such_bill: false,
                message: "Los datos proporcionados no son válidos. email: El campo email debe ser un correo válido."
                    .to_owned()
            }
        );
    }
}
