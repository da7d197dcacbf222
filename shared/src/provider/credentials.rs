//! A Factus account's credentials (`autenticacion/auth.md`: the password grant takes a client id
//! and secret, a username and a password) and the environment they belong to, as a secret holds
//! them: `{"environment", "client_id", "client_secret", "username", "password"}`, every field
//! required. The secrets never reach a log: `Debug` shows the username and the environment.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Which Factus an account lives in. Every secret names it: production credentials never go to
/// the sandbox by default, nor the other way round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// `api-sandbox.factus.com.co`: DIAN's habilitación, nothing issued is legal.
    Sandbox,
    /// `api.factus.com.co`: invoices issued in law.
    Production,
}

impl Environment {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sandbox" => Some(Self::Sandbox),
            "production" => Some(Self::Production),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }
}

/// The base URLs of the two environments (template parameters, both the local sandbox locally).
#[derive(Clone, Debug)]
pub struct BaseUrls {
    pub sandbox: String,
    pub production: String,
}

impl BaseUrls {
    pub fn new(sandbox: &str, production: &str) -> Self {
        Self {
            sandbox: sandbox.trim_end_matches('/').to_owned(),
            production: production.trim_end_matches('/').to_owned(),
        }
    }

    pub fn of(&self, environment: Environment) -> &str {
        match environment {
            Environment::Sandbox => &self.sandbox,
            Environment::Production => &self.production,
        }
    }
}

/// A token request's form fields.
pub type Grant = Vec<(&'static str, String)>;

#[derive(Clone, Deserialize)]
pub struct Credentials {
    pub environment: Environment,
    pub client_id: String,
    pub client_secret: SecretString,
    pub username: String,
    pub password: SecretString,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("environment", &self.environment)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The password grant's form fields.
    pub fn password_grant(&self) -> Grant {
        vec![
            ("client_id", self.client_id.clone()),
            ("client_secret", self.client_secret.expose_secret().to_owned()),
            ("grant_type", "password".to_owned()),
            ("username", self.username.clone()),
            ("password", self.password.expose_secret().to_owned()),
        ]
    }

    /// The secret's text: what [`Credentials`] reads back.
    pub fn secret_text(&self) -> String {
        serde_json::json!({
            "environment": self.environment,
            "client_id": self.client_id,
            "client_secret": self.client_secret.expose_secret(),
            "username": self.username,
            "password": self.password.expose_secret(),
        })
        .to_string()
    }

    /// The client id as it may be shown: its last four characters.
    pub fn masked_client_id(&self) -> String {
        let shown: String = {
            let chars: Vec<char> = self.client_id.chars().collect();
            if chars.len() > 8 {
                chars[chars.len() - 4..].iter().collect()
            } else {
                String::new()
            }
        };
        format!("****{shown}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_reads_back_what_it_was_written_from_and_debug_shows_no_secret() {
        let credentials: Credentials = serde_json::from_str(
            r#"{"environment": "production", "client_id": "9d8f7a6b-client", "client_secret": "shh",
                "username": "ana@example.com", "password": "hunter2"}"#,
        )
        .unwrap();
        let again: Credentials = serde_json::from_str(&credentials.secret_text()).unwrap();
        assert_eq!(again.environment, Environment::Production);
        assert_eq!(again.password.expose_secret(), "hunter2");
        assert_eq!(again.client_secret.expose_secret(), "shh");
        let shown = format!("{credentials:?}");
        assert!(
            !shown.contains("shh") && !shown.contains("hunter2") && !shown.contains("9d8f"),
            "{shown}"
        );
        assert_eq!(credentials.masked_client_id(), "****ient");
        // A secret that names no environment is taken for neither.
        let unnamed = serde_json::from_str::<Credentials>(
            r#"{"client_id": "c", "client_secret": "s", "username": "u", "password": "p"}"#,
        );
        assert!(unnamed.is_err());
    }
}
