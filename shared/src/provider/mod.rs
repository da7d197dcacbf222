//! The e-invoicing provider (a Factus-compatible API): OAuth2 password grant with the token
//! cached per container and refreshed before it expires (and once on a 401), bill submission,
//! look-up by reference code, and the classification of every answer as issued, rejected (the
//! provider's messages, final) or transient (timeouts, connection errors, 5xx, 429: try again).
//!
//! The credentials come from a Secrets Manager secret,
//! `{"client_id", "client_secret", "username", "password"}`, read on first use.

mod document;

use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;

pub use document::{Bill, bill_of, is_ours, messages_of, provider_reference, validate_request};

use crate::invoices::Invoice;

/// Refresh a token this long before the provider says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What became of a submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Issued now, or found issued before (and checked to be ours).
    Issued(Bill),
    /// Refused for good, with the provider's messages.
    Rejected(Vec<String>),
    /// Not decided: try again later (no sooner than `retry_after` when the provider said so).
    Transient(Transient),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transient {
    pub reason: String,
    pub retry_after: Option<Duration>,
}

impl Transient {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retry_after: None,
        }
    }
}

#[derive(Deserialize)]
struct Credentials {
    client_id: String,
    client_secret: SecretString,
    username: String,
    password: SecretString,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
    expires_in: u64,
}

struct Token {
    value: SecretString,
    refresh_at: Instant,
}

/// The provider client of one container.
pub struct Provider {
    http: reqwest::Client,
    base_url: String,
    secrets: aws_sdk_secretsmanager::Client,
    secret_id: String,
    credentials: Mutex<Option<Credentials>>,
    token: Mutex<Option<Token>>,
}

impl Provider {
    pub fn new(
        base_url: &str,
        timeout: Duration,
        secrets: aws_sdk_secretsmanager::Client,
        secret_id: &str,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(timeout)
            .build()?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            secrets,
            secret_id: secret_id.to_owned(),
            credentials: Mutex::new(None),
            token: Mutex::new(None),
        })
    }

    async fn read_credentials(&self) -> anyhow::Result<Credentials> {
        let secret = self
            .secrets
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(aws_sdk_secretsmanager::Error::from)
            .context("reading the provider's credentials")?;
        serde_json::from_str(secret.secret_string().unwrap_or_default()).map_err(|_| {
            anyhow::anyhow!("the provider secret is not {{client_id, client_secret, username, password}}")
        })
    }

    /// A valid access token: the cached one, or a new one from the password grant.
    async fn token(&self) -> Result<SecretString, Transient> {
        let mut token = self.token.lock().await;
        if let Some(current) = token.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(current.value.clone());
        }
        let mut credentials = self.credentials.lock().await;
        if credentials.is_none() {
            *credentials = Some(
                self.read_credentials()
                    .await
                    .map_err(|e| Transient::new(format!("{e:#}")))?,
            );
        }
        let Some(credentials) = credentials.as_ref() else {
            return Err(Transient::new("no provider credentials"));
        };
        let form = [
            ("grant_type", "password"),
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.expose_secret()),
            ("username", credentials.username.as_str()),
            ("password", credentials.password.expose_secret()),
        ];
        let answer = self
            .http
            .post(format!("{}/oauth/token", self.base_url))
            .header("accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| Transient::new(format!("the provider's token endpoint: {}", describe(&e))))?;
        if !answer.status().is_success() {
            return Err(Transient::new(format!(
                "the provider refused our credentials ({})",
                answer.status()
            )));
        }
        let fresh: TokenAnswer = answer
            .json()
            .await
            .map_err(|_| Transient::new("the provider's token answer is unreadable"))?;
        let lifetime = Duration::from_secs(fresh.expires_in).saturating_sub(TOKEN_MARGIN);
        *token = Some(Token {
            value: fresh.access_token.clone(),
            refresh_at: Instant::now() + lifetime,
        });
        Ok(fresh.access_token)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    /// Sends a request with the bearer token; on a 401, once more with a new token.
    async fn authorized(
        &self,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Transient> {
        for attempt in 0..2 {
            let token = self.token().await?;
            let answer = build(token.expose_secret())
                .header("accept", "application/json")
                .send()
                .await
                .map_err(|e| Transient::new(describe(&e)))?;
            if answer.status() != StatusCode::UNAUTHORIZED || attempt == 1 {
                return Ok(answer);
            }
            self.forget_token().await;
        }
        Err(Transient::new("the provider keeps refusing our token"))
    }

    /// Submits `invoice` as `POST /v1/bills/validate`.
    pub async fn submit(&self, invoice: &Invoice) -> Outcome {
        let body = validate_request(invoice);
        let url = format!("{}/v1/bills/validate", self.base_url);
        let answer = match self
            .authorized(|token| self.http.post(&url).bearer_auth(token).json(&body))
            .await
        {
            Ok(answer) => answer,
            Err(transient) => return Outcome::Transient(transient),
        };
        let status = answer.status();
        let retry_after = retry_after(&answer);
        let content: Value = answer.json().await.unwrap_or(Value::Null);
        match classify(status, retry_after, &content) {
            Answer::Decided(outcome) => outcome,
            Answer::AlreadyExists(bill) => self.adopt(invoice, bill).await,
        }
    }

    /// The provider already has a bill with this reference code: it is this invoice, issued by an
    /// earlier attempt whose answer was lost, if it is ours; else the code is taken.
    async fn adopt(&self, invoice: &Invoice, bill: Option<Bill>) -> Outcome {
        let reference = provider_reference(
            &invoice.organization_id,
            invoice.document.input.reference_code.as_str(),
        );
        let bill = match bill {
            Some(bill) => Some(bill),
            None => match self.find(&reference).await {
                Ok(found) => found,
                Err(transient) => return Outcome::Transient(transient),
            },
        };
        match bill {
            Some(bill) if is_ours(&bill, invoice) => Outcome::Issued(bill),
            Some(_) => Outcome::Rejected(vec![
                "the provider holds another document with this reference code".to_owned(),
            ]),
            None => Outcome::Transient(Transient::new(
                "the provider reports the reference code as used but shows no bill",
            )),
        }
    }

    /// The bill issued with `reference`, if any.
    pub async fn find(&self, reference: &str) -> Result<Option<Bill>, Transient> {
        let url = format!("{}/v1/bills", self.base_url);
        let answer = self
            .authorized(|token| {
                self.http
                    .get(&url)
                    .bearer_auth(token)
                    .query(&[("filter[reference_code]", reference)])
            })
            .await?;
        let status = answer.status();
        if !status.is_success() {
            return Err(Transient {
                reason: format!("looking a bill up: the provider answered {status}"),
                retry_after: retry_after(&answer),
            });
        }
        let content: Value = answer
            .json()
            .await
            .map_err(|_| Transient::new("the provider's bill list is unreadable"))?;
        let bills = content
            .get("data")
            .and_then(|d| d.get("data").or(Some(d)))
            .and_then(Value::as_array);
        Ok(bills
            .into_iter()
            .flatten()
            .filter_map(bill_of)
            .find(|bill| bill.reference_code == reference))
    }
}

/// What an answer to a submission says.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Decided(Outcome),
    /// 409: the reference code is taken, by this invoice or another document.
    AlreadyExists(Option<Bill>),
}

/// Issued (2xx), taken (409), transient (408, 429, 5xx) or rejected (any other 4xx, with the
/// provider's messages).
fn classify(status: StatusCode, retry_after: Option<Duration>, content: &Value) -> Answer {
    let transient = || {
        Outcome::Transient(Transient {
            reason: format!("the provider answered {status}"),
            retry_after,
        })
    };
    Answer::Decided(match status {
        s if s.is_success() => match bill_of(content) {
            Some(bill) => Outcome::Issued(bill),
            None => Outcome::Transient(Transient::new("the provider's answer holds no bill")),
        },
        StatusCode::CONFLICT => return Answer::AlreadyExists(bill_of(content)),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => transient(),
        s if s.is_client_error() => {
            let messages = messages_of(content);
            Outcome::Rejected(if messages.is_empty() {
                vec![format!("rejected ({status})")]
            } else {
                messages
            })
        }
        _ => transient(),
    })
}

fn retry_after(answer: &reqwest::Response) -> Option<Duration> {
    let seconds: u64 = answer
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// A transport error in words (never the URL's query, never a body).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the provider did not answer in time".to_owned()
    } else if error.is_connect() {
        "the provider could not be reached".to_owned()
    } else {
        "the exchange with the provider failed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn bill() -> Value {
        json!({"data": {"bill": {"reference_code": "o-1", "number": "SETP1", "cufe": "c", "qr": "q", "total": "10.00"}}})
    }

    #[test]
    fn answers_are_issued_rejected_taken_or_transient() {
        assert!(
            matches!(classify(StatusCode::CREATED, None, &bill()), Answer::Decided(Outcome::Issued(b)) if b.number == "SETP1")
        );
        assert!(matches!(
            classify(StatusCode::CONFLICT, None, &bill()),
            Answer::AlreadyExists(Some(_))
        ));
        assert_eq!(
            classify(StatusCode::CONFLICT, None, &Value::Null),
            Answer::AlreadyExists(None)
        );
        let invalid =
            json!({"message": "Validation error", "data": {"errors": {"customer.email": ["is invalid"]}}});
        assert_eq!(
            classify(StatusCode::UNPROCESSABLE_ENTITY, None, &invalid),
            Answer::Decided(Outcome::Rejected(vec!["customer.email: is invalid".to_owned()]))
        );
        assert_eq!(
            classify(StatusCode::BAD_REQUEST, None, &Value::Null),
            Answer::Decided(Outcome::Rejected(vec!["rejected (400 Bad Request)".to_owned()]))
        );
        for status in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::REQUEST_TIMEOUT,
        ] {
            assert!(
                matches!(
                    classify(status, None, &Value::Null),
                    Answer::Decided(Outcome::Transient(_))
                ),
                "{status}"
            );
        }
        let limited = classify(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(7)),
            &Value::Null,
        );
        assert!(
            matches!(limited, Answer::Decided(Outcome::Transient(Transient { retry_after: Some(wait), .. })) if wait.as_secs() == 7)
        );
        // A success without a bill is not a decision.
        assert!(matches!(
            classify(StatusCode::OK, None, &json!({})),
            Answer::Decided(Outcome::Transient(_))
        ));
    }
}
