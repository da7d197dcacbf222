//! The e-invoicing provider, Factus API v2 (its docs: `developers.factus.com.co`, v2): every
//! call paced by the account's shared rate budget ([`pacer`]), authorised by a token of the
//! account's credentials ([`token`]); the bill's body ([`request`]); the answers read and
//! classified ([`answer`]); and the four calls invoicer makes: create a bill, look a reference
//! up (list, then view for the CUFE), list the pending bills, delete a pending bill. Besides:
//! an account's credentials as a secret keeps them ([`credentials`]), and whose company they
//! log into ([`company`]), read before an organization's account is kept.

pub mod accounts;
mod answer;
pub mod company;
pub mod credentials;
pub mod directory;
pub mod files;
pub mod in_request;
pub mod pacer;
pub mod ranges;
mod request;
mod token;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::OnceCell;

pub use answer::{Bill, Created, classify_created, messages};
pub use pacer::{Paced, Pacer, Slots};
pub use request::{ProviderRef, document_request, provider_reference, split_reference};

use crate::invoices::Kind;
use crate::store::Store;
use credentials::Credentials;
use ranges::NumberingRange;
use token::Tokens;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Rows asked for when listing: the pending bills of an account are one or two.
const PAGE: &str = "100";
/// Pages read when looking a reference up, whose filter also matches longer codes.
const MAX_PAGES: u32 = 5;

/// Why a call was not made or not answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// No slot soon enough, in the account's budget or in this invocation's time: come back
    /// after this long (no fault of the work's own).
    Paced(Duration),
    /// The account cannot work (credentials refused): not this invoice's fault.
    AccountProblem(String),
    /// Timeouts, connection errors, 5xx, an unreadable answer, the budget unreadable.
    Transient(String),
}

/// The calls one piece of work may make: some already reserved (`prepaid`), the rest reserved
/// one at a time; none whose slot comes after `latest_ms` (the work's deadline), and none
/// answered later than a full timeout after it: each call's timeout is what is left of that, so
/// an attempt's second, third or fourth call never outlives the invocation.
pub struct Calls {
    prepaid: AtomicU32,
    latest_ms: i64,
}

impl Calls {
    pub fn new(prepaid: u32, latest_ms: i64) -> Self {
        Self {
            prepaid: AtomicU32::new(prepaid),
            latest_ms,
        }
    }
}

/// An answer: its status, headers and JSON body (`Null` when it has none).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    content: Value,
}

impl Answer {
    fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }
}

/// An answer's `Retry-After` (seconds), believed up to [`LONGEST_WAIT`].
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers.get("retry-after")?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(LONGEST_WAIT))
}

/// The HTTP client of provider calls: a connect timeout, a whole-call `timeout`, no redirects.
pub fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// What became of a deletion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deleted {
    /// Deleted now.
    Deleted,
    /// Nothing under the reference (404).
    Absent,
    /// The provider would not delete it (a validated bill cannot be deleted).
    Refused(String),
}

/// What became of a bill that had to go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clearing {
    /// Nothing is pending under the reference any more; `deleted` when this call deleted it.
    Cleared { deleted: bool },
    /// Still pending: its deletion is owed to the account (and made before its next work).
    Owed(CallError),
}

impl Clearing {
    pub fn is_cleared(&self) -> bool {
        matches!(self, Clearing::Cleared { .. })
    }
}

/// A call with less time than this left is not made.
const SHORTEST_CALL: Duration = Duration::from_millis(300);

/// The longest wait the provider may ask for that is believed (Retry-After, a window's reset).
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

/// The provider client of one container.
pub struct Provider {
    http: reqwest::Client,
    /// The longest a call may take.
    timeout: Duration,
    base_url: String,
    tokens: Tokens,
    pacer: Pacer,
    /// The account's key in the rate budget.
    account: String,
    /// For the deployment's own account: the NIT its company must have, read back from Factus
    /// once before its first bill ([`Provider::with_issuer`]).
    issuer: Option<String>,
    issuer_checked: OnceCell<()>,
}

/// An account's key in the rate budget: a digest of the provider's URL and the user (the limit
/// is per user), never the user's name itself.
fn account_key(base_url: &str, username: &str) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{base_url}\n{username}").as_bytes(),
    );
    digest.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect()
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

impl Provider {
    /// The client of the account `credentials` log into, at `base_url`, paced at
    /// `limit_per_minute` on `store`'s budget of the account.
    pub fn new(
        base_url: &str,
        timeout: Duration,
        credentials: Credentials,
        store: Store,
        limit_per_minute: u32,
    ) -> anyhow::Result<Self> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        Ok(Self {
            http: http_client(timeout)?,
            timeout,
            account: account_key(&base_url, &credentials.username),
            base_url,
            tokens: Tokens::new(credentials),
            pacer: Pacer::new(store, limit_per_minute),
            issuer: None,
            issuer_checked: OnceCell::new(),
        })
    }

    /// This client issues only while its account's company is `nit` (`GET /v2/companies`, read
    /// once before the first bill): for an account whose company nobody verified when it was
    /// configured, the deployment's own.
    pub fn with_issuer(mut self, nit: Option<String>) -> Self {
        self.issuer = nit;
        self
    }

    /// Refuses, as the account's problem, to issue for a company that is not the issuer's.
    async fn check_issuer(&self, calls: &Calls) -> Result<(), CallError> {
        let Some(nit) = &self.issuer else {
            return Ok(());
        };
        self.issuer_checked
            .get_or_try_init(|| async {
                let url = self.url("/v2/companies");
                let answer = self
                    .send(calls, |token| self.http.get(&url).bearer_auth(token))
                    .await?;
                if !answer.status.is_success() {
                    return Err(unexpected("reading the account's company", &answer));
                }
                let company = answer
                    .content
                    .get("data")
                    .and_then(company::read_company)
                    .ok_or_else(|| CallError::Transient("the provider's company is unreadable".to_owned()))?;
                if company::same_nit(&company.nit, nit) {
                    Ok(())
                } else {
                    Err(CallError::AccountProblem(format!(
                        "the provider account issues for NIT {} ({}), not for NIT {nit}",
                        company.nit, company.name
                    )))
                }
            })
            .await?;
        Ok(())
    }

    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    /// The account's key in the rate budget.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Reserves `count` calls of a lane of the account, the first no later than
    /// `latest_start_ms`; see [`Pacer::reserve`].
    pub async fn reserve(
        &self,
        lane: pacer::Lane,
        count: u32,
        latest_start_ms: i64,
    ) -> Result<Slots, CallError> {
        match self
            .pacer
            .reserve(&self.account, lane, count, latest_start_ms)
            .await
        {
            Ok(Ok(slots)) => Ok(slots),
            Ok(Err(Paced(wait))) => Err(CallError::Paced(wait)),
            Err(error) => Err(CallError::Transient(format!(
                "the rate budget could not be read: {error:#}"
            ))),
        }
    }

    /// Records that the pending document of `reference` still has to be deleted (or no longer).
    pub async fn owe_deletion(&self, reference: &ProviderRef, owed: bool) {
        if let Err(error) = self
            .pacer
            .owe_deletion(&self.account, &reference.owed_key(), owed)
            .await
        {
            tracing::error!(cause = format!("{error:#}"), "could not record a deletion owed");
        }
    }

    /// Deletes the bill of `reference` that must go (rejected by DIAN, it blocks the account).
    /// When it cannot be now, the deletion is owed to the account (and the account held back
    /// meanwhile); when the provider refuses, the bill is looked up: gone or validated, nothing
    /// is pending (a validated bill is reported: it was not to be deleted).
    pub async fn clear(&self, calls: &Calls, reference: &ProviderRef) -> Clearing {
        let failure = match self.delete(calls, reference).await {
            Ok(Deleted::Deleted) => {
                self.owe_deletion(reference, false).await;
                return Clearing::Cleared { deleted: true };
            }
            Ok(Deleted::Absent) => {
                self.owe_deletion(reference, false).await;
                return Clearing::Cleared { deleted: false };
            }
            Ok(Deleted::Refused(reason)) => match self.find(calls, reference).await {
                Ok(None) => {
                    self.owe_deletion(reference, false).await;
                    return Clearing::Cleared { deleted: false };
                }
                Ok(Some(bill)) if bill.is_validated => {
                    tracing::error!(
                        reference = %reference.code,
                        reason,
                        "a bill to be deleted is validated at the provider: left as it is"
                    );
                    self.owe_deletion(reference, false).await;
                    return Clearing::Cleared { deleted: false };
                }
                Ok(Some(_)) => CallError::AccountProblem(format!(
                    "the provider refuses to delete a pending bill ({}): {reason}",
                    reference.code
                )),
                Err(error) => error,
            },
            Err(error) => error,
        };
        tracing::warn!(
            ?failure,
            "a bill to be deleted could not be now: the deletion is owed"
        );
        self.owe_deletion(reference, true).await;
        // It blocks the account until it is gone: hold submissions back meanwhile.
        self.block(pacer::Block::Extend, self.block_hold()).await;
        Clearing::Owed(failure)
    }

    /// Reads the account's budget item (what is owed, whether it is blocked) into this
    /// container: at the start of each piece of work, so that a container that never
    /// reserved knows it too.
    pub async fn refresh(&self) -> Result<(), CallError> {
        self.pacer
            .refresh(&self.account)
            .await
            .map_err(|e| CallError::Transient(format!("the rate budget could not be read: {e:#}")))
    }

    /// Marks the account blocked by a pending bill for `duration`, as `mode` says; `true` when it
    /// was marked (for [`pacer::Block::Take`]: the caller settles the block). A failure to mark
    /// is `false`: nobody is held back, and nobody settles on its strength.
    pub async fn block(&self, mode: pacer::Block, duration: Duration) -> bool {
        self.pacer
            .block(&self.account, mode, duration)
            .await
            .inspect_err(|error| {
                tracing::error!(cause = format!("{error:#}"), "could not mark the account blocked")
            })
            .unwrap_or(false)
    }

    /// How long submissions hold back while a pending bill blocks the account before they
    /// look again: about two urgent calls, the time a settlement takes.
    pub fn block_hold(&self) -> Duration {
        let urgent = self.pacer.interval_ms(pacer::Lane::Urgent);
        Duration::from_millis(u64::try_from(2 * urgent).unwrap_or(u64::MAX)).max(Duration::from_secs(1))
    }

    /// The account's block is settled.
    pub async fn unblock(&self) {
        if let Err(error) = self.pacer.unblock(&self.account).await {
            tracing::error!(
                cause = format!("{error:#}"),
                "could not mark the account unblocked"
            );
        }
    }

    /// Takes the slot of one call: a prepaid one, or one of the urgent lane reserved now and
    /// waited for (a call beyond the one reserved for a piece of work is one its answer needs).
    /// How long the next call of `calls` may take: its timeout, or what is left until a full
    /// timeout after the work's deadline, if less; too little to be worth a call is refused.
    fn time_left(&self, calls: &Calls) -> Result<Duration, CallError> {
        let now = crate::clock::epoch_ms(crate::clock::now());
        let answer_by = calls
            .latest_ms
            .saturating_add(i64::try_from(self.timeout.as_millis()).unwrap_or(i64::MAX / 2));
        let left = Duration::from_millis(u64::try_from(answer_by - now).unwrap_or(0));
        if left < SHORTEST_CALL {
            // This invocation's time is up: the next one takes the work on.
            return Err(CallError::Paced(Duration::ZERO));
        }
        Ok(left.min(self.timeout))
    }

    async fn slot(&self, calls: &Calls) -> Result<(), CallError> {
        let prepaid = calls
            .prepaid
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(1));
        if prepaid.is_ok() {
            return Ok(());
        }
        let slots = self.reserve(pacer::Lane::Urgent, 1, calls.latest_ms).await?;
        pacer::wait_for(slots.from_ms, calls.latest_ms)
            .await
            .map_err(|Paced(wait)| CallError::Paced(wait))
    }

    /// A token: the current one, or a new one from the token endpoint (a call of its own).
    async fn token(&self, calls: &Calls) -> Result<SecretString, CallError> {
        if let Some(token) = self.tokens.current().await {
            return Ok(token);
        }
        let _renewing = self.tokens.renewing.lock().await;
        if let Some(token) = self.tokens.current().await {
            return Ok(token);
        }
        for _ in 0..2 {
            let grant = self.tokens.next_grant().await;
            let refreshing = grant
                .iter()
                .any(|(k, v)| *k == "grant_type" && v == "refresh_token");
            self.slot(calls).await?;
            let answer = self
                .http
                .post(format!("{}/oauth/token", self.base_url))
                .header("accept", "application/json")
                .form(&grant)
                .send()
                .await
                .map_err(|e| {
                    CallError::Transient(format!("the provider's token endpoint: {}", describe(&e)))
                })?;
            let status = answer.status();
            self.pacer.observe(&self.account, status, answer.headers()).await;
            if status.is_success() {
                return self.tokens.keep(answer).await.map_err(CallError::Transient);
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = Answer {
                    status,
                    headers: answer.headers().clone(),
                    content: Value::Null,
                }
                .retry_after();
                return Err(CallError::Paced(wait.unwrap_or(Duration::from_secs(1))));
            }
            if refreshing && status.is_client_error() {
                // The refresh token is spent or unknown: the password grant next.
                self.tokens.forget(true).await;
                continue;
            }
            if matches!(
                status,
                StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            ) {
                return Err(CallError::AccountProblem(format!(
                    "the provider refuses our credentials ({status})"
                )));
            }
            return Err(CallError::Transient(format!(
                "the provider's token endpoint answered {status}"
            )));
        }
        Err(CallError::Transient("no token could be had".to_owned()))
    }

    /// Sends a request with a token, paced; on a 401, once more with a new token.
    async fn send(
        &self,
        calls: &Calls,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Answer, CallError> {
        for attempt in 0..2 {
            let token = self.token(calls).await?;
            self.time_left(calls)?;
            self.slot(calls).await?;
            let response = build(token.expose_secret())
                .header("accept", "application/json")
                .timeout(self.time_left(calls)?)
                .send()
                .await
                .map_err(|e| CallError::Transient(describe(&e)))?;
            let status = response.status();
            let headers = response.headers().clone();
            self.pacer.observe(&self.account, status, &headers).await;
            if status == StatusCode::UNAUTHORIZED && attempt == 0 {
                self.tokens.forget(false).await;
                continue;
            }
            let content = response.json().await.unwrap_or(Value::Null);
            return Ok(Answer {
                status,
                headers,
                content,
            });
        }
        Err(CallError::AccountProblem(
            "the provider refuses our fresh token".to_owned(),
        ))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `POST /v2/bills/validate` (or `/v2/credit-notes/validate`).
    pub async fn create(&self, kind: Kind, calls: &Calls, body: &Value) -> Result<Created, CallError> {
        self.check_issuer(calls).await?;
        let url = self.url(&format!("{}/validate", collection(kind)));
        let answer = self
            .send(calls, |token| self.http.post(&url).bearer_auth(token).json(body))
            .await?;
        match classify_created(answer.status, answer.retry_after(), &answer.content) {
            // Validated, but the answer lacks what the invoice must show: the bill has it.
            Created::Validated(bill) if bill.cufe.is_none() || bill.qr_url.is_none() => {
                let mut whole = self.view(kind, calls, &bill.number).await?;
                whole.is_validated = true;
                Ok(Created::Validated(whole))
            }
            created => Ok(created),
        }
    }

    /// One page of the bills of a list filter (`filter[reference_code]`, `filter[status]`), and
    /// whether more pages follow.
    async fn list(
        &self,
        kind: Kind,
        calls: &Calls,
        filter: (&str, &str),
        page: u32,
    ) -> Result<(Vec<Bill>, bool), CallError> {
        let url = self.url(collection(kind));
        let page_text = page.to_string();
        let answer = self
            .send(calls, |token| {
                self.http.get(&url).bearer_auth(token).query(&[
                    (filter.0, filter.1),
                    // The page size as the SDK sends it, and as the docs write it.
                    ("per_page", PAGE),
                    ("filter[per_page]", PAGE),
                    ("page", page_text.as_str()),
                ])
            })
            .await?;
        if !answer.status.is_success() {
            return Err(unexpected("listing bills", &answer));
        }
        let (rows, more) = page_of(&answer, page, "bill")?;
        Ok((rows.iter().filter_map(answer::bill_of).collect(), more))
    }

    /// `GET /v2/numbering-ranges`: the account's ranges, every page.
    pub async fn numbering_ranges(&self, calls: &Calls) -> Result<Vec<NumberingRange>, CallError> {
        self.check_issuer(calls).await?;
        let url = self.url("/v2/numbering-ranges");
        let mut ranges = Vec::new();
        for page in 1..=MAX_PAGES {
            let page_text = page.to_string();
            let answer = self
                .send(calls, |token| {
                    self.http
                        .get(&url)
                        .bearer_auth(token)
                        .query(&[("per_page", PAGE), ("page", page_text.as_str())])
                })
                .await?;
            if !answer.status.is_success() {
                return Err(unexpected("listing numbering ranges", &answer));
            }
            let (rows, more) = page_of(&answer, page, "numbering range")?;
            ranges.extend(rows.iter().filter_map(NumberingRange::of_row));
            if !more {
                break;
            }
        }
        Ok(ranges)
    }

    /// `GET /v2/bills/{number}` (or a credit note's): the whole bill, with its CUFE and links.
    async fn view(&self, kind: Kind, calls: &Calls, number: &str) -> Result<Bill, CallError> {
        let url = self.url(&format!("{}/{number}", collection(kind)));
        let answer = self
            .send(calls, |token| self.http.get(&url).bearer_auth(token))
            .await?;
        if !answer.status.is_success() {
            return Err(unexpected("viewing a bill", &answer));
        }
        answer
            .content
            .get("data")
            .and_then(answer::bill_of)
            .ok_or_else(|| CallError::Transient("the provider's bill is unreadable".to_owned()))
    }

    /// The bill of `reference`, if the provider holds one: a validated one viewed whole (list
    /// rows carry no CUFE), a pending one as its list row says.
    pub async fn find(&self, calls: &Calls, reference: &ProviderRef) -> Result<Option<Bill>, CallError> {
        // The filter matches part of the code: the exact one may be on a later page.
        let (kind, code) = (reference.kind, reference.code.as_str());
        let mut found = None;
        for page in 1..=MAX_PAGES {
            let (rows, more) = self
                .list(kind, calls, ("filter[reference_code]", code), page)
                .await?;
            found = rows.into_iter().find(|bill| bill.reference_code == code);
            if found.is_some() || !more {
                break;
            }
        }
        let Some(row) = found else {
            return Ok(None);
        };
        if !row.is_validated {
            return Ok(Some(row));
        }
        let mut bill = self.view(kind, calls, &row.number).await?;
        bill.is_validated = true;
        Ok(Some(bill))
    }

    /// The account's bills (or credit notes) that are persisted but not validated
    /// (`filter[status]=0`).
    pub async fn pending(&self, kind: Kind, calls: &Calls) -> Result<Vec<Bill>, CallError> {
        let mut pending = Vec::new();
        for page in 1..=MAX_PAGES {
            let (bills, more) = self.list(kind, calls, ("filter[status]", "0"), page).await?;
            pending.extend(bills.into_iter().filter(|bill| !bill.is_validated));
            if !more {
                break;
            }
        }
        Ok(pending)
    }

    /// `DELETE /v2/bills/destroy/reference/{reference}` (a credit note's:
    /// `/v2/credit-notes/reference/{reference}`).
    pub async fn delete(&self, calls: &Calls, reference: &ProviderRef) -> Result<Deleted, CallError> {
        let url = self.url(&match reference.kind {
            Kind::Invoice => format!("/v2/bills/destroy/reference/{}", reference.code),
            Kind::CreditNote => format!("/v2/credit-notes/reference/{}", reference.code),
        });
        let answer = self
            .send(calls, |token| self.http.delete(&url).bearer_auth(token))
            .await?;
        match answer.status {
            s if s.is_success() => Ok(Deleted::Deleted),
            StatusCode::NOT_FOUND => Ok(Deleted::Absent),
            StatusCode::UNAUTHORIZED | StatusCode::PAYMENT_REQUIRED | StatusCode::FORBIDDEN => {
                Err(unexpected("deleting a bill", &answer))
            }
            StatusCode::TOO_MANY_REQUESTS => Err(CallError::Paced(answer.retry_after().unwrap_or_default())),
            s if s.is_client_error() => Ok(Deleted::Refused(format!(
                "{s}: {}",
                answer
                    .content
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ))),
            _ => Err(unexpected("deleting a bill", &answer)),
        }
    }
}

/// Where Factus keeps the documents of `kind`.
pub fn collection(kind: Kind) -> &'static str {
    match kind {
        Kind::Invoice => "/v2/bills",
        Kind::CreditNote => "/v2/credit-notes",
    }
}

/// The rows of page `page` of a paginated list (`data.data`, `data.pagination.last_page`), and
/// whether more pages follow.
fn page_of<'a>(answer: &'a Answer, page: u32, what: &str) -> Result<(&'a Vec<Value>, bool), CallError> {
    let data = answer.content.get("data");
    let rows = data
        .and_then(|d| d.get("data"))
        .and_then(Value::as_array)
        .ok_or_else(|| CallError::Transient(format!("the provider's {what} list is unreadable")))?;
    let last_page = data
        .and_then(|d| d.get("pagination"))
        .and_then(|p| p.get("last_page"))
        .and_then(Value::as_u64)
        .unwrap_or(1);
    Ok((rows, u64::from(page) < last_page))
}

/// An answer a read did not expect.
fn unexpected(what: &str, answer: &Answer) -> CallError {
    match answer.status {
        StatusCode::TOO_MANY_REQUESTS => {
            CallError::Paced(answer.retry_after().unwrap_or(Duration::from_secs(1)))
        }
        StatusCode::UNAUTHORIZED | StatusCode::PAYMENT_REQUIRED | StatusCode::FORBIDDEN => {
            CallError::AccountProblem(format!("{what}: the provider answered {}", answer.status))
        }
        status => CallError::Transient(format!("{what}: the provider answered {status}")),
    }
}

/// Whether a bill the provider holds under our reference is this invoice's: the same customer
/// and the same total (the account is the organization's own, so its issuer is the organization).
pub fn is_ours(bill: &Bill, invoice: &crate::invoices::Invoice) -> bool {
    let customer = &invoice.document.input.customer.identification;
    bill.customer_identification.as_deref() == Some(customer.as_str())
        && bill.total == Some(invoice.document.totals.payable)
}

impl Bill {
    /// The terminal state of the invoice this validated bill issued.
    pub fn into_accepted(self) -> crate::store::Terminal {
        crate::store::Terminal::Accepted {
            number: self.number,
            cufe: self.cufe.unwrap_or_default(),
            qr_url: self.qr_url.unwrap_or_default(),
            public_url: self.public_url,
            notices: self.notices,
        }
    }
}

/// What the bill found under an invoice's reference means for the invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// Validated, and the invoice's: it was issued (an earlier answer was lost).
    Issued(Bill),
    /// Validated, but another document: the reference code is taken at the provider.
    Foreign,
    /// Pending, rejected by DIAN: it must be deleted, and the invoice is rejected.
    Rejected(Vec<crate::invoices::ProviderMessage>),
    /// Pending, DIAN has not answered: send the same invoice again.
    Slow,
}

/// The message of a reference code taken by another document at the provider.
pub const FOREIGN_BILL: &str = "the provider holds another document with this reference code";

pub fn judge(bill: Bill, invoice: &crate::invoices::Invoice) -> Found {
    if bill.is_validated {
        if is_ours(&bill, invoice) {
            Found::Issued(bill)
        } else {
            Found::Foreign
        }
    } else if bill.is_rejected() {
        Found::Rejected(bill.rejections)
    } else {
        Found::Slow
    }
}
