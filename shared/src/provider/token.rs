//! The provider account's credentials and access token (`autenticacion/auth.md`,
//! `refresh-token.md`): the credentials read from Secrets Manager on first use, a token from the
//! password grant, renewed by the refresh grant shortly before `expires_in` runs out (falling back
//! to the password grant), forgotten on a 401. Neither ever reaches a log.

use std::time::{Duration, Instant};

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::credentials::{Credentials, Grant};

/// Renew a token this long before the provider says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
    refresh_token: Option<SecretString>,
    expires_in: u64,
}

struct Session {
    access: SecretString,
    refresh: Option<SecretString>,
    renew_at: Instant,
}

/// Why no token could be had.
#[derive(Debug)]
pub(super) enum TokenError {
    /// The provider refuses the credentials: an account problem, not a passing failure.
    Refused(String),
    Transient(String),
}

pub(super) struct Tokens {
    secrets: aws_sdk_secretsmanager::Client,
    secret_id: String,
    credentials: Mutex<Option<std::sync::Arc<Credentials>>>,
    session: Mutex<Option<Session>>,
    /// Held while a new token is asked for: concurrent callers wait for it instead of each
    /// asking.
    pub(super) renewing: Mutex<()>,
}

impl Tokens {
    pub(super) fn new(secrets: aws_sdk_secretsmanager::Client, secret_id: &str) -> Self {
        Self {
            secrets,
            secret_id: secret_id.to_owned(),
            credentials: Mutex::new(None),
            session: Mutex::new(None),
            renewing: Mutex::new(()),
        }
    }

    /// The credentials, read from the secret on first use.
    pub(super) async fn credentials(&self) -> Result<std::sync::Arc<Credentials>, TokenError> {
        let mut credentials = self.credentials.lock().await;
        if let Some(current) = credentials.as_ref() {
            return Ok(current.clone());
        }
        let secret = self
            .secrets
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(aws_sdk_secretsmanager::Error::from)
            .context("reading the provider's credentials")
            .map_err(|e| TokenError::Transient(format!("{e:#}")))?;
        let read: Credentials =
            serde_json::from_str(secret.secret_string().unwrap_or_default()).map_err(|_| {
                TokenError::Refused(
                    "the provider secret is not {client_id, client_secret, username, password}".to_owned(),
                )
            })?;
        let read = std::sync::Arc::new(read);
        *credentials = Some(read.clone());
        Ok(read)
    }

    /// The current token, if it is still good.
    pub(super) async fn current(&self) -> Option<SecretString> {
        let session = self.session.lock().await;
        session
            .as_ref()
            .filter(|s| Instant::now() < s.renew_at)
            .map(|s| s.access.clone())
    }

    /// The grant to ask for a new token with: the refresh grant while a refresh token is held,
    /// else the password grant.
    pub(super) async fn next_grant(&self, credentials: &Credentials) -> Grant {
        let session = self.session.lock().await;
        match session.as_ref().and_then(|s| s.refresh.as_ref()) {
            Some(refresh) => vec![
                ("client_id", credentials.client_id.clone()),
                (
                    "client_secret",
                    credentials.client_secret.expose_secret().to_owned(),
                ),
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", refresh.expose_secret().to_owned()),
            ],
            None => credentials.password_grant(),
        }
    }

    /// Keeps a token answer; `Err` when it cannot be read.
    pub(super) async fn keep(&self, answer: reqwest::Response) -> Result<SecretString, TokenError> {
        let fresh: TokenAnswer = answer
            .json()
            .await
            .map_err(|_| TokenError::Transient("the provider's token answer is unreadable".to_owned()))?;
        // A day at most, whatever the answer says.
        let lifetime = Duration::from_secs(fresh.expires_in.min(86_400)).saturating_sub(TOKEN_MARGIN);
        *self.session.lock().await = Some(Session {
            access: fresh.access_token.clone(),
            refresh: fresh.refresh_token,
            renew_at: Instant::now() + lifetime,
        });
        Ok(fresh.access_token)
    }

    /// Forgets the token (a 401), and with `refresh_too` the refresh token (its grant failed).
    pub(super) async fn forget(&self, refresh_too: bool) {
        let mut session = self.session.lock().await;
        match session.as_mut() {
            Some(current) if !refresh_too => current.renew_at = Instant::now(),
            _ => *session = None,
        }
    }

    /// Forgets the credentials too: the provider refused them, the secret may have changed.
    pub(super) async fn forget_credentials(&self) {
        *self.credentials.lock().await = None;
        *self.session.lock().await = None;
    }
}
