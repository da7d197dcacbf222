//! The provider account's access token (`autenticacion/auth.md`, `refresh-token.md`): a token
//! from the password grant of the account's credentials, renewed by the refresh grant shortly before `expires_in` runs out (falling back
//! to the password grant), forgotten on a 401. Neither ever reaches a log.

use std::time::{Duration, Instant};

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

pub(super) struct Tokens {
    credentials: Credentials,
    session: Mutex<Option<Session>>,
    /// Held while a new token is asked for: concurrent callers wait for it instead of each
    /// asking.
    pub(super) renewing: Mutex<()>,
}

impl Tokens {
    pub(super) fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            session: Mutex::new(None),
            renewing: Mutex::new(()),
        }
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
    pub(super) async fn next_grant(&self) -> Grant {
        let credentials = &self.credentials;
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
    pub(super) async fn keep(&self, answer: reqwest::Response) -> Result<SecretString, String> {
        let fresh: TokenAnswer = answer
            .json()
            .await
            .map_err(|_| "the provider's token answer is unreadable".to_owned())?;
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
}
