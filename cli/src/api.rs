//! The API's client: its base URL, the logged-in user's tokens (an access token reused while it
//! is good, refreshed with the profile's refresh token when not, the rotated one saved at once),
//! retries with backoff, and what a failure means for the exit code.

use std::error::Error as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};

use crate::profile::{self, Profile};

/// Attempts of a call that may be retried (429, 5xx, no answer).
const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest `retry-after` waited; a longer one ends the retries.
const LONGEST_WAIT: Duration = Duration::from_secs(30);
const TIMEOUT: Duration = Duration::from_secs(60);
/// A refresh's timeout, and how often it is sent: the API answers a refresh token presented
/// again within 10 s with its successor, and takes one presented later for a stolen one (the
/// session revoked). So a refresh whose answer was lost is sent again at once, within those
/// 10 s, and never later.
const REFRESH_TIMEOUT: Duration = Duration::from_millis(2_500);
const REFRESH_ATTEMPTS: u32 = 3;

/// Why a command did not succeed, and its exit code.
#[derive(Debug)]
pub enum Failure {
    /// The API refused (a 4xx): exit 1.
    Refused(Refusal),
    /// A watched batch ended with invoices rejected or failed: exit 1.
    Failed(String),
    /// Not a valid use of the command (an argument, a file, not logged in): exit 2.
    Usage(String),
    /// The API could not be reached, after the retries: exit 3.
    Unreachable(String),
    /// The API answered 5xx, after the retries: exit 3.
    Unavailable(Refusal),
    /// Ctrl-C: exit 130.
    Interrupted,
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Refused(_) | Self::Failed(_) => 1,
            Self::Usage(_) => 2,
            Self::Unreachable(_) | Self::Unavailable(_) => 3,
            Self::Interrupted => 130,
        }
    }
}

/// An API error: its status and body (`error.code`, `error.message`, `error.details`,
/// `request_id`).
#[derive(Debug)]
pub struct Refusal {
    pub status: u16,
    pub body: Value,
}

impl Refusal {
    fn of(status: StatusCode, headers: &HeaderMap, bytes: &[u8]) -> Self {
        let mut body: Value = serde_json::from_slice(bytes)
            .ok()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({"error": {"code": "", "message": String::from_utf8_lossy(bytes)}}));
        // API Gateway's own answers carry their request id in a header only.
        if body["request_id"].is_null()
            && let Some(id) = ["x-request-id", "apigw-requestid"]
                .iter()
                .find_map(|name| headers.get(*name)?.to_str().ok())
        {
            body["request_id"] = json!(id);
        }
        Self {
            status: status.as_u16(),
            body,
        }
    }

    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// What is sent.
pub enum Body {
    None,
    Json(Value),
    Bytes { content_type: String, bytes: Vec<u8> },
}

/// An answer of the API (2xx or 3xx).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Result<Value, Failure> {
        serde_json::from_slice(&self.bytes).map_err(|error| {
            Failure::Unreachable(format!("the API answered something that is not JSON: {error}"))
        })
    }
}

/// How a call may be sent again.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Not at all (a write without an idempotency key).
    Never,
    /// After a 429, a 5xx or no answer (a read, or a write under an idempotency key).
    Safe,
}

pub struct Api {
    http: reqwest::Client,
    base: String,
    profile_path: PathBuf,
    /// The session, when it is one of this base URL's.
    profile: Option<Profile>,
}

impl Api {
    /// A client of the API at `api_url`, or at the profile's. The profile's session is used
    /// only with its own API: its tokens never go to another host. `fresh` (login, logout)
    /// starts over from a profile that cannot be read.
    pub fn new(api_url: Option<String>, fresh: bool) -> Result<Self, Failure> {
        let profile_path = profile::path().map_err(Failure::Usage)?;
        let profile = match profile::load(&profile_path) {
            Ok(profile) => profile,
            Err(_) if fresh => None,
            Err(message) => return Err(Failure::Usage(message)),
        };
        let base = api_url
            .or_else(|| profile.as_ref().map(|p| p.api_url.clone()))
            .ok_or_else(|| {
                Failure::Usage(
                    "not logged in, and no API URL: invoicer login --api-url URL (or give --api-url)"
                        .to_owned(),
                )
            })?;
        let base = checked_base(&base)?;
        let profile = profile.filter(|profile| profile.api_url == base);
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("invoicer-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| Failure::Failed(format!("no HTTP client: {error}")))?;
        Ok(Self {
            http,
            base,
            profile_path,
            profile,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Logs in: the tokens are kept in the profile, and the session it held before, if any,
    /// is revoked (best effort).
    pub async fn login(&mut self, email: &str, password: &str) -> Result<(), Failure> {
        let body = Body::Json(json!({"email": email, "password": password}));
        let answer = self
            .call(Method::POST, "/v1/auth/login", &body, None, Retry::Never, false)
            .await?;
        let tokens = answer.json()?;
        if let Some(old) = self.profile.take() {
            let body = Body::Json(json!({"refresh_token": old.refresh_token}));
            let _ = self
                .call(Method::POST, "/v1/auth/logout", &body, None, Retry::Never, false)
                .await;
        }
        let profile = Profile {
            api_url: self.base.clone(),
            email: email.to_owned(),
            refresh_token: String::new(),
            access_token: None,
            access_expires_at: None,
        };
        self.keep(profile, &tokens)
    }

    /// Logs out: the refresh token's session is revoked and the profile forgotten.
    pub async fn logout(&mut self) -> Result<Option<String>, Failure> {
        let Some(profile) = self.profile.take() else {
            if let Ok(Some(other)) = profile::load(&self.profile_path) {
                return Err(Failure::Usage(format!(
                    "logged in to {}, not {}: invoicer logout --api-url {}",
                    other.api_url, self.base, other.api_url
                )));
            }
            // Nobody logged in, or a profile that cannot be read: nothing to revoke.
            profile::remove(&self.profile_path).map_err(Failure::Failed)?;
            return Ok(None);
        };
        let body = Body::Json(json!({"refresh_token": profile.refresh_token}));
        match self
            .call(Method::POST, "/v1/auth/logout", &body, None, Retry::Safe, false)
            .await
        {
            Ok(_) | Err(Failure::Refused(_)) => {}
            Err(failure) => {
                self.profile = Some(profile);
                return Err(failure);
            }
        }
        profile::remove(&self.profile_path).map_err(Failure::Failed)?;
        Ok(Some(profile.email))
    }

    /// A call as the logged-in user.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: &Body,
        idempotency_key: Option<&str>,
        retry: Retry,
    ) -> Result<Answer, Failure> {
        match self
            .call(method.clone(), path, body, idempotency_key, retry, true)
            .await
        {
            // The access token was refused (revoked, or the keys rotated): one fresh one.
            Err(Failure::Refused(refusal)) if refusal.status == 401 && self.forget_access() => {
                self.call(method, path, body, idempotency_key, retry, true).await
            }
            outcome => outcome,
        }
    }

    /// `GET path` as JSON.
    pub async fn get(&mut self, path: &str) -> Result<Value, Failure> {
        self.send(Method::GET, path, &Body::None, None, Retry::Safe)
            .await?
            .json()
    }

    /// Fetches a presigned link (no token: it is a credential of its own, never printed).
    pub async fn download(&self, url: &str) -> Result<Vec<u8>, Failure> {
        let failed = |error: reqwest::Error| {
            let mut text = described(&error);
            if let Some(url) = error.url() {
                text = text.replace(url.as_str(), "the link");
            }
            Failure::Unreachable(format!("downloading the file: {text}"))
        };
        let response = self.http.get(url).send().await.map_err(failed)?;
        if !response.status().is_success() {
            return Err(Failure::Unreachable(format!(
                "downloading the file: {}",
                response.status()
            )));
        }
        Ok(response.bytes().await.map_err(failed)?.to_vec())
    }

    fn forget_access(&mut self) -> bool {
        match self.profile.as_mut() {
            Some(profile) if profile.access_token.is_some() => {
                profile.access_token = None;
                true
            }
            _ => false,
        }
    }

    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: &Body,
        idempotency_key: Option<&str>,
        retry: Retry,
        authorized: bool,
    ) -> Result<Answer, Failure> {
        let attempts = if retry == Retry::Safe { ATTEMPTS } else { 1 };
        let mut wait = FIRST_BACKOFF;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = if authorized {
                Some(self.access_token().await?)
            } else {
                None
            };
            let mut request = self.http.request(method.clone(), format!("{}{path}", self.base));
            if path == "/v1/auth/refresh" {
                request = request.timeout(REFRESH_TIMEOUT);
            }
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(key) = idempotency_key {
                request = request.header("idempotency-key", key);
            }
            request = match body {
                Body::None => request,
                Body::Json(value) => request.json(value),
                Body::Bytes { content_type, bytes } => {
                    request.header("content-type", content_type).body(bytes.clone())
                }
            };
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    match response.bytes().await {
                        Ok(bytes) => Ok((status, headers, bytes.to_vec())),
                        Err(error) => Err(described(&error)),
                    }
                }
                Err(error) => Err(described(&error)),
            };
            let (status, headers, bytes) = match outcome {
                Ok(answer) => answer,
                Err(_) if attempt < attempts => {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    continue;
                }
                Err(error) => return Err(Failure::Unreachable(error)),
            };
            let refusal = (status.is_client_error() || status.is_server_error())
                .then(|| Refusal::of(status, &headers, &bytes));
            // A key's first request may still be running (API Gateway gave up on it first).
            let in_progress = refusal
                .as_ref()
                .is_some_and(|r| r.code() == "IDEMPOTENCY_IN_PROGRESS");
            let again = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() || in_progress;
            if again && attempt < attempts {
                match retry_after(&headers) {
                    Some(asked) if asked > LONGEST_WAIT => {}
                    asked => {
                        tokio::time::sleep(asked.unwrap_or(wait)).await;
                        wait *= 2;
                        continue;
                    }
                }
            }
            return match refusal {
                None => Ok(Answer {
                    status,
                    headers,
                    bytes,
                }),
                Some(refusal) if status.is_server_error() => Err(Failure::Unavailable(refusal)),
                Some(refusal) => Err(Failure::Refused(refusal)),
            };
        }
    }

    /// The access token: the profile's while it is good for another minute, else a new one
    /// from the refresh token, whose successor is saved at once. The profile is read again
    /// first: another `invoicer` may have rotated the refresh token since this one started.
    async fn access_token(&mut self) -> Result<String, Failure> {
        let on_disk = profile::load(&self.profile_path)
            .ok()
            .flatten()
            .filter(|profile| profile.api_url == self.base);
        let profile = match (on_disk, self.profile.take()) {
            (Some(disk), Some(held)) if disk.refresh_token != held.refresh_token => Some(disk),
            (_, held) => held,
        };
        let Some(profile) = profile else {
            return Err(Failure::Usage(format!(
                "not logged in to {}: invoicer login",
                self.base
            )));
        };
        self.profile = Some(profile.clone());
        if let (Some(token), Some(expires_at)) = (&profile.access_token, profile.access_expires_at)
            && now_seconds() + 60 < expires_at
        {
            return Ok(token.clone());
        }
        let body = Body::Json(json!({"refresh_token": profile.refresh_token}));
        let mut attempt = 0;
        let answer = loop {
            attempt += 1;
            let refreshed =
                Box::pin(self.call(Method::POST, "/v1/auth/refresh", &body, None, Retry::Never, false));
            match refreshed.await {
                Err(Failure::Refused(refusal)) if refusal.status == 401 => {
                    return Err(Failure::Usage(
                        "the session has ended (logged out, or unused too long): invoicer login".to_owned(),
                    ));
                }
                // Its answer lost: the same token again, within the API's grace.
                Err(Failure::Unreachable(_) | Failure::Unavailable(_)) if attempt < REFRESH_ATTEMPTS => {}
                outcome => break outcome?,
            }
        };
        let tokens = answer.json()?;
        self.keep(profile, &tokens)?;
        self.profile
            .as_ref()
            .and_then(|profile| profile.access_token.clone())
            .ok_or_else(|| Failure::Unreachable("the API gave no access token".to_owned()))
    }

    /// Keeps `tokens` (a `Tokens` answer) in `profile`, and saves it.
    fn keep(&mut self, mut profile: Profile, tokens: &Value) -> Result<(), Failure> {
        let text = |name: &str| tokens[name].as_str().map(str::to_owned);
        let (Some(access), Some(refresh)) = (text("access_token"), text("refresh_token")) else {
            return Err(Failure::Unreachable("the API gave no tokens".to_owned()));
        };
        profile.access_token = Some(access);
        profile.refresh_token = refresh;
        profile.access_expires_at = Some(now_seconds() + tokens["expires_in"].as_u64().unwrap_or(0));
        profile::save(&self.profile_path, &profile).map_err(Failure::Failed)?;
        self.profile = Some(profile);
        Ok(())
    }
}

/// The API's base URL, checked: `https`, or plain `http` to this machine only (tokens travel in
/// it).
fn checked_base(text: &str) -> Result<String, Failure> {
    let url = Url::parse(text).map_err(|error| Failure::Usage(format!("the API URL {text:?}: {error}")))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(Failure::Usage(format!(
                "the API URL {text:?} must be https (plain http only to this machine)"
            )));
        }
    }
    Ok(text.trim_end_matches('/').to_owned())
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A `retry-after` in seconds.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// A request error with its causes (reqwest's own text names none).
fn described(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Every item of a list, its pages followed.
pub async fn all_pages(api: &mut Api, path: &str) -> Result<Vec<Value>, Failure> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page_path = match &cursor {
            Some(cursor) => format!("{path}&cursor={}", encoded(cursor)),
            None => path.to_owned(),
        };
        let page = api.get(&page_path).await?;
        items.extend(page["data"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(items),
        }
    }
}

/// `text` as a query value: unreserved characters as they are, every other byte `%XX`.
pub fn encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
