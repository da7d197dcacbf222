//! Factus accounts (users). Each has its credentials, its company (`GET /v2/companies`,
//! `empresas/ver.md`, the SDK's `Company`), its numbering ranges, its bills and credit notes
//! (each kind with its own pending block) and its rate-limit window. `--credentials` takes one
//! account as a JSON object or several as a list, and tests add more (`POST /_sandbox/accounts`);
//! `"company": {"nit", "dv", "name"}` sets an account's company (its DV is checked, or computed
//! when missing), `"rate_limit_per_minute"` its own rate limit.

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::{Extension, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::clock;
use crate::dian;
use crate::envelope;
use crate::ledger::{Kind, Ledger};
use crate::limits::Window;
use crate::ranges::Ranges;
use crate::state::{AccountId, Shared, lock};

/// Where the sandbox's public links (logos, documents' public pages) point: a reserved domain,
/// as nothing serves them.
pub const PUBLIC_BASE: &str = "https://factus-sandbox.invalid";

const DEFAULT_NIT: &str = "900373076";
const DEFAULT_NAME: &str = "Sandbox SAS";
/// Where the company is: Bogotá.
const COMPANY_MUNICIPALITY: &str = "11001";

/// One account's login, as `--credentials` gives it.
#[derive(Clone, Debug, Deserialize)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub company: Option<CompanyConfig>,
    /// Requests a minute this account may make; the sandbox's `--rate-limit-per-minute` when
    /// absent.
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
}

/// An account's company, as `--credentials` may give it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyConfig {
    pub nit: String,
    #[serde(default)]
    pub dv: Option<String>,
    pub name: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Credentials),
    Many(Vec<Credentials>),
}

/// The accounts of `--credentials`: a JSON object or a list of them.
pub fn parse(text: &str) -> anyhow::Result<Vec<Credentials>> {
    let accounts = match serde_json::from_str(text).context(
        "--credentials takes a JSON object {client_id, client_secret, username, password} or a list of them",
    )? {
        OneOrMany::One(credentials) => vec![credentials],
        OneOrMany::Many(list) => list,
    };
    if accounts.is_empty() {
        bail!("--credentials names no account");
    }
    Ok(accounts)
}

/// The issuer of an account's documents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Company {
    pub nit: String,
    pub dv: String,
    pub name: String,
}

impl Company {
    fn of(config: Option<&CompanyConfig>) -> anyhow::Result<Self> {
        let (nit, dv, name) = match config {
            Some(config) => (config.nit.trim(), config.dv.as_deref(), config.name.as_str()),
            None => (DEFAULT_NIT, None, DEFAULT_NAME),
        };
        let digit =
            dian::check_digit(nit).with_context(|| format!("the company's NIT {nit} is not a NIT"))?;
        if let Some(dv) = dv
            && dv.trim() != digit.to_string()
        {
            bail!("the company's DV {dv} is not the check digit of NIT {nit}, {digit}");
        }
        Ok(Self {
            nit: nit.to_owned(),
            dv: digit.to_string(),
            name: name.to_owned(),
        })
    }

    fn email(&self) -> String {
        format!("facturacion@{}.example.com", self.nit)
    }

    fn municipality() -> Value {
        municipality(COMPANY_MUNICIPALITY)
    }

    /// `data.company` of a document: the issuer, with the establishment the document names or the
    /// company's own.
    pub fn info(&self, establishment: Option<&Value>) -> Value {
        let text = |key: &str| establishment.and_then(|place| dian::text(place, key));
        json!({
            "url_logo": format!("{PUBLIC_BASE}/logos/{}.png", self.nit),
            "nit": self.nit, "dv": self.dv, "company": self.name, "name": self.name, "trade_name": self.name,
            "graphic_representation_name": self.name, "registration_code": Value::Null, "economic_activity": "6201",
            "phone": "6010000000", "email": self.email(), "address": "Calle 1 # 2-3",
            "municipality": Self::municipality(),
            "establishment": {
                "name": text("name").unwrap_or_else(|| self.name.clone()),
                "address": text("address").unwrap_or_else(|| "Calle 1 # 2-3".to_owned()),
                "phone_number": text("phone_number").unwrap_or_else(|| "6010000000".to_owned()),
                "email": text("email").unwrap_or_else(|| self.email()),
                "municipality": municipality(&text("municipality_code").unwrap_or_else(|| COMPANY_MUNICIPALITY.to_owned())),
            },
        })
    }

    /// `GET /v2/companies`: the SDK's `Company`.
    fn json(&self, since: OffsetDateTime) -> Value {
        let code_name = |table, code| json!({"code": code, "name": codes::name(table, code)});
        json!({
            "url_logo": format!("{PUBLIC_BASE}/logos/{}.png", self.nit),
            "nit": self.nit, "dv": self.dv, "company": self.name, "trade_name": self.name,
            "names": Value::Null, "surnames": Value::Null, "graphic_representation_name": self.name,
            "registration_code": Value::Null, "economic_activity": 6201, "phone": "6010000000",
            "email": self.email(), "address": "Calle 1 # 2-3",
            "tribute": code_name(codes::CUSTOMER_TRIBUTES, "01"),
            "legal_organization": code_name(codes::ORGANIZATION_TYPES, "1"),
            "municipality": Self::municipality(),
            "responsibilities": [code_name(codes::FISCAL_RESPONSIBILITIES, "O-13")],
            "created_at": clock::laravel(since), "updated_at": clock::laravel(since),
        })
    }
}

/// `{code, name, department: {code, name}}` of a DIVIPOLA code; null when unknown.
pub fn municipality(code: &str) -> Value {
    match codes::municipality(code) {
        Some(place) => json!({
            "code": place.code, "name": place.name,
            "department": {"code": place.department_code, "name": place.department_name},
        }),
        None => Value::Null,
    }
}

/// One Factus user and everything that is theirs.
#[derive(Debug)]
pub struct Account {
    pub credentials: Credentials,
    pub company: Company,
    pub ranges: Ranges,
    pub bills: Ledger,
    pub credit_notes: Ledger,
    pub window: Window,
    pub created_at: OffsetDateTime,
}

impl Account {
    pub fn new(credentials: Credentials, now: OffsetDateTime) -> anyhow::Result<Self> {
        if credentials.rate_limit_per_minute == Some(0) {
            bail!("rate_limit_per_minute must be at least 1");
        }
        let company = Company::of(credentials.company.as_ref())
            .with_context(|| format!("the company of account {}", credentials.username))?;
        Ok(Self {
            credentials,
            company,
            ranges: Ranges::seeded(now),
            bills: Ledger::default(),
            credit_notes: Ledger::default(),
            window: Window::default(),
            created_at: now,
        })
    }

    pub fn ledger(&self, kind: Kind) -> &Ledger {
        match kind {
            Kind::Bill => &self.bills,
            Kind::CreditNote => &self.credit_notes,
        }
    }

    pub fn ledger_mut(&mut self, kind: Kind) -> &mut Ledger {
        match kind {
            Kind::Bill => &mut self.bills,
            Kind::CreditNote => &mut self.credit_notes,
        }
    }
}

pub fn routes() -> Router<Shared> {
    Router::new().route("/v2/companies", get(company))
}

async fn company(State(shared): State<Shared>, Extension(account): Extension<AccountId>) -> Response {
    let company = lock(&shared)
        .account(account)
        .map(|account| account.company.json(account.created_at));
    match company {
        Some(company) => envelope::ok("Solicitud exitosa", company),
        None => envelope::unauthenticated(),
    }
}

/// What the other modules' tests share.
#[cfg(test)]
pub mod testing {
    use super::{Account, Credentials};
    use crate::clock;

    /// An account with the default company.
    pub fn account() -> Account {
        let credentials = Credentials {
            client_id: "c".into(),
            client_secret: "s".into(),
            username: "u".into(),
            password: "p".into(),
            company: None,
            rate_limit_per_minute: None,
        };
        Account::new(credentials, clock::now()).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_one_account_or_a_list_and_company_dvs_are_checked() {
        let one = parse(
            r#"{"client_id": "a", "client_secret": "b", "username": "c", "password": "d", "extra": 1}"#,
        )
        .unwrap();
        assert_eq!(one.len(), 1);
        let many = parse(
            r#"[{"client_id": "a", "client_secret": "b", "username": "c", "password": "d"},
                {"client_id": "a", "client_secret": "b", "username": "e", "password": "f",
                 "company": {"nit": "800197268", "name": "Otra SAS"}}]"#,
        )
        .unwrap();
        let now = clock::now();
        let second = Account::new(many[1].clone(), now).unwrap();
        assert_eq!(
            (second.company.nit.as_str(), second.company.dv.as_str()),
            ("800197268", "4")
        );
        let first = Account::new(many[0].clone(), now).unwrap();
        assert_eq!(
            (first.company.nit.as_str(), first.company.dv.as_str()),
            ("900373076", "4")
        );
        let mut wrong = many[0].clone();
        wrong.company = Some(CompanyConfig {
            nit: "900373076".into(),
            dv: Some("8".into()),
            name: "X".into(),
        });
        assert!(Account::new(wrong, now).is_err());
        assert!(parse("[]").is_err());
        assert!(parse(r#"{"client_id": "a"}"#).is_err());
    }
}
