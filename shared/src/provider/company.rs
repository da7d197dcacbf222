//! Whose account it is. Before an organization's credentials are kept they are tried (a token,
//! by the password grant) and the company behind them is read (`GET /v2/companies`,
//! `empresas/ver.md`, the SDK's `Company`), so that nobody issues under another company's NIT.
//! Two calls of the account's budget, not paced: they are made once per connection, and a 429
//! is answered as "come back later".

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use super::credentials::Credentials;
use super::{describe, retry_after};

/// The company an account issues for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Company {
    pub nit: String,
    pub name: String,
}

/// Why an account's company could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unverified {
    /// The token endpoint refuses the credentials (400, 401, 403).
    #[error("Factus refuses these credentials")]
    Refused,
    /// Factus did not answer, answered 429 or 5xx, or answered what cannot be read: try again
    /// after this long.
    #[error("{0}")]
    Unreachable(String, Duration),
}

/// Whether two NITs are the same number (Factus may write one with dots).
pub fn same_nit(one: &str, other: &str) -> bool {
    let digits = |nit: &str| nit.chars().filter(char::is_ascii_digit).collect::<String>();
    digits(one) == digits(other)
}

/// How long a client waits when Factus gave no `Retry-After`.
const COME_BACK: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
}

/// The company of the account `credentials` log into, at `base_url`.
pub async fn company_of(
    http: &reqwest::Client,
    base_url: &str,
    credentials: &Credentials,
) -> Result<Company, Unverified> {
    let unreachable = |what: String| Unverified::Unreachable(what, COME_BACK);
    let answer = http
        .post(format!("{base_url}/oauth/token"))
        .header("accept", "application/json")
        .form(&credentials.password_grant())
        .send()
        .await
        .map_err(|e| unreachable(describe(&e)))?;
    let status = answer.status();
    if matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    ) {
        return Err(Unverified::Refused);
    }
    if !status.is_success() {
        return Err(unanswered("the token endpoint", status, answer.headers()));
    }
    let token: TokenAnswer = answer
        .json()
        .await
        .map_err(|_| unreachable("the provider's token answer is unreadable".to_owned()))?;
    let answer = http
        .get(format!("{base_url}/v2/companies"))
        .header("accept", "application/json")
        .bearer_auth(token.access_token.expose_secret())
        .send()
        .await
        .map_err(|e| unreachable(describe(&e)))?;
    let status = answer.status();
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        return Err(Unverified::Refused);
    }
    if !status.is_success() {
        return Err(unanswered("the company", status, answer.headers()));
    }
    let content: Value = answer.json().await.unwrap_or(Value::Null);
    read_company(content.get("data").unwrap_or(&Value::Null))
        .ok_or_else(|| unreachable("the provider's company is unreadable".to_owned()))
}

fn unanswered(what: &str, status: StatusCode, headers: &reqwest::header::HeaderMap) -> Unverified {
    Unverified::Unreachable(
        format!("{what}: the provider answered {status}"),
        retry_after(headers).unwrap_or(COME_BACK),
    )
}

/// `data` of `GET /v2/companies`: its NIT (a string, or a number), and its name (`company` for
/// a legal person, `names` and `surnames` for a natural one).
pub(super) fn read_company(data: &Value) -> Option<Company> {
    let nit = match data.get("nit")? {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    let text = |key: &str| {
        data.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
    };
    let name = match text("company") {
        Some(company) => company.to_owned(),
        None => [text("names"), text("surnames")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
    };
    (!nit.is_empty()).then_some(Company { nit, name })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_company_is_read_as_the_sdk_types_it() {
        let legal = json!({"nit": "900373076", "dv": "4", "company": "Sandbox SAS", "names": null});
        assert_eq!(
            read_company(&legal),
            Some(Company {
                nit: "900373076".into(),
                name: "Sandbox SAS".into()
            })
        );
        let natural = json!({"nit": 1020304050_u64, "company": "", "names": "Alan", "surnames": "Turing"});
        assert_eq!(
            read_company(&natural).map(|c| (c.nit, c.name)),
            Some(("1020304050".into(), "Alan Turing".into()))
        );
        assert_eq!(read_company(&json!({"company": "No NIT SAS"})), None);
        assert_eq!(read_company(&json!({"nit": ""})), None);
        assert!(same_nit("900.373.076", "900373076") && !same_nit("900373076", "800197268"));
    }
}
