//! Organizations' own Factus accounts: one secret each, named from the organization's id under
//! the stage's prefix (`PROVIDER_ACCOUNTS_PREFIX`), created or replaced in place, and deleted at
//! once (no recovery window: a deleted account is to be connected again at will). Only the
//! function behind `/v1/organization/provider` writes them (the template's policies say so).

use anyhow::Context;
use aws_sdk_secretsmanager::Client;

use super::credentials::Credentials;

/// The organization's secret is still being deleted (Secrets Manager finishes a deletion a
/// moment after it is asked): connecting again works shortly.
#[derive(Debug, thiserror::Error)]
#[error("the organization's previous provider secret is still being deleted")]
pub struct StillDeleting;

pub struct AccountSecrets {
    client: Client,
    prefix: String,
}

impl AccountSecrets {
    pub fn new(client: Client, prefix: &str) -> Self {
        Self {
            client,
            prefix: prefix.to_owned(),
        }
    }

    fn name(&self, org_id: &str) -> String {
        format!("{}{org_id}", self.prefix)
    }

    /// Keeps the organization's credentials: its secret replaced in place, or created.
    pub async fn write(&self, org_id: &str, credentials: &Credentials) -> anyhow::Result<()> {
        let name = self.name(org_id);
        let text = credentials.secret_text();
        let put = |text: String| {
            self.client
                .put_secret_value()
                .secret_id(&name)
                .secret_string(text)
                .send()
        };
        match put(text.clone()).await {
            Ok(_) => return Ok(()),
            // Marked for deletion, and not gone yet.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_invalid_request_exception()) =>
            {
                return Err(StillDeleting.into());
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(error) => {
                return Err(aws_sdk_secretsmanager::Error::from(error))
                    .context("replacing a provider account's secret");
            }
        }
        let created = self
            .client
            .create_secret()
            .name(&name)
            .description(format!("The Factus account of invoicer's organization {org_id}"))
            .secret_string(text.clone())
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_invalid_request_exception()) =>
            {
                Err(StillDeleting.into())
            }
            // Created meanwhile by a concurrent request: replace it.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_exists_exception()) =>
            {
                put(text)
                    .await
                    .map(|_| ())
                    .map_err(aws_sdk_secretsmanager::Error::from)
                    .context("replacing a provider account's secret")
            }
            Err(error) => Err(aws_sdk_secretsmanager::Error::from(error))
                .context("creating a provider account's secret"),
        }
    }

    /// The organization's credentials, if it connected an account.
    pub async fn read(&self, org_id: &str) -> anyhow::Result<Option<Credentials>> {
        let secret = match self
            .client
            .get_secret_value()
            .secret_id(self.name(org_id))
            .send()
            .await
        {
            Ok(secret) => secret,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(error) => {
                return Err(aws_sdk_secretsmanager::Error::from(error))
                    .context("reading a provider account's secret");
            }
        };
        let credentials = serde_json::from_str(secret.secret_string().unwrap_or_default())
            .map_err(|_| anyhow::anyhow!("a provider account's secret is not {{environment, client_id, client_secret, username, password}}"))?;
        Ok(Some(credentials))
    }

    /// Forgets the organization's credentials; nothing to forget is no error.
    pub async fn delete(&self, org_id: &str) -> anyhow::Result<()> {
        match self
            .client
            .delete_secret()
            .secret_id(self.name(org_id))
            .force_delete_without_recovery(true)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(aws_sdk_secretsmanager::Error::from(error))
                .context("deleting a provider account's secret"),
        }
    }
}
